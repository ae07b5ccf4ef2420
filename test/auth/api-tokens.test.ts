// Personal API tokens (§12): shown once and stored hashed, `read` refused on every write route
// (read from the OpenAPI document), expiry, revocation on every instance at once, no account
// management with a token, audit rows naming the token, account recovery ending every token.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { sha256 } from '../../src/lib/hash.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { authSnapshot } from '../helpers/auth.js';
import { buildSecondInstance } from '../helpers/sockets.js';
import { countRows, createTask, signIn } from '../helpers/tasks.js';

type Session = Awaited<ReturnType<typeof signIn>>;

interface OpenApiDocument {
  paths: Record<string, Record<string, { security?: unknown[] }>>;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('personal API tokens', () => {
  let t: TestApp;
  let app: FastifyInstance;
  let manager: Session;
  let developer: Session;
  // Inside working hours for a UTC user (Wednesday, 10:00).
  const clock = fixedClock('2026-11-25T10:00:00Z');

  beforeAll(async () => {
    t = await buildTestApp({ rateLimitEnabled: false }, { clock });
    app = t.app;
    manager = await signIn(app, { role: 'manager' });
    developer = await signIn(app, { role: 'developer' });
  });
  afterAll(async () => t.close());

  async function createToken(session: Session, body: Record<string, unknown>) {
    const res = await app.inject({ method: 'POST', url: '/api/auth/tokens', headers: session.headers, payload: body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: number; token: string; name: string; scope: string; expires_at: string | null; last_used_at: string | null }>();
  }

  it('shows a new token once and stores only its hash', async () => {
    const created = await createToken(manager, { name: '  nightly report  ', scope: 'read' });
    expect(created).toMatchObject({ name: 'nightly report', scope: 'read', expires_at: null, last_used_at: null });
    expect(created.token).toMatch(/^ctms_[A-Za-z0-9_-]{43}$/);

    const row = await t.db.selectFrom('api_tokens').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(sha256(created.token));
    expect(JSON.stringify(row)).not.toContain(created.token);

    const list = await app.inject({ method: 'GET', url: '/api/auth/tokens', headers: manager.headers });
    expect(list.statusCode).toBe(200);
    const listed = list.json<Array<Record<string, unknown>>>().find((token) => token.id === created.id);
    expect(listed).toMatchObject({ name: 'nightly report', scope: 'read' });
    expect(listed).not.toHaveProperty('token');
    expect(list.body).not.toContain(created.token);
  });

  it('authenticates as its user with the user role, and records when it was last used', async () => {
    const { token, id } = await createToken(manager, { name: 'ci', scope: 'write' });
    const me = await app.inject({ method: 'GET', url: '/api/auth/users/me', headers: bearer(token) });
    expect(me.statusCode).toBe(200);
    expect(me.json().username).toBe(manager.user.username);

    const created = await app.inject({ method: 'POST', url: '/api/tasks', headers: bearer(token), payload: {
      title: 'made by a script',
      estimated_hours: 2,
      deadline: '2026-12-31T17:00:00Z',
      assigned_to: developer.user.id,
    } });
    expect(created.statusCode, created.body).toBe(201);
    const row = await t.db.selectFrom('api_tokens').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.last_used_at).toBe(clock.now().toISOString());

    const devToken = await createToken(developer, { name: 'dev script', scope: 'write' });
    const users = await app.inject({ method: 'GET', url: '/api/audit-logs', headers: bearer(devToken.token) });
    expect(users.statusCode).toBe(403);
  });

  it('refuses a read token on every write route of the OpenAPI document, changing nothing', async () => {
    const { token } = await createToken(manager, { name: 'read only', scope: 'read' });
    const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApiDocument>();
    const writes: string[] = [];
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (!['post', 'put', 'patch', 'delete'].includes(method) || !operation.security?.length) continue;
        writes.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(writes).toContain('PATCH /api/tasks/{id}');
    expect(writes).toContain('POST /api/auth/tokens');

    const tasksBefore = await countRows(t.db, 'tasks');
    for (const write of writes) {
      const [method, path] = write.split(' ') as [string, string];
      const res = await app.inject({
        method: method as 'POST',
        url: path.replace(/\{[^}]+\}/g, '1'),
        headers: bearer(token),
        payload: {},
      });
      expect(res.statusCode, `${write}: ${res.body}`).toBe(403);
      expect(res.json().detail, write).toBe('This API token is read-only');
    }
    expect(await countRows(t.db, 'tasks')).toBe(tasksBefore);

    const read = await app.inject({ method: 'GET', url: '/api/tasks?limit=5', headers: bearer(token) });
    expect(read.statusCode).toBe(200);
  });

  it('takes effect on the next request on every instance when revoked', async () => {
    const { token, id } = await createToken(developer, { name: 'to revoke', scope: 'write' });
    const second = await buildSecondInstance(t, {}, { clock });
    try {
      expect((await second.inject({ method: 'GET', url: '/api/tasks?limit=1', headers: bearer(token) })).statusCode).toBe(200);
      const revoked = await app.inject({ method: 'DELETE', url: `/api/auth/tokens/${id}`, headers: developer.headers });
      expect(revoked.statusCode).toBe(204);
      for (const instance of [app, second]) {
        const res = await instance.inject({ method: 'GET', url: '/api/tasks?limit=1', headers: bearer(token) });
        expect(res.statusCode).toBe(401);
        expect(res.json().detail).toBe('API token has been revoked');
      }
      const list = await app.inject({ method: 'GET', url: '/api/auth/tokens', headers: developer.headers });
      expect(list.json<Array<{ id: number }>>().map((token) => token.id)).not.toContain(id);
      const again = await app.inject({ method: 'DELETE', url: `/api/auth/tokens/${id}`, headers: developer.headers });
      expect(again.statusCode).toBe(404);
    } finally {
      await second.close();
    }
  });

  it("cannot revoke another user's token", async () => {
    const { token, id } = await createToken(manager, { name: 'mine', scope: 'read' });
    const res = await app.inject({ method: 'DELETE', url: `/api/auth/tokens/${id}`, headers: developer.headers });
    expect(res.statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/api/auth/users/me', headers: bearer(token) })).statusCode).toBe(200);
  });

  it('expires at its expires_at', async () => {
    const expiresAt = new Date(clock.now().getTime() + 3600_000).toISOString();
    const { token } = await createToken(developer, { name: 'an hour', scope: 'read', expires_at: expiresAt });
    expect((await app.inject({ method: 'GET', url: '/api/auth/users/me', headers: bearer(token) })).statusCode).toBe(200);
    const start = clock.now();
    clock.set(new Date(start.getTime() + 3600_000));
    try {
      const res = await app.inject({ method: 'GET', url: '/api/auth/users/me', headers: bearer(token) });
      expect(res.statusCode).toBe(401);
      expect(res.json().detail).toBe('API token has expired');
    } finally {
      clock.set(start);
    }
  });

  it('refuses unknown, forged and malformed tokens with 401', async () => {
    const { token } = await createToken(developer, { name: 'real', scope: 'write' });
    const forged = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const candidate of [forged, 'ctms_', 'ctms_short', `ctms_${'x'.repeat(2000)}`]) {
      const res = await app.inject({ method: 'GET', url: '/api/auth/users/me', headers: bearer(candidate) });
      expect(res.statusCode, candidate.slice(0, 20)).toBe(401);
      expect(res.json().detail).toBe('Could not validate credentials');
    }
  });

  it('cannot manage the account: tokens, sessions, logout, profile', async () => {
    const { token } = await createToken(developer, { name: 'script', scope: 'write' });
    const tokensBefore = await t.db.selectFrom('api_tokens').select('id').execute();
    const attempts = [
      { method: 'GET', url: '/api/auth/tokens' },
      { method: 'POST', url: '/api/auth/tokens', payload: { name: 'more', scope: 'write' } },
      { method: 'DELETE', url: `/api/auth/tokens/${tokensBefore[0]?.id ?? 1}` },
      { method: 'GET', url: '/api/auth/sessions' },
      { method: 'POST', url: '/api/auth/logout' },
      { method: 'POST', url: '/api/auth/logout-all' },
      { method: 'PATCH', url: '/api/auth/users/me', payload: { email: 'taken-over@example.com' } },
    ] as const;
    for (const attempt of attempts) {
      const res = await app.inject({ ...attempt, headers: bearer(token) });
      expect(res.statusCode, `${attempt.method} ${attempt.url}: ${res.body}`).toBe(403);
      expect(res.json().detail).toBe('This action needs a signed-in session, not an API token');
    }
    expect(await t.db.selectFrom('api_tokens').select('id').execute()).toEqual(tokensBefore);
    const user = await t.db.selectFrom('users').select('email').where('id', '=', developer.user.id).executeTakeFirstOrThrow();
    expect(user.email).toBe(developer.user.email);
    const pending = await t.db.selectFrom('email_verification_tokens').select('id').where('user_id', '=', developer.user.id).execute();
    expect(pending).toEqual([]);
    const session = await t.db.selectFrom('user_sessions').select('revoked_at').where('id', '=', developer.sessionId).executeTakeFirstOrThrow();
    expect(session.revoked_at).toBeNull();
  });

  it('refuses a token on every account route of the OpenAPI document before it acts, changing nothing', async () => {
    // Every authenticated /api/auth operation manages the caller's account, except these: finding out
    // who the token acts as, and a manager's administration of other users.
    const usableWithToken = new Set([
      'GET /api/auth/users/me',
      'GET /api/auth/users',
      'GET /api/auth/users/{id}',
      'PATCH /api/auth/users/{id}',
      'POST /api/auth/invitations',
    ]);
    const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApiDocument>();
    const accountRoutes: string[] = [];
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const route = `${method.toUpperCase()} ${path}`;
        if (path.startsWith('/api/auth/') && operation.security?.length && !usableWithToken.has(route)) accountRoutes.push(route);
      }
    }
    expect(accountRoutes).toEqual(expect.arrayContaining(['POST /api/auth/logout', 'DELETE /api/auth/sessions/{id}', 'PATCH /api/auth/users/me']));
    expect(accountRoutes).toHaveLength(8);

    const owner = await signIn(app, { role: 'manager' });
    const { token, id } = await createToken(owner, { name: 'leaked', scope: 'write' });
    // Its first use records last_used_at; later ones at this clock write nothing.
    expect((await app.inject({ method: 'GET', url: '/api/auth/users/me', headers: bearer(token) })).statusCode).toBe(200);
    // Real ids and bodies, so that a route without the guard would act.
    const ids: Record<string, number> = { '/api/auth/sessions/{id}': owner.sessionId, '/api/auth/tokens/{id}': id };
    const bodies: Record<string, object> = {
      'POST /api/auth/tokens': { name: 'more', scope: 'write' },
      'PATCH /api/auth/users/me': { email: 'taken-over@example.com', timezone: 'Asia/Tokyo' },
    };
    const before = { ...(await authSnapshot(t.db)), apiTokens: await t.db.selectFrom('api_tokens').selectAll().orderBy('id').execute() };
    for (const route of accountRoutes) {
      const [method, path] = route.split(' ') as [string, string];
      const res = await app.inject({
        method: method as 'POST',
        url: path.replace('{id}', String(ids[path] ?? 1)),
        headers: bearer(token),
        payload: bodies[route] ?? {},
      });
      expect(res.statusCode, `${route}: ${res.body}`).toBe(403);
      expect(res.json().detail, route).toBe('This action needs a signed-in session, not an API token');
    }
    const after = { ...(await authSnapshot(t.db)), apiTokens: await t.db.selectFrom('api_tokens').selectAll().orderBy('id').execute() };
    expect(after).toEqual(before);
    expect((await app.inject({ method: 'GET', url: '/api/auth/sessions', headers: owner.headers })).statusCode).toBe(200);

    for (const route of usableWithToken) {
      const [method, path] = route.split(' ') as [string, string];
      const res = await app.inject({ method: method as 'GET', url: path.replace('{id}', String(owner.user.id)), headers: bearer(token), payload: {} });
      expect(res.json().detail ?? '', route).not.toBe('This action needs a signed-in session, not an API token');
    }
  });

  it('names the token in the audit trail', async () => {
    const { token, id } = await createToken(manager, { name: 'audited', scope: 'read' });
    const taskId = await createTask(t.db, { title: 'audited read', createdBy: manager.user.id, assignedTo: developer.user.id });
    expect((await app.inject({ method: 'GET', url: `/api/tasks/${taskId}`, headers: bearer(token) })).statusCode).toBe(200);
    await app.audit.flush();
    const rows = await app.inject({ method: 'GET', url: `/api/audit-logs?endpoint=/api/tasks/${taskId}`, headers: manager.headers });
    expect(rows.statusCode).toBe(200);
    const [row] = rows.json<Array<{ api_token_id: number | null; user_id: number }>>();
    expect(row).toMatchObject({ api_token_id: id, user_id: manager.user.id });
    const sessionRow = await t.db
      .selectFrom('api_audit_logs')
      .select('api_token_id')
      .where('endpoint', '=', '/api/auth/tokens')
      .where('method', '=', 'POST')
      .executeTakeFirstOrThrow();
    expect(sessionRow.api_token_id).toBeNull();
  });

  it('stops working for an inactive user', async () => {
    const owner = await signIn(app, { role: 'developer' });
    const { token } = await createToken(owner, { name: 'soon inactive', scope: 'read' });
    await t.db.updateTable('users').set({ is_active: false }).where('id', '=', owner.user.id).execute();
    const res = await app.inject({ method: 'GET', url: '/api/auth/users/me', headers: bearer(token) });
    expect(res.statusCode).toBe(403);
    expect(res.json().detail).toBe('Inactive user');
  });

  it('is revoked, with every other token of the user, by a password reset', async () => {
    const owner = await signIn(app, { role: 'developer' });
    const first = await createToken(owner, { name: 'one', scope: 'read' });
    const second = await createToken(owner, { name: 'two', scope: 'write' });
    const resetToken = 'reset-token-for-api-token-test-0000000000000';
    const now = clock.now();
    await t.db
      .insertInto('password_reset_tokens')
      .values({
        user_id: owner.user.id,
        token_hash: sha256(resetToken),
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + 3600_000).toISOString(),
      })
      .execute();
    const reset = await app.inject({
      method: 'POST',
      url: '/api/auth/password-reset/confirm',
      payload: { token: resetToken, new_password: 'An0ther-Passw0rd!' },
    });
    expect(reset.statusCode, reset.body).toBe(200);
    for (const { token } of [first, second]) {
      const res = await app.inject({ method: 'GET', url: '/api/auth/users/me', headers: bearer(token) });
      expect(res.statusCode).toBe(401);
      expect(res.json().detail).toBe('API token has been revoked');
    }
  });

  it('answers bad input with a 4xx and a string detail, storing nothing', async () => {
    const before = (await t.db.selectFrom('api_tokens').select('id').execute()).length;
    const bodies = [
      {},
      { name: '   ', scope: 'read' },
      { name: 'x'.repeat(101), scope: 'read' },
      { name: 'ok', scope: 'admin' },
      { name: 'ok', scope: 'read', expires_at: 'tomorrow' },
      { name: 'ok', scope: 'read', expires_at: '2020-01-01T00:00:00Z' },
      { name: 42, scope: 'read' },
      [],
      'text',
    ];
    for (const payload of bodies) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/auth/tokens',
        headers: { ...manager.headers, 'content-type': 'application/json' },
        payload: JSON.stringify(payload),
      });
      expect(res.statusCode, JSON.stringify(payload)).toBe(422);
      expect(typeof res.json().detail).toBe('string');
    }
    for (const id of ['abc', '0', '99999999999', '-1']) {
      const res = await app.inject({ method: 'DELETE', url: `/api/auth/tokens/${id}`, headers: manager.headers });
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(typeof res.json().detail).toBe('string');
    }
    const anonymous = await app.inject({ method: 'POST', url: '/api/auth/tokens', payload: { name: 'x', scope: 'read' } });
    expect(anonymous.statusCode).toBe(401);
    expect((await t.db.selectFrom('api_tokens').select('id').execute()).length).toBe(before);
  });

  it('keeps at most 50 live tokens per user', async () => {
    const owner = await signIn(app, { role: 'auditor' });
    for (let i = 0; i < 50; i += 1) await createToken(owner, { name: `token ${i}`, scope: 'read' });
    const res = await app.inject({ method: 'POST', url: '/api/auth/tokens', headers: owner.headers, payload: { name: 'one too many', scope: 'read' } });
    expect(res.statusCode).toBe(409);
    expect(res.json().detail).toMatch(/at most 50/);
  });
});
