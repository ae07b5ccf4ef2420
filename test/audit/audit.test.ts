// The audit trail (§8): every /api request recorded off the request path, secrets redacted at any
// depth, the audit-log endpoint's roles and filters, a failing store that fails no request, a
// bounded queue, and a flush on close.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { AuditQueue } from '../../src/modules/audit/audit-queue.js';
import { redact, redactedJson, REDACTED } from '../../src/modules/audit/redact.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, testDatabaseUrl } from '../helpers/database.js';
import { DEFAULT_PASSWORD } from '../helpers/factories.js';
import { signIn } from '../helpers/tasks.js';

type Session = Awaited<ReturnType<typeof signIn>>;

const allRows = (t: TestApp) => t.db.selectFrom('api_audit_logs').selectAll().orderBy('id').execute();

describe('redaction', () => {
  it('replaces every secret-named key at any depth, in objects and arrays', () => {
    const input = {
      username: 'ann',
      password: 'hunter2',
      profile: { current_password: 'a', new_password: 'b', nested: [{ refresh_token: 'r', keep: 1 }, { Authorization: 'Bearer x' }] },
      access: 'jwt',
      api_secret: 's',
      cookies: 'sid=1',
      list: [['deep', { accessKey: 'k' }]],
    };
    expect(redact(input)).toEqual({
      username: 'ann',
      password: REDACTED,
      profile: { current_password: REDACTED, new_password: REDACTED, nested: [{ refresh_token: REDACTED, keep: 1 }, { Authorization: REDACTED }] },
      access: REDACTED,
      api_secret: REDACTED,
      cookies: REDACTED,
      list: [['deep', { accessKey: REDACTED }]],
    });
  });

  it('cuts what is too deep or too long instead of storing it whole', () => {
    let deep: unknown = { password: 'p' };
    for (let i = 0; i < 50; i += 1) deep = { next: deep };
    const stored = redactedJson(deep) ?? '';
    expect(stored).toContain('[TRUNCATED]');
    expect(stored).not.toContain('"p"');
    expect(JSON.parse(redactedJson({ text: 'x'.repeat(100_000) }) ?? 'null')).toMatch(/^\[TRUNCATED: \d+ characters\]$/);
  });
});

describe('audit trail', () => {
  let t: TestApp;
  let manager: Session;
  let auditor: Session;
  let dev: Session;
  const clock = fixedClock('2026-11-25T10:00:00Z');

  beforeAll(async () => {
    t = await buildTestApp({}, { clock });
    manager = await signIn(t.app, { role: 'manager' });
    auditor = await signIn(t.app, { role: 'auditor' });
    dev = await signIn(t.app, { role: 'developer' });
  });
  afterAll(async () => {
    await t.close();
  });

  const lastRow = async () => {
    await t.app.audit.flush();
    const rows = await allRows(t);
    return rows[rows.length - 1]!;
  };

  it('records who did what, the outcome, the client and the duration', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/tasks?status=pending', headers: { ...manager.headers, 'user-agent': 'audit-test/1.0' } });
    expect(res.statusCode).toBe(200);
    expect(await lastRow()).toMatchObject({
      user_id: manager.user.id,
      endpoint: '/api/tasks',
      method: 'GET',
      status_code: 200,
      request_body: null,
      response_body: null,
      ip: '127.0.0.1',
      user_agent: 'audit-test/1.0',
      timestamp: '2026-11-25T10:00:00.000Z',
    });
    expect(Number((await lastRow()).duration_ms)).toBeGreaterThanOrEqual(0);
  });

  it('redacts passwords in bodies and keeps the error body of a failure', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: dev.user.username, password: 'wrong-password-123' } });
    expect(res.statusCode).toBe(400);
    const row = await lastRow();
    expect(row.user_id).toBeNull();
    expect(JSON.parse(row.request_body ?? 'null')).toEqual({ username: dev.user.username, password: REDACTED });
    expect(JSON.parse(row.response_body ?? 'null')).toEqual({ detail: 'Incorrect username or password' });
    expect(JSON.stringify(row)).not.toContain('wrong-password-123');
  });

  it('redacts a password change and never stores tokens from headers, cookies or the query string', async () => {
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/api/auth/users/me',
      headers: { ...dev.headers, cookie: `refresh_token=${dev.refreshToken}` },
      payload: { current_password: 'not-the-password', new_password: 'Brand-new-pass-1' },
    });
    expect(res.statusCode).toBe(400);
    const row = await lastRow();
    expect(JSON.parse(row.request_body ?? 'null')).toEqual({ current_password: REDACTED, new_password: REDACTED });
    const login = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: dev.user.username, password: DEFAULT_PASSWORD } });
    expect(login.statusCode).toBe(200);
    await t.app.inject({ method: 'GET', url: `/api/tasks?token=${dev.accessToken}`, headers: dev.headers });
    const text = JSON.stringify(await allRows(t));
    for (const secret of [dev.accessToken, dev.refreshToken, login.json().access, 'not-the-password', 'Brand-new-pass-1']) {
      expect(text).not.toContain(secret);
    }
  });

  it('records anonymous and refused requests too, and paths outside /api not at all', async () => {
    await t.app.audit.flush();
    const before = (await allRows(t)).length;
    await t.app.inject({ method: 'GET', url: '/api/tasks' });
    await t.app.inject({ method: 'GET', url: '/api/no-such-thing' });
    await t.app.inject({ method: 'GET', url: '/health' });
    await t.app.audit.flush();
    const rows = (await allRows(t)).slice(before);
    expect(rows.map((r) => [r.endpoint, r.status_code, r.user_id])).toEqual([
      ['/api/tasks', 401, null],
      ['/api/no-such-thing', 404, null],
    ]);
    expect(JSON.parse(rows[0]!.response_body ?? 'null')).toEqual({ detail: 'Not authenticated' });
  });

  it.each([
    ['manager', 200],
    ['auditor', 200],
    ['developer', 403],
  ] as const)('lets a %s read the audit log: %i', async (role, status) => {
    const session = { manager, auditor, developer: dev }[role];
    const res = await t.app.inject({ method: 'GET', url: '/api/audit-logs/', headers: session.headers });
    expect(res.statusCode).toBe(status);
    if (status === 403) expect(typeof res.json().detail).toBe('string');
  });

  it('filters by user, method, status, endpoint prefix and time, newest first, with X-Total-Count', async () => {
    clock.set('2026-11-25T10:05:00Z');
    await t.app.inject({ method: 'POST', url: '/api/tags', headers: dev.headers, payload: { name: 'audited' } });
    clock.set('2026-11-25T10:10:00Z');
    await t.app.inject({ method: 'GET', url: '/api/tags', headers: dev.headers });
    await t.app.inject({ method: 'GET', url: '/api/tags/', headers: dev.headers });
    await t.app.audit.flush();
    const get = async (query: string) => {
      const res = await t.app.inject({ method: 'GET', url: `/api/audit-logs?${query}`, headers: auditor.headers });
      expect(res.statusCode).toBe(200);
      return res;
    };
    const byUser = await get(`user_id=${dev.user.id}&endpoint=/api/tags`);
    expect(byUser.json().map((r: { method: string; timestamp: string }) => [r.method, r.timestamp])).toEqual([
      ['GET', '2026-11-25T10:10:00.000Z'],
      ['GET', '2026-11-25T10:10:00.000Z'],
      ['POST', '2026-11-25T10:05:00.000Z'],
    ]);
    expect(byUser.headers['x-total-count']).toBe('3');
    const posts = await get(`user_id=${dev.user.id}&method=post&status_code=201`);
    expect(posts.json()).toHaveLength(1);
    expect(posts.json()[0]).toMatchObject({ endpoint: '/api/tags', request_body: { name: 'audited' }, response_body: null });
    const window = await get(`user_id=${dev.user.id}&since=2026-11-25T10:07:00Z&until=2026-11-25T10:11:00Z`);
    expect(window.json().every((r: { timestamp: string }) => r.timestamp === '2026-11-25T10:10:00.000Z')).toBe(true);
    const page = await get(`user_id=${dev.user.id}&endpoint=/api/tags&limit=1&offset=2`);
    expect(page.json().map((r: { method: string }) => r.method)).toEqual(['POST']);
    expect(page.headers['x-total-count']).toBe('3');
    expect((await get('endpoint=/API/TAGS')).json()).toEqual([]);
  });

  it.each(['user_id=0', 'user_id=x', 'method=FETCH', 'status_code=99', 'status_code=abc', 'since=yesterday', 'until=2026-13-01', 'limit=501', 'offset=-1'])(
    'answers 422 for the filter %s',
    async (query) => {
      const res = await t.app.inject({ method: 'GET', url: `/api/audit-logs?${query}`, headers: manager.headers });
      expect(res.statusCode).toBe(422);
      expect(typeof res.json().detail).toBe('string');
    },
  );
});

describe('audit store failures', () => {
  it('never fail a request: rows are counted as lost and logged', async () => {
    const t = await buildTestApp();
    try {
      const manager = await signIn(t.app, { role: 'manager' });
      await sql`drop table api_audit_logs`.execute(t.db);
      for (let i = 0; i < 3; i += 1) {
        const res = await t.app.inject({ method: 'GET', url: '/api/tags', headers: manager.headers });
        expect(res.statusCode).toBe(200);
      }
      await t.app.audit.flush();
      expect(t.app.audit.stats()).toMatchObject({ queued: 0, written: 0, failed: 3 });
      expect((await t.app.inject({ method: 'GET', url: '/api/tags', headers: manager.headers })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('drop and count rows beyond the queue bound instead of growing', async () => {
    const t = await buildTestApp();
    try {
      const queue = new AuditQueue({ db: t.db, log: t.app.log, maxQueued: 3, batchSize: 100, flushIntervalMs: 60_000 });
      const row = { user_id: null, endpoint: '/api/x', method: 'GET', status_code: 200, request_body: null, response_body: null, ip: null, user_agent: null, duration_ms: 1, timestamp: new Date().toISOString() };
      for (let i = 0; i < 5; i += 1) queue.enqueue(row);
      expect(queue.stats()).toMatchObject({ queued: 3, dropped: 2 });
      await queue.flush();
      expect(queue.stats()).toMatchObject({ queued: 0, written: 3, dropped: 2 });
      expect((await allRows(t)).filter((r) => r.endpoint === '/api/x')).toHaveLength(3);
    } finally {
      await t.close();
    }
  });

  it('write every batch exactly, full batches (their INSERT compiled once) and the rest alike', async () => {
    const t = await buildTestApp();
    try {
      const users = [(await signIn(t.app, { role: 'manager' })).user.id, (await signIn(t.app, { role: 'developer' })).user.id];
      const queue = new AuditQueue({ db: t.db, log: t.app.log, maxQueued: 100, batchSize: 3, flushIntervalMs: 60_000 });
      const row = (i: number) => ({
        user_id: i % 3 === 0 ? null : (users[i % 2] ?? null),
        api_token_id: null,
        endpoint: `/api/batch/${i}`,
        method: i % 2 === 0 ? 'GET' : 'POST',
        status_code: 200 + i,
        request_body: i % 4 === 0 ? null : JSON.stringify({ i }),
        response_body: i % 5 === 0 ? JSON.stringify({ detail: `e${i}` }) : null,
        ip: i % 2 === 0 ? `10.0.0.${i}` : null,
        user_agent: i % 3 === 0 ? null : `agent ${i}`,
        duration_ms: i + 0.125,
        timestamp: new Date(Date.UTC(2030, 0, 1, 0, 0, i)).toISOString(),
      });
      // the same columns in another order, and a row without two of them (their defaults: null)
      const { user_id, api_token_id, timestamp, ...rest } = row(10);
      const reordered = { timestamp, ...rest, api_token_id, user_id };
      const expected = [...Array.from({ length: 10 }, (_, i) => row(i)), reordered, { ...rest, timestamp, endpoint: '/api/batch/11' }];
      for (const item of expected.slice(0, 6)) queue.enqueue(item);
      await queue.flush();
      for (const item of expected.slice(6)) queue.enqueue(item);
      await queue.flush();
      expect(queue.stats()).toMatchObject({ queued: 0, written: 12, failed: 0 });
      const stored = (await allRows(t)).filter((r) => r.endpoint.startsWith('/api/batch/'));
      const { id: _id, ...firstStored } = stored[0] ?? { id: 0 };
      expect(Object.keys(firstStored).sort()).toEqual(Object.keys(row(0)).sort());
      expect(stored.map(({ id: _unused, ...r }) => r)).toEqual(expected.map((r) => ({ user_id: null, api_token_id: null, ...r })));
    } finally {
      await t.close();
    }
  });

  it('write full batches as they fill, and leave the rest to the timer or a flush', async () => {
    const t = await buildTestApp();
    try {
      const queue = new AuditQueue({ db: t.db, log: t.app.log, maxQueued: 100, batchSize: 3, flushIntervalMs: 60_000 });
      const row = (i: number) => ({ user_id: null, api_token_id: null, endpoint: `/api/full/${i}`, method: 'GET', status_code: 200, request_body: null, response_body: null, ip: null, user_agent: null, duration_ms: i, timestamp: new Date().toISOString() });
      // Seven rows at once, as a burst of requests queues them: two full batches, one row over.
      for (let i = 0; i < 7; i += 1) queue.enqueue(row(i));
      for (let tries = 0; tries < 200 && queue.stats().written < 6; tries += 1) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(queue.stats()).toMatchObject({ queued: 1, written: 6, failed: 0 });
      await queue.flush();
      expect(queue.stats()).toMatchObject({ queued: 0, written: 7 });
      const stored = (await allRows(t)).filter((r) => r.endpoint.startsWith('/api/full/'));
      expect(stored.map((r) => r.endpoint)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `/api/full/${i}`));

      // A row that waits alone is written by the timer.
      const timed = new AuditQueue({ db: t.db, log: t.app.log, maxQueued: 100, batchSize: 3, flushIntervalMs: 20 });
      for (let i = 7; i < 11; i += 1) timed.enqueue(row(i));
      for (let tries = 0; tries < 200 && timed.stats().written < 4; tries += 1) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(timed.stats()).toMatchObject({ queued: 0, written: 4 });
    } finally {
      await t.close();
    }
  });

  it('flush what is queued when the app closes', async () => {
    const t = await buildTestApp();
    const manager = await signIn(t.app, { role: 'manager' });
    await t.app.inject({ method: 'GET', url: '/api/tags', headers: manager.headers });
    expect(t.app.audit.stats().queued).toBe(1);
    await t.app.close();
    expect((await allRows(t)).map((r) => r.endpoint)).toEqual(['/api/tags']);
    await t.database.cleanup();
  });
});

// A pool of one connection makes pg_prepared_statements (the session's own) that connection's.
describe.runIf(testDatabaseUrl() !== undefined)('the audit INSERT on PostgreSQL', () => {
  it('runs a full batch as a named prepared statement, parsed and planned once per connection', async () => {
    const own = await createTestDatabase({ poolSize: 1 });
    try {
      const queue = new AuditQueue({ db: own.handle.db, log: { error: () => undefined } as never, maxQueued: 100, batchSize: 2, flushIntervalMs: 60_000 });
      const row = (i: number) => ({ user_id: null, api_token_id: null, endpoint: `/api/p/${i}`, method: 'GET', status_code: 200, request_body: null, response_body: null, ip: null, user_agent: null, duration_ms: i, timestamp: new Date().toISOString() });
      for (let i = 0; i < 5; i += 1) queue.enqueue(row(i));
      await queue.flush();
      expect(queue.stats()).toMatchObject({ written: 5, failed: 0 });
      const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(own.handle.db);
      expect(rows.filter((r) => r.statement.startsWith('insert into "api_audit_logs"'))).toHaveLength(1);
      const stored = await own.handle.db.selectFrom('api_audit_logs').select(['endpoint', 'duration_ms']).orderBy('id').execute();
      expect(stored).toEqual([0, 1, 2, 3, 4].map((i) => ({ endpoint: `/api/p/${i}`, duration_ms: i })));
    } finally {
      await own.cleanup();
    }
  });
});
