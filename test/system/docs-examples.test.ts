// Every request body in the OpenAPI document has an example that works as documented: on a
// database holding `ctms seed-demo`'s data, each example is sent as /docs' "Try it out" sends it
// (path ids from the parameters' examples, the body's content type) by a user whose role may call
// the route, and succeeds. Operations are read from the document, so a new route whose body has no
// example, or an example that fails, fails here.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/lib/hash.js';
import { insertPasswordResetToken } from '../../src/modules/auth/password-reset.repository.js';
import { DEMO_USERS, seedDemo } from '../../src/modules/tasks/seed-demo.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createSession, createUser } from '../helpers/factories.js';

interface Media {
  example?: unknown;
  examples?: Record<string, { value: unknown }>;
}
interface Operation {
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ in: string; name: string; example?: unknown }>;
  requestBody?: { content: Record<string, Media> };
}
interface Documented {
  label: string;
  method: string;
  path: string;
  operation: Operation;
}

/**
 * Single-use secrets cannot be written into a document: the example shows their shape, and the
 * test puts a fresh one of the same kind in its place, as a reader pastes the one from their e-mail.
 */
const FRESH_SECRETS: Record<string, (t: TestApp) => Promise<Record<string, string>>> = {
  'POST /api/auth/verify-email': async (t) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { username: 'verifies_an_email', email: 'verifies.an.email@example.com', password: 'Str0ng-passw0rd!' },
    });
    return { token: res.json().verification_token as string };
  },
  'POST /api/auth/password-reset/confirm': async (t) => {
    const user = await createUser(t.app);
    const token = randomBytes(32).toString('base64url');
    const now = t.app.clock.now();
    await insertPasswordResetToken(t.db, {
      userId: user.id,
      tokenHash: sha256(token),
      now: now.toISOString(),
      expiresAt: new Date(now.getTime() + 3_600_000).toISOString(),
    });
    return { token };
  },
};

function documentedBodies(doc: { paths: Record<string, Record<string, Operation>> }): Documented[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([, operation]) => operation.requestBody !== undefined)
      .map(([method, operation]) => ({ label: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, operation })),
  );
}

function examplesOf(media: Media): unknown[] {
  if (media.examples) return Object.values(media.examples).map((entry) => entry.value);
  return media.example === undefined ? [] : [media.example];
}

function encode(contentType: string, body: unknown): string {
  if (contentType === 'application/x-www-form-urlencoded') {
    return new URLSearchParams(Object.entries(body as Record<string, unknown>).map(([k, v]): [string, string] => [k, String(v)])).toString();
  }
  return JSON.stringify(body);
}

describe('the documented request examples', () => {
  let t: TestApp;
  let bodies: Documented[] = [];
  let managerId = 0;

  beforeAll(async () => {
    t = await buildTestApp();
    const seeded = await seedDemo(t.db, t.config, t.app.clock);
    expect(seeded.created).toBe(true);
    const manager = DEMO_USERS.find((user) => user.role === 'manager');
    const row = await t.db.selectFrom('users').select('id').where('username', '=', manager?.username ?? '').executeTakeFirstOrThrow();
    managerId = row.id;
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    bodies = documentedBodies(doc);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('finds every operation that takes a body', () => {
    const labels = bodies.map((b) => b.label);
    // A floor, not the list: routes added later are checked as well.
    expect(labels).toEqual(
      expect.arrayContaining([
        'POST /api/auth/register',
        'POST /api/auth/login',
        'POST /api/auth/token',
        'PATCH /api/auth/users/{id}',
        'POST /api/tasks',
        'PATCH /api/tasks/{id}',
        'POST /api/tasks/bulk-update',
        'POST /api/tags',
      ]),
    );
  });

  it('succeeds for each example, sent as shown by a demo manager (or anonymously on public routes)', async () => {
    const failures: string[] = [];
    for (const { label, method, path, operation } of bodies) {
      const [contentType, media] = Object.entries(operation.requestBody?.content ?? {})[0] ?? [];
      const examples = media ? examplesOf(media) : [];
      if (!contentType || examples.length === 0) {
        failures.push(`${label}: the request body has no example`);
        continue;
      }
      let url = path;
      for (const parameter of (operation.parameters ?? []).filter((p) => p.in === 'path')) {
        if (parameter.example === undefined) failures.push(`${label}: path parameter ${parameter.name} has no example`);
        url = url.replace(`{${parameter.name}}`, String(parameter.example));
      }
      for (const example of examples) {
        const fresh = (await FRESH_SECRETS[label]?.(t)) ?? {};
        const body = { ...(example as Record<string, unknown>), ...fresh };
        // A new session per request: the login examples may evict older ones (the session cap).
        const secured = (operation.security ?? []).length > 0;
        const headers: Record<string, string> = { 'content-type': contentType };
        if (secured) Object.assign(headers, (await createSession(t.app, { id: managerId })).headers);
        const res = await t.app.inject({ method: method as 'POST', url, headers, payload: encode(contentType, body) });
        if (res.statusCode < 200 || res.statusCode > 299) failures.push(`${label} ${JSON.stringify(example)} → ${res.statusCode} ${res.body}`);
      }
    }
    expect(failures).toEqual([]);

    // The examples did what they say.
    const task = await t.db.selectFrom('tasks').select(['assigned_to', 'priority']).where('title', '=', 'Write the release notes').executeTakeFirst();
    expect(task).toMatchObject({ priority: 'high' });
    const developer = await t.db.selectFrom('users').select(['id', 'role']).where('username', '=', 'new_developer').executeTakeFirst();
    expect(developer).toMatchObject({ role: 'developer' });
    const tag = await t.db.selectFrom('tags').select('name').where('name', '=', 'release').executeTakeFirst();
    expect(tag).toEqual({ name: 'release' });
    const first = await t.db.selectFrom('tasks').select(['status', 'actual_hours']).where('id', '=', 1).executeTakeFirstOrThrow();
    expect(first.status).toBe('completed');
    expect(Number(first.actual_hours)).toBe(5.5);
  });
});
