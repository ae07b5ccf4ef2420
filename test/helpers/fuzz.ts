// Shared pieces of the property-based fuzzing (fast-check): the app, callers and operations a fuzz
// file runs against (useFuzzTargets), the API's operations read from the OpenAPI document, hostile
// strings and numbers, the database state a refused request must leave untouched, and the check
// every answer must pass (never a 5xx, a string `detail` on a 4xx).
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Database } from '../../src/db/database.js';
import type { Role } from '../../src/db/schema.js';
import { insertNotifications } from '../../src/modules/notifications/notifications.repository.js';
import { buildTestApp, type TestApp } from './app.js';
import { createSession, createUser, type TestSession, type TestUser } from './factories.js';
import { createTag, createTask } from './tasks.js';

export interface Operation {
  method: string;
  path: string;
  /** Property names of the JSON body, when the route takes one. */
  bodyKeys: string[] | null;
  queryKeys: string[];
  /** Whether the path has a parameter ({id} …). */
  hasParams: boolean;
}

interface OpenApiOperation {
  requestBody?: { content?: Record<string, { schema?: { properties?: object } }> };
  parameters?: Array<{ in: string; name: string }>;
}

/** Every operation of the app's OpenAPI document. */
export async function openApiOperations(app: FastifyInstance): Promise<Operation[]> {
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, OpenApiOperation>> };
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([method]) => ['get', 'post', 'patch', 'put', 'delete'].includes(method))
      .map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        bodyKeys: op.requestBody ? Object.keys(op.requestBody.content?.['application/json']?.schema?.properties ?? {}) : null,
        queryKeys: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        hasParams: /\{[^}]+\}/.test(path),
      })),
  );
}

/** Every row a request could change, except bookkeeping no rule is about (audit rows, last_used). */
export async function databaseState(db: Database): Promise<string> {
  const [users, sessions, tokens, tasks, tags, taskTags, history, notifications] = await Promise.all([
    db.selectFrom('users').selectAll().orderBy('id').execute(),
    db.selectFrom('user_sessions').select(['id', 'user_id', 'refresh_token_hash', 'device_id', 'expires_at', 'revoked_at']).orderBy('id').execute(),
    db.selectFrom('email_verification_tokens').selectAll().orderBy('id').execute(),
    db.selectFrom('tasks').selectAll().orderBy('id').execute(),
    db.selectFrom('tags').selectAll().orderBy('id').execute(),
    db.selectFrom('task_tags').selectAll().orderBy('task_id').orderBy('tag_id').execute(),
    db.selectFrom('task_history').selectAll().orderBy('id').execute(),
    db.selectFrom('notifications').selectAll().orderBy('id').execute(),
  ]);
  return JSON.stringify({ users, sessions, tokens, tasks, tags, taskTags, history, notifications });
}

export const HOSTILE_STRINGS = [
  "'; DROP TABLE tasks; --",
  '" OR 1=1 --',
  '\u0000',
  'a\u0000b',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  '%s%n%x',
  '${jndi:ldap://127.0.0.1/a}',
  '{{7*7}}',
  '\ud800',
  '\u202e\u0301',
  '1e309',
  '-0',
  'NaN',
  '__proto__',
  'x'.repeat(70_000),
];

export const hostileString = fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));
export const hostileNumber = fc.oneof(
  fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, -1e308, 0.1, 1e-320),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** The rule every answer keeps: below 500, and a 4xx carries a string `detail`. */
export function checkAnswer(res: { statusCode: number; body: string }, label: string): string | null {
  if (res.statusCode >= 500) return `5xx: ${label}`;
  if (res.statusCode >= 400) {
    let detail: unknown;
    try {
      detail = (JSON.parse(res.body) as { detail?: unknown }).detail;
    } catch {
      return `a ${res.statusCode} without a JSON body: ${label}`;
    }
    if (typeof detail !== 'string') return `a ${res.statusCode} without a string detail: ${label}`;
  }
  return null;
}

/** Puts the fuzzing callers back as they were made (an earlier run may have demoted or deactivated them). */
export async function restoreCallers(db: Database, users: ReadonlyMap<Role, { id: number }>): Promise<void> {
  for (const [role, user] of users) {
    await db.updateTable('users').set({ role, is_active: true, email_verified: true }).where('id', '=', user.id).execute();
  }
}

/** What the fuzzing runs against: one user per role, a tagged task with a subtask, a notification. */
export async function seedFuzzTargets(app: FastifyInstance): Promise<Map<Role, TestUser>> {
  const users = new Map<Role, TestUser>();
  for (const role of ['manager', 'developer', 'auditor'] as const) users.set(role, await createUser(app, { role }));
  const dev = users.get('developer') as TestUser;
  const tag = await createTag(app.db, 'fuzz');
  const parent = await createTask(app.db, { assignedTo: dev.id, createdBy: (users.get('manager') as TestUser).id, tags: [tag] });
  await createTask(app.db, { assignedTo: dev.id, parentTaskId: parent });
  await insertNotifications(app.db, [{ userId: dev.id, taskId: parent, taskTitle: 'x', message: 'm', type: 'task_assigned' }], new Date().toISOString());
  return users;
}

export type FuzzCaller = Role | 'anonymous';
/** Who sends a fuzzed request: each role, or nobody signed in. */
export const fuzzCaller = fc.constantFrom<FuzzCaller>('manager', 'developer', 'auditor', 'anonymous');

export interface FuzzTargets {
  /** The app, on its own database (valid from beforeAll on). */
  readonly t: TestApp;
  /** Every operation of its OpenAPI document. */
  readonly operations: readonly Operation[];
  /** A session of the caller (null for anonymous), every caller first restored as made. */
  sessionFor(who: FuzzCaller): Promise<TestSession | null>;
  /** Sends one request; fails on a 5xx, a 4xx without a string detail, or a refused request that changed the database. */
  expectSafe(request: InjectOptions, label: string): Promise<void>;
}

/** Builds the app with seedFuzzTargets' rows before the file's tests, and closes it after them. */
export function useFuzzTargets(): FuzzTargets {
  let app: TestApp | undefined;
  let operations: Operation[] = [];
  let users = new Map<Role, TestUser>();
  beforeAll(async () => {
    app = await buildTestApp();
    users = await seedFuzzTargets(app.app);
    operations = await openApiOperations(app.app);
  });
  afterAll(async () => {
    await app?.close();
  });
  const built = (): TestApp => {
    if (!app) throw new Error('useFuzzTargets: the app is built in beforeAll');
    return app;
  };

  return {
    get t() {
      return built();
    },
    get operations() {
      return operations;
    },
    async sessionFor(who) {
      // Earlier runs may have deactivated, demoted or logged out the callers: start each from them intact.
      await restoreCallers(built().db, users);
      return who === 'anonymous' ? null : createSession(built().app, users.get(who)!);
    },
    async expectSafe(request, label) {
      const { app: fastify, db } = built();
      const before = await databaseState(db);
      const res = await fastify.inject(request);
      const text = `${label} → ${res.statusCode} ${res.body.slice(0, 200)}`;
      expect(checkAnswer(res, text)).toBeNull();
      if (res.statusCode >= 400) expect(await databaseState(db), `a refused request changed the database: ${text}`).toBe(before);
    },
  };
}
