import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/lib/hash.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';
import { authSnapshot, captureLogs, containsTokenWithHash, verificationTokenHashes, type CapturedLogs } from '../helpers/auth.js';

const register = (t: TestApp, payload: unknown, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url: '/api/auth/register', payload: payload as object, headers });

let seq = 0;
const fresh = () => {
  seq += 1;
  return { username: `new_user.${seq}`, email: `new.user${seq}@example.com`, password: 'S3cure-passw0rd' };
};

describe('POST /api/auth/register', () => {
  let t: TestApp;
  let logs: CapturedLogs;
  beforeAll(async () => {
    logs = captureLogs();
    t = await buildTestApp({}, { logger: logs.logger });
  });
  afterAll(async () => {
    await t.close();
  });

  it('creates an unverified developer and returns the verification token with the console backend', async () => {
    const body = fresh();
    const res = await register(t, body);
    expect(res.statusCode).toBe(201);
    const json = res.json();
    expect(json).toEqual({ message: expect.any(String), verification_token: expect.any(String) });

    const user = await t.db.selectFrom('users').selectAll().where('username', '=', body.username).executeTakeFirstOrThrow();
    expect(user.role).toBe('developer');
    expect(Boolean(user.email_verified)).toBe(false);
    expect(Boolean(user.is_active)).toBe(true);
    expect(user.timezone).toBe('UTC');
    expect(user.hashed_password).toMatch(/^\$2[aby]\$04\$/);
    expect(user.hashed_password).not.toContain(body.password);

    const tokens = await t.db.selectFrom('email_verification_tokens').selectAll().where('user_id', '=', user.id).execute();
    expect(tokens).toHaveLength(1);
    expect(tokens[0]?.token_hash).toBe(sha256(json.verification_token));
    expect(tokens[0]?.used_at).toBeNull();
    const lifetime = Date.parse(tokens[0]!.expires_at) - Date.parse(tokens[0]!.created_at);
    expect(lifetime).toBe(24 * 3600 * 1000);
  });

  it('logs the verification e-mail (console backend) with the token and never the password', async () => {
    const body = fresh();
    const res = await register(t, body);
    const token = res.json().verification_token as string;
    const text = logs.text();
    expect(text).toContain(token);
    expect(text).toContain(body.email);
    expect(text).not.toContain(body.password);
  });

  it.each(['UTC', 'Asia/Kolkata', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5', 'US/Pacific', 'Europe/Paris'])(
    'accepts the IANA time zone %s and stores it',
    async (timezone) => {
      const body = { ...fresh(), timezone };
      const res = await register(t, body);
      expect(res.statusCode).toBe(201);
      const row = await t.db.selectFrom('users').select('timezone').where('username', '=', body.username).executeTakeFirstOrThrow();
      expect(row.timezone).toBe(timezone);
    },
  );

  it.each([
    ['asia/tokyo', 'Asia/Tokyo'],
    ['EUROPE/PARIS', 'Europe/Paris'],
    ['utc', 'UTC'],
    ['asia/kolkata', 'Asia/Kolkata'],
    ['ASIA/CALCUTTA', 'Asia/Calcutta'],
    ['etc/gmt-8', 'Etc/GMT-8'],
    ['us/eastern', 'US/Eastern'],
    ['america/argentina/buenos_aires', 'America/Argentina/Buenos_Aires'],
    ['europe/kyiv', 'Europe/Kyiv'],
  ])('stores the time zone %s in its official IANA spelling %s', async (typed, stored) => {
    const body = { ...fresh(), timezone: typed };
    expect((await register(t, body)).statusCode).toBe(201);
    const row = await t.db.selectFrom('users').select('timezone').where('username', '=', body.username).executeTakeFirstOrThrow();
    expect(row.timezone).toBe(stored);
  });

  it('ignores unknown fields, so a registration cannot choose its role or verify itself', async () => {
    const body = { ...fresh(), role: 'manager', email_verified: true, is_active: false, id: 999 };
    const res = await register(t, body);
    expect(res.statusCode).toBe(201);
    const row = await t.db.selectFrom('users').selectAll().where('username', '=', body.username).executeTakeFirstOrThrow();
    expect(row.role).toBe('developer');
    expect(Boolean(row.email_verified)).toBe(false);
    expect(Boolean(row.is_active)).toBe(true);
    expect(row.id).not.toBe(999);
  });

  it('ignores an Authorization header, even garbage', async () => {
    const res = await register(t, fresh(), { authorization: 'Bearer garbage.garbage.garbage' });
    expect(res.statusCode).toBe(201);
  });

  it.each([
    ['the same username', (u: { username: string }) => ({ ...fresh(), username: u.username }), 'Username already registered'],
    ['the username in another case', (u: { username: string }) => ({ ...fresh(), username: u.username.toUpperCase() }), 'Username already registered'],
    ['the same e-mail', (u: { email: string }) => ({ ...fresh(), email: u.email }), 'Email already registered'],
    ['the e-mail in another case', (u: { email: string }) => ({ ...fresh(), email: u.email.toUpperCase() }), 'Email already registered'],
  ])('answers 400 for %s and creates nothing', async (_label, build, detail) => {
    const existing = await createUser(t.app);
    const before = await authSnapshot(t.db);
    const res = await register(t, build(existing));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail });
    expect(await authSnapshot(t.db)).toEqual(before);
  });

  it('answers 400 (never 500) to every loser of parallel registrations of one username', async () => {
    const base = fresh();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => register(t, { ...base, email: `racer${i}.${base.email}` })),
    );
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([201, 400, 400, 400, 400, 400]);
    for (const r of results.filter((x) => x.statusCode === 400)) expect(r.json()).toEqual({ detail: 'Username already registered' });
    const rows = await t.db.selectFrom('users').select('id').where('username', '=', base.username).execute();
    expect(rows).toHaveLength(1);
  });

  const long = (n: number) => 'a'.repeat(n);
  it.each([
    ['a username of 2 characters', { username: 'ab' }, 'username'],
    ['a username of 151 characters', { username: long(151) }, 'username'],
    ['a username with a space', { username: 'john doe' }, 'username'],
    ['a username with a slash', { username: 'john/doe' }, 'username'],
    ['a username that is a number', { username: 12345 }, 'username'],
    ['an invalid e-mail', { email: 'not-an-email' }, 'email'],
    ['an e-mail over 254 characters', { email: `${long(250)}@example.com` }, 'email'],
    ['an e-mail that is a number', { email: 42 }, 'email'],
    ['a password of 7 characters', { password: 'Abc123!' }, 'password'],
    ['a password of 101 characters', { password: long(101) }, 'password'],
    ['a password that is a number', { password: 1234567890 }, 'password'],
    ['an unknown time zone', { timezone: 'Mars/Olympus_Mons' }, 'timezone'],
    ['a zone ICU knows but IANA does not (SystemV/AST4)', { timezone: 'SystemV/AST4' }, 'timezone'],
    ['a zone ICU knows but IANA does not (systemv/est5edt)', { timezone: 'systemv/est5edt' }, 'timezone'],
    ['a time zone that is a number', { timezone: 5 }, 'timezone'],
    ['an empty time zone', { timezone: '' }, 'timezone'],
    ['a missing password', { password: undefined }, 'password'],
  ])('answers 422 for %s and creates nothing', async (_label, override, field) => {
    const before = await authSnapshot(t.db);
    const res = await register(t, { ...fresh(), ...override });
    expect(res.statusCode).toBe(422);
    const json = res.json();
    expect(typeof json.detail).toBe('string');
    expect(json.errors[0].loc).toEqual(['body', field]);
    expect(await authSnapshot(t.db)).toEqual(before);
  });

  it.each([
    ['an array', []],
    ['a string', 'x'],
    ['a number', 42],
    ['null', null],
  ])('answers 422 when the body is %s', async (_label, payload) => {
    const before = await authSnapshot(t.db);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });
    expect(res.statusCode).toBe(422);
    expect(typeof res.json().detail).toBe('string');
    expect(await authSnapshot(t.db)).toEqual(before);
  });

  it('answers 422 for malformed JSON', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: '{"username": ',
    });
    expect(res.statusCode).toBe(422);
    expect(typeof res.json().detail).toBe('string');
  });

  it('answers with a trailing slash too', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/register/', payload: fresh() });
    expect(res.statusCode).toBe(201);
  });
});

describe('register outside development with the console backend', () => {
  it('keeps the verification token out of the body in production', async () => {
    const t = await buildTestApp({ environment: 'production' });
    try {
      const res = await register(t, fresh());
      expect(res.statusCode).toBe(201);
      expect(res.json()).toEqual({ message: expect.any(String) });
    } finally {
      await t.close();
    }
  });

  it('logs only the recipient and subject of the verification e-mail in production, never its token', async () => {
    const logs = captureLogs('trace');
    const t = await buildTestApp({ environment: 'production' }, { logger: logs.logger });
    try {
      const body = fresh();
      expect((await register(t, body)).statusCode).toBe(201);
      const hashes = await verificationTokenHashes(t.db, body.username);
      // The resend supersedes (deletes) the first token: collect both hashes.
      const resent = await t.app.inject({ method: 'POST', url: '/api/auth/resend-verification', payload: { email: body.email } });
      expect(resent.statusCode).toBe(202);
      await t.app.mailer.idle(); // the resend does its work after answering
      hashes.push(...(await verificationTokenHashes(t.db, body.username)));
      expect(new Set(hashes).size).toBe(2);
      expect(containsTokenWithHash(logs.text(), hashes)).toBe(false);
      const mails = logs.lines.map((line) => JSON.parse(line) as { msg: string; email?: Record<string, unknown> }).filter((e) => e.email);
      expect(mails).toHaveLength(2);
      for (const mail of mails) {
        expect(mail.email).toEqual({ from: t.config.emailFrom, to: body.email, subject: expect.stringContaining('verify your email') });
      }
      expect(logs.text()).not.toContain('verification token is');
    } finally {
      await t.close();
    }
  });

  it('warns once at start that e-mails are not delivered in production with the console backend', async () => {
    const logs = captureLogs('trace');
    const t = await buildTestApp({ environment: 'production' }, { logger: logs.logger });
    try {
      await register(t, fresh());
      await register(t, fresh());
      const warnings = logs.lines.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((e) => e.level === 40);
      expect(warnings).toEqual([expect.objectContaining({ msg: expect.stringMatching(/console.*not delivered|not delivered.*console/i) })]);
    } finally {
      await t.close();
    }
  });

  it('logs the verification token in development, where the developer reads it there', async () => {
    const logs = captureLogs('trace');
    const t = await buildTestApp({ environment: 'development' }, { logger: logs.logger });
    try {
      const body = fresh();
      const res = await register(t, body);
      expect(logs.text()).toContain(res.json().verification_token);
      expect(containsTokenWithHash(logs.text(), await verificationTokenHashes(t.db, body.username))).toBe(true);
      expect(logs.lines.map((line) => JSON.parse(line) as { level: number }).filter((e) => e.level === 40)).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('uses DEFAULT_TIMEZONE when no time zone is given', async () => {
    const t = await buildTestApp({ defaultTimezone: 'Asia/Kolkata' });
    try {
      const body = fresh();
      expect((await register(t, body)).statusCode).toBe(201);
      const row = await t.db.selectFrom('users').select('timezone').where('username', '=', body.username).executeTakeFirstOrThrow();
      expect(row.timezone).toBe('Asia/Kolkata');
    } finally {
      await t.close();
    }
  });
});
