// Property-based fuzzing (fast-check): random and hostile JSON — wrong types, huge numbers, deep
// nesting, duplicate keys, __proto__, NUL bytes, injection strings — thrown at every endpoint of
// the OpenAPI document, as each role and anonymously. Whatever arrives: never a 5xx, a string
// `detail` on every 4xx, and a refused request leaves the database exactly as it was.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/db/schema.js';
import { insertNotifications } from '../../src/modules/notifications/notifications.repository.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createSession, createUser, type TestUser } from '../helpers/factories.js';
import { createTag, createTask } from '../helpers/tasks.js';

interface Operation {
  method: string;
  path: string;
  /** Property names of the JSON body, when the route takes one. */
  bodyKeys: string[] | null;
  queryKeys: string[];
}

let t: TestApp;
let operations: Operation[] = [];
const users = new Map<Role, TestUser>();

beforeAll(async () => {
  t = await buildTestApp();
  for (const role of ['manager', 'developer', 'auditor'] as const) {
    users.set(role, await createUser(t.app, { role }));
  }
  const dev = users.get('developer')!;
  const tag = await createTag(t.db, 'fuzz');
  const parent = await createTask(t.db, { assignedTo: dev.id, createdBy: users.get('manager')!.id, tags: [tag] });
  await createTask(t.db, { assignedTo: dev.id, parentTaskId: parent });
  await insertNotifications(t.db, [{ userId: dev.id, taskId: parent, taskTitle: 'x', message: 'm', type: 'task_assigned' }], new Date().toISOString());

  const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: { properties?: object } }> }; parameters?: Array<{ in: string; name: string }> }>>;
  };
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([method]) => ['get', 'post', 'patch', 'put', 'delete'].includes(method))
      .map(([method, op]) => {
        const schema = op.requestBody?.content?.['application/json']?.schema;
        return {
          method: method.toUpperCase(),
          path,
          bodyKeys: op.requestBody ? Object.keys(schema?.properties ?? {}) : null,
          queryKeys: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        };
      }),
  );
});
afterAll(async () => {
  await t.close();
});

/** Every row a request could change, except bookkeeping no rule is about (audit rows, last_used). */
async function databaseState(): Promise<string> {
  const [usersRows, sessionsRows, tokens, tasks, tags, taskTags, history, notifications] = await Promise.all([
    t.db.selectFrom('users').selectAll().orderBy('id').execute(),
    t.db.selectFrom('user_sessions').select(['id', 'user_id', 'refresh_token_hash', 'device_id', 'expires_at', 'revoked_at']).orderBy('id').execute(),
    t.db.selectFrom('email_verification_tokens').selectAll().orderBy('id').execute(),
    t.db.selectFrom('tasks').selectAll().orderBy('id').execute(),
    t.db.selectFrom('tags').selectAll().orderBy('id').execute(),
    t.db.selectFrom('task_tags').selectAll().orderBy('task_id').orderBy('tag_id').execute(),
    t.db.selectFrom('task_history').selectAll().orderBy('id').execute(),
    t.db.selectFrom('notifications').selectAll().orderBy('id').execute(),
  ]);
  return JSON.stringify({ usersRows, sessionsRows, tokens, tasks, tags, taskTags, history, notifications });
}

const HOSTILE_STRINGS = [
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

const hostileString = fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));
const hostileNumber = fc.oneof(
  fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, -1e308, 0.1, 1e-320),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const leaf = fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null));
const hostileValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'prototype')), tie('value'), { maxKeys: 5 }),
})).value;

const nested = (depth: number, inner: string): string => (depth === 0 ? inner : `{"a":${nested(depth - 1, inner)}}`);

/** A JSON body text for a route with these body keys. */
const bodyText = (keys: string[]) =>
  fc.oneof(
    // The route's own fields with hostile values.
    fc.dictionary(keys.length > 0 ? fc.constantFrom(...keys) : hostileString, hostileValue, { maxKeys: 8 }).map((o) => JSON.stringify(o)),
    // Anything at all.
    hostileValue.map((v) => JSON.stringify(v) ?? 'null'),
    // Duplicate keys, the later one of another type.
    fc.tuple(fc.constantFrom(...(keys.length > 0 ? keys : ['x'])), leaf, leaf).map(([k, a, b]) => `{"${k}":${JSON.stringify(a)},"${k}":${JSON.stringify(b)}}`),
    // Prototype pollution attempts.
    fc.constantFrom('{"__proto__":{"role":"manager","is_active":true}}', '{"constructor":{"prototype":{"isAdmin":true}}}'),
    // Deep nesting and broken JSON.
    fc.integer({ min: 50, max: 2000 }).map((d) => nested(d, '1')),
    fc.constantFrom('{', '{"a":}', '[1,2', '\u0000', 'null', '"', '{"title":"\\u0000"}', '{"a":1}garbage'),
  );

const pathId = fc.oneof(fc.constantFrom('1', '2', '3', '999999', '0', '-1', '1.5', '0x1', '1e2', '%20', 'abc', '99999999999999'), fc.integer({ min: 1, max: 10 }).map(String));

const queryString = (keys: string[]) =>
  keys.length === 0
    ? fc.constant('')
    : fc
        .dictionary(fc.constantFrom(...keys), fc.oneof(hostileString, hostileNumber.map(String), fc.constantFrom('true', 'false', 'null', '')), { maxKeys: 4 })
        .map((q) => new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)])).toString());

const caller = fc.constantFrom<Role | 'anonymous'>('manager', 'developer', 'auditor', 'anonymous');

describe('fuzzing every endpoint', () => {
  it('reads enough operations from the OpenAPI document', () => {
    expect(operations.length).toBeGreaterThan(25);
  });

  it('never answers a 5xx, always a string detail on a 4xx, and changes nothing when it refuses', async () => {
    const request = fc
      .constantFrom(...operations)
      .chain((op) => fc.record({ op: fc.constant(op), who: caller, id: pathId, body: op.bodyKeys ? bodyText(op.bodyKeys) : fc.constant(undefined), query: queryString(op.queryKeys) }));

    await fc.assert(
      fc.asyncProperty(request, async ({ op, who, id, body, query }) => {
        // Earlier runs may have deactivated, demoted or logged out the callers: start each from them intact.
        for (const [role, user] of users) {
          await t.db.updateTable('users').set({ role, is_active: true, email_verified: true }).where('id', '=', user.id).execute();
        }
        const session = who === 'anonymous' ? null : await createSession(t.app, users.get(who)!);
        const url = `${op.path.replace(/\{[^}]+\}/g, id)}${query ? `?${query}` : ''}`;
        const before = await databaseState();
        const res = await t.app.inject({
          method: op.method as 'GET',
          url,
          headers: { ...(session?.headers ?? {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { payload: body } : {}),
        });
        const label = `${op.method} ${url} as ${who} with ${body?.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 200)}`;
        expect(res.statusCode, label).toBeLessThan(500);
        if (res.statusCode >= 400) {
          expect(typeof (res.json() as { detail?: unknown }).detail, label).toBe('string');
          expect(await databaseState(), `a refused request changed the database: ${label}`).toBe(before);
        }
      }),
      { numRuns: 400, endOnFailure: true },
    );
  }, 240_000);
});
