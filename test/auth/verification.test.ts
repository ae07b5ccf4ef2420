import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { fixedClock } from '../../src/lib/clock.js';
import { sha256 } from '../../src/lib/hash.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { createUser } from '../helpers/factories.js';
import { authSnapshot, captureLogs, recordQueriesBeforeAnswer, type CapturedLogs } from '../helpers/auth.js';

let seq = 0;
async function registerUser(t: TestApp) {
  seq += 1;
  const body = { username: `verify_me${seq}`, email: `verify.me${seq}@example.com`, password: 'S3cure-passw0rd' };
  const res = await t.app.inject({ method: 'POST', url: '/api/auth/register', payload: body });
  expect(res.statusCode).toBe(201);
  const user = await t.db.selectFrom('users').select(['id', 'email_verified']).where('username', '=', body.username).executeTakeFirstOrThrow();
  return { ...body, id: user.id, token: res.json().verification_token as string };
}

const verify = (t: TestApp, payload: unknown, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url: '/api/auth/verify-email', payload: payload as object, headers });
/** A resend, and the work it does after answering. */
async function resend(t: TestApp, payload: unknown) {
  const res = await t.app.inject({ method: 'POST', url: '/api/auth/resend-verification', payload: payload as object });
  await t.app.mailer.idle();
  return res;
}
const isVerified = async (t: TestApp, id: number) =>
  Boolean((await t.db.selectFrom('users').select('email_verified').where('id', '=', id).executeTakeFirstOrThrow()).email_verified);

describe('POST /api/auth/verify-email', () => {
  const clock = fixedClock('2030-01-15T10:00:00.000Z');
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({}, { clock });
  });
  afterAll(async () => {
    await t.close();
  });

  it('verifies the address and marks the token used', async () => {
    const u = await registerUser(t);
    const res = await verify(t, { token: u.token });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ message: 'Email verified successfully' });
    expect(await isVerified(t, u.id)).toBe(true);
    const row = await t.db.selectFrom('email_verification_tokens').selectAll().where('token_hash', '=', sha256(u.token)).executeTakeFirstOrThrow();
    expect(row.used_at).not.toBeNull();
  });

  it('refuses a token the second time (single use)', async () => {
    const u = await registerUser(t);
    expect((await verify(t, { token: u.token })).statusCode).toBe(200);
    const again = await verify(t, { token: u.token });
    expect(again.statusCode).toBe(400);
    expect(again.json()).toEqual({ detail: 'Verification token has already been used' });
  });

  it('lets exactly one of two parallel uses of a token succeed', async () => {
    const u = await registerUser(t);
    const results = await Promise.all([verify(t, { token: u.token }), verify(t, { token: u.token })]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 400]);
  });

  it('refuses an unknown token and changes nothing', async () => {
    await registerUser(t);
    const before = await authSnapshot(t.db);
    const res = await verify(t, { token: 'not-a-real-token' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Invalid verification token' });
    expect(await authSnapshot(t.db)).toEqual(before);
  });

  it('accepts a token just before 24 hours and refuses it after', async () => {
    const early = await registerUser(t);
    const late = await registerUser(t);
    const start = clock.now();
    try {
      clock.set(new Date(start.getTime() + 24 * 3600 * 1000 - 1000));
      expect((await verify(t, { token: early.token })).statusCode).toBe(200);
      clock.set(new Date(start.getTime() + 24 * 3600 * 1000));
      const res = await verify(t, { token: late.token });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ detail: 'Verification token has expired' });
      expect(await isVerified(t, late.id)).toBe(false);
    } finally {
      clock.set(start);
    }
  });

  it('ignores an Authorization header, even garbage', async () => {
    const u = await registerUser(t);
    const res = await verify(t, { token: u.token }, { authorization: 'Bearer x.y.z' });
    expect(res.statusCode).toBe(200);
  });

  it.each([
    ['a missing token', {}],
    ['a numeric token', { token: 12345 }],
    ['an empty token', { token: '' }],
    ['an overlong token', { token: 'a'.repeat(257) }],
    ['an array body', []],
    ['a string body', 'token'],
  ])('answers 422 for %s and changes nothing', async (_label, payload) => {
    const before = await authSnapshot(t.db);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/verify-email',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });
    expect(res.statusCode).toBe(422);
    expect(typeof res.json().detail).toBe('string');
    expect(await authSnapshot(t.db)).toEqual(before);
  });
});

describe('POST /api/auth/resend-verification', () => {
  let t: TestApp;
  let logs: CapturedLogs;
  beforeAll(async () => {
    logs = captureLogs();
    t = await buildTestApp({}, { logger: logs.logger });
  });
  afterAll(async () => {
    await t.close();
  });

  const tokenLoggedFor = (email: string): string[] =>
    logs.lines
      .map((line) => JSON.parse(line) as { email?: { to: string; text: string } })
      .filter((entry) => entry.email?.to === email)
      .map((entry) => /^ {4}(\S+)$/m.exec(entry.email!.text)?.[1] ?? '');

  it('answers 202 with the same body for an unknown, a verified and an unverified address', async () => {
    const verified = await createUser(t.app, { verified: true });
    const unverified = await registerUser(t);
    const bodies = [];
    for (const email of ['nobody@example.com', verified.email, unverified.email]) {
      const res = await resend(t, { email });
      expect(res.statusCode).toBe(202);
      bodies.push(res.body);
    }
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0]!)).toEqual({ message: expect.any(String) });
  });

  it('issues a fresh token for an unverified user; the earlier one stops working', async () => {
    const u = await registerUser(t);
    const res = await resend(t, { email: u.email.toUpperCase() });
    expect(res.statusCode).toBe(202);
    const sent = tokenLoggedFor(u.email);
    expect(sent).toHaveLength(2);
    const fresh = sent[1]!;
    expect(fresh).not.toBe(u.token);
    expect(res.body).not.toContain(fresh);

    const rows = await t.db.selectFrom('email_verification_tokens').selectAll().where('user_id', '=', u.id).execute();
    expect(rows.map((r) => r.token_hash)).toEqual([sha256(fresh)]);

    expect((await verify(t, { token: u.token })).statusCode).toBe(400);
    expect((await verify(t, { token: fresh })).statusCode).toBe(200);
    expect(await isVerified(t, u.id)).toBe(true);
  });

  it('issues nothing for a verified or an unknown address', async () => {
    const verified = await createUser(t.app, { verified: true });
    const before = await authSnapshot(t.db);
    await resend(t, { email: verified.email });
    await resend(t, { email: 'ghost@example.com' });
    expect(await authSnapshot(t.db)).toEqual(before);
    expect(tokenLoggedFor(verified.email)).toEqual([]);
  });

  it.each([
    ['a missing e-mail', {}],
    ['a malformed e-mail', { email: 'nope' }],
    ['a numeric e-mail', { email: 7 }],
    ['an array body', []],
  ])('answers 422 for %s', async (_label, payload) => {
    const before = await authSnapshot(t.db);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/resend-verification',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });
    expect(res.statusCode).toBe(422);
    expect(typeof res.json().detail).toBe('string');
    expect(await authSnapshot(t.db)).toEqual(before);
  });
});

describe('POST /api/auth/resend-verification timing', () => {
  // Whether an address belongs to an account awaiting verification must not show in how long the
  // answer takes: the answer goes out before the address is looked up, for every address alike.
  const queries: string[] = [];
  let duringRequest: Map<string, string[]>;
  let app: FastifyInstance;
  let database: TestDatabase;
  const logs = captureLogs();

  beforeAll(async () => {
    database = await createTestDatabase({ onQuery: (sql) => queries.push(sql) });
    app = await buildApp(testConfig(), { database: database.handle, logger: logs.logger });
    duringRequest = recordQueriesBeforeAnswer(app, queries, '/api/auth/resend-verification');
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await database.cleanup();
  });

  it('does the same database work before answering for an unknown, a verified and an unverified address: none', async () => {
    const verified = await createUser(app, { verified: true });
    const unverified = await createUser(app, { verified: false });
    const addresses = ['nobody.at.all@example.com', verified.email, unverified.email];
    for (const email of addresses) {
      const res = await app.inject({ method: 'POST', url: '/api/auth/resend-verification', payload: { email } });
      expect(res.statusCode).toBe(202);
      await app.mailer.idle(); // the work done after answering, kept out of the next request's count
    }
    expect(addresses.map((email) => duringRequest.get(email))).toEqual([[], [], []]);

    // The work happened afterwards: the unverified account got its token and its e-mail.
    const tokens = await database.handle.db.selectFrom('email_verification_tokens').select('user_id').execute();
    expect(tokens.map((row) => row.user_id)).toEqual([unverified.id]);
    const mailed = logs.lines.map((line) => JSON.parse(line) as { email?: { to: string } }).filter((entry) => entry.email);
    expect(mailed.map((entry) => entry.email?.to)).toEqual([unverified.email]);
  });

  it('logs a failure of the work done after answering, which the caller never sees', async () => {
    const unverified = await createUser(app, { verified: false });
    await database.handle.db.schema.alterTable('email_verification_tokens').renameTo('tokens_away').execute();
    try {
      const res = await app.inject({ method: 'POST', url: '/api/auth/resend-verification', payload: { email: unverified.email } });
      expect(res.statusCode).toBe(202);
      await app.mailer.idle();
      expect(logs.text()).toContain('composing an email failed');
    } finally {
      await database.handle.db.schema.alterTable('tokens_away').renameTo('email_verification_tokens').execute();
    }
  });
});
