import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environment } from '../../src/config.js';
import { sha256 } from '../../src/lib/hash.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createUser, DEFAULT_PASSWORD } from '../helpers/factories.js';
import {
  authSnapshot,
  jwtPayload,
  liveSessions,
  loginRequest,
  me,
  responseCookies,
  sessionRow,
  setCookieLines,
} from '../helpers/auth.js';

describe('POST /api/auth/login', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('returns a bearer access token whose claims name the user and a new session', async () => {
    const user = await createUser(t.app);
    const res = await loginRequest(t.app, user.username, DEFAULT_PASSWORD);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toEqual({ access: expect.any(String), token_type: 'bearer', expires_in: 20 * 60 });
    const claims = jwtPayload(body.access);
    expect(claims).toMatchObject({ sub: String(user.id), type: 'access', jti: expect.any(String) });
    expect(claims.exp).toBe((claims.iat as number) + 20 * 60);
    const session = await sessionRow(t.db, claims.sid as number);
    expect(session?.user_id).toBe(user.id);
    expect(session?.revoked_at).toBeNull();
    expect(session?.user_agent).toBe('lightMyRequest');

    const who = await me(t.app, body.access);
    expect(who.statusCode).toBe(200);
    expect(who.json().id).toBe(user.id);
  });

  it('sets the refresh and device cookies and stores only the hash of the refresh token', async () => {
    const user = await createUser(t.app);
    const res = await loginRequest(t.app, user.username, DEFAULT_PASSWORD);
    const cookies = responseCookies(res);
    const refresh = cookies.refresh_token!;
    const device = cookies.device_id!;
    for (const c of [refresh, device]) {
      expect(c).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/api/auth', maxAge: 3 * 24 * 3600, secure: true });
    }
    expect(jwtPayload(refresh.value)).toMatchObject({ type: 'refresh', sub: String(user.id) });
    expect(device.value).toMatch(/^[0-9a-f-]{36}$/);

    const sid = jwtPayload(res.json().access).sid as number;
    const row = await sessionRow(t.db, sid);
    expect(row?.refresh_token_hash).toBe(sha256(refresh.value));
    expect(row?.device_id).toBe(device.value);
    expect(Date.parse(row!.expires_at)).toBe((jwtPayload(refresh.value).exp as number) * 1000);
    const stored = JSON.stringify(await authSnapshot(t.db));
    expect(stored).not.toContain(refresh.value);
    expect(stored).not.toContain(res.json().access);
  });

  it('accepts the e-mail instead of the username, in any case', async () => {
    const user = await createUser(t.app, { email: `Mixed.Case${randomUUID().slice(0, 6)}@Example.com` });
    expect((await loginRequest(t.app, user.email.toUpperCase(), DEFAULT_PASSWORD)).statusCode).toBe(200);
    expect((await loginRequest(t.app, user.email.toLowerCase(), DEFAULT_PASSWORD)).statusCode).toBe(200);
  });

  it('accepts the username in any case', async () => {
    const user = await createUser(t.app);
    expect((await loginRequest(t.app, user.username.toUpperCase(), DEFAULT_PASSWORD)).statusCode).toBe(200);
  });

  it("logs into the e-mail's owner when another user's username equals that e-mail", async () => {
    const owner = await createUser(t.app, { email: `owner${randomUUID().slice(0, 6)}@example.com`, password: 'owner-password' });
    await createUser(t.app, { username: owner.email, password: 'squatter-password' });
    const res = await loginRequest(t.app, owner.email, 'owner-password');
    expect(res.statusCode).toBe(200);
    expect(jwtPayload(res.json().access).sub).toBe(String(owner.id));
  });

  it('records the login time on the user', async () => {
    const user = await createUser(t.app);
    await loginRequest(t.app, user.username, DEFAULT_PASSWORD);
    const row = await t.db.selectFrom('users').select('last_login').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.last_login).not.toBeNull();
  });

  it('reuses a well-formed device_id cookie and replaces that device\'s previous session', async () => {
    const user = await createUser(t.app);
    const first = await loginRequest(t.app, user.username, DEFAULT_PASSWORD);
    const device = responseCookies(first).device_id!.value;
    const firstSid = jwtPayload(first.json().access).sid as number;

    const second = await loginRequest(t.app, user.username, DEFAULT_PASSWORD, { device_id: device });
    expect(responseCookies(second).device_id!.value).toBe(device);
    const live = await liveSessions(t.db, user.id);
    expect(live.map((s) => s.device_id)).toEqual([device]);
    expect((await sessionRow(t.db, firstSid))?.revoked_at).not.toBeNull();
    expect((await me(t.app, first.json().access)).statusCode).toBe(401);
  });

  it.each(['not-a-uuid', 'a'.repeat(300), "'; drop table users; --"])('replaces a malformed device_id cookie (%s) with a new UUID', async (garbage) => {
    const user = await createUser(t.app);
    const res = await loginRequest(t.app, user.username, DEFAULT_PASSWORD, { device_id: garbage });
    expect(res.statusCode).toBe(200);
    expect(responseCookies(res).device_id!.value).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('ignores an Authorization header, even garbage', async () => {
    const user = await createUser(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login/',
      headers: { authorization: 'Bearer not.a.token' },
      payload: { username: user.username, password: DEFAULT_PASSWORD },
    });
    expect(res.statusCode).toBe(200);
  });

  describe('failures create no session and set no cookie', () => {
    it.each([
      ['a wrong password', { password: 'wrong-password' }],
      ['an unknown username', { username: 'nobody-at-all' }],
      ['an unknown e-mail', { username: 'nobody@example.com' }],
    ])('answers 400 "Incorrect username or password" for %s', async (_label, override) => {
      const user = await createUser(t.app);
      const before = await authSnapshot(t.db);
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: user.username, password: DEFAULT_PASSWORD, ...override },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ detail: 'Incorrect username or password' });
      expect(setCookieLines(res)).toEqual([]);
      expect(await authSnapshot(t.db)).toEqual(before);
    });

    it.each([
      ['an unverified e-mail', { verified: false }, 'Email not verified'],
      ['an inactive user', { active: false }, 'Inactive user'],
    ])('answers 403 for %s once the password is right', async (_label, options, detail) => {
      const user = await createUser(t.app, options);
      const before = await authSnapshot(t.db);
      const res = await loginRequest(t.app, user.username, DEFAULT_PASSWORD);
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({ detail });
      expect(setCookieLines(res)).toEqual([]);
      expect(await authSnapshot(t.db)).toEqual(before);
    });

    it.each([
      ['an unverified e-mail', { verified: false }],
      ['an inactive user', { active: false }],
    ])('answers 400, revealing nothing, for %s with a wrong password', async (_label, options) => {
      const user = await createUser(t.app, options);
      const res = await loginRequest(t.app, user.username, 'wrong-password');
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ detail: 'Incorrect username or password' });
    });

    it.each([
      ['a missing password', { username: 'someone' }],
      ['a missing username', { password: 'whatever1' }],
      ['a numeric username', { username: 12345, password: 'whatever1' }],
      ['a numeric password', { username: 'someone', password: 12345678 }],
      ['a boolean password', { username: 'someone', password: true }],
      ['an empty username', { username: '', password: 'whatever1' }],
      ['an overlong password', { username: 'someone', password: 'x'.repeat(101) }],
      ['an array body', []],
      ['a string body', 'username=someone'],
      ['a number body', 42],
      ['no body at all', undefined],
    ])('answers 422 for %s', async (_label, payload) => {
      const before = await authSnapshot(t.db);
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(payload),
      });
      expect(res.statusCode).toBe(422);
      expect(typeof res.json().detail).toBe('string');
      expect(Array.isArray(res.json().errors)).toBe(true);
      expect(await authSnapshot(t.db)).toEqual(before);
    });

    it('answers 415 to a form-encoded body', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'username=a&password=b',
      });
      expect(res.statusCode).toBe(415);
      expect(typeof res.json().detail).toBe('string');
    });
  });

  it('never lets the password, its hash or any token reach the response of a failure', async () => {
    const user = await createUser(t.app);
    const { hashed_password: hash } = await t.db
      .selectFrom('users')
      .select('hashed_password')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    const res = await loginRequest(t.app, user.username, 'Wr0ng-but-secret');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Incorrect username or password' });
    expect(res.body).not.toContain('Wr0ng-but-secret');
    expect(res.body).not.toContain(hash);
    expect(setCookieLines(res)).toEqual([]);
    expect(res.headers['x-new-access-token']).toBeUndefined();
    expect(await liveSessions(t.db, user.id)).toEqual([]);
  });
});

describe.each<[Environment, boolean]>([
  ['development', false],
  ['production', true],
])('cookies in %s', (environment, secure) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ environment });
  });
  afterAll(async () => {
    await t.close();
  });

  it(`are HttpOnly, SameSite=Lax, Path=/api/auth, Max-Age=refresh lifetime${secure ? ', Secure' : ', not Secure'}`, async () => {
    const user = await createUser(t.app);
    const res = await loginRequest(t.app, user.username, DEFAULT_PASSWORD);
    expect(res.statusCode).toBe(200);
    const lines = setCookieLines(res);
    expect(lines).toHaveLength(2);
    for (const name of ['refresh_token', 'device_id']) {
      const line = lines.find((l) => l.startsWith(`${name}=`));
      expect(line).toBeDefined();
      expect(line).toContain('HttpOnly');
      expect(line).toContain('SameSite=Lax');
      expect(line).toContain('Path=/api/auth');
      expect(line).toContain(`Max-Age=${3 * 24 * 3600}`);
      if (secure) expect(line).toContain('Secure');
      else expect(line).not.toContain('Secure');
    }
  });
});
