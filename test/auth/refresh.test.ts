import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { fixedClock } from '../../src/lib/clock.js';
import { sha256 } from '../../src/lib/hash.js';
import { issueAccessToken, issueRefreshToken } from '../../src/modules/auth/tokens.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createSession, createUser, DEFAULT_PASSWORD } from '../helpers/factories.js';
import { authSnapshot, bearer, craftJwt, jwtPayload, loginRequest, me, responseCookies, sessionRow, setCookieLines } from '../helpers/auth.js';

const refresh = (t: TestApp, cookies: Record<string, string> = {}, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies, headers });

async function loggedIn(t: TestApp) {
  const user = await createUser(t.app);
  const res = await loginRequest(t.app, user.username, DEFAULT_PASSWORD);
  expect(res.statusCode).toBe(200);
  const cookies = responseCookies(res);
  return {
    user,
    access: res.json().access as string,
    refreshToken: cookies.refresh_token!.value,
    deviceId: cookies.device_id!.value,
    sessionId: jwtPayload(res.json().access).sid as number,
  };
}

describe('POST /api/auth/refresh', () => {
  const clock = fixedClock('2030-03-01T12:00:00.000Z');
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({}, { clock });
  });
  afterAll(async () => {
    await t.close();
  });

  it('returns a new access token for the same session and rotates the refresh cookie', async () => {
    const s = await loggedIn(t);
    clock.set(new Date(clock.now().getTime() + 5000));
    const res = await refresh(t, { refresh_token: s.refreshToken });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ access: expect.any(String), token_type: 'bearer', expires_in: 1200 });
    expect(jwtPayload(res.json().access)).toMatchObject({ sid: s.sessionId, sub: String(s.user.id), type: 'access' });

    const cookies = responseCookies(res);
    const rotated = cookies.refresh_token!;
    expect(rotated.value).not.toBe(s.refreshToken);
    expect(rotated).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/api/auth', maxAge: 259200, secure: true });
    expect(cookies.device_id?.value).toBe(s.deviceId);

    const row = await sessionRow(t.db, s.sessionId);
    expect(row?.refresh_token_hash).toBe(sha256(rotated.value));
    expect(row?.last_used).toBe(clock.now().toISOString());
    expect(Date.parse(row!.expires_at)).toBe((jwtPayload(rotated.value).exp as number) * 1000);
    expect((await me(t.app, res.json().access)).statusCode).toBe(200);
  });

  it('can be chained: each rotated token refreshes once', async () => {
    const s = await loggedIn(t);
    let token = s.refreshToken;
    for (let i = 0; i < 3; i += 1) {
      const res = await refresh(t, { refresh_token: token });
      expect(res.statusCode).toBe(200);
      token = responseCookies(res).refresh_token!.value;
    }
  });

  it('revokes the whole session when an already-rotated refresh token is presented again after the grace window', async () => {
    const s = await loggedIn(t);
    const first = await refresh(t, { refresh_token: s.refreshToken });
    expect(first.statusCode).toBe(200);
    const newAccess = first.json().access as string;
    const newRefresh = responseCookies(first).refresh_token!.value;

    clock.set(new Date(clock.now().getTime() + (t.config.refreshReuseGraceSeconds + 1) * 1000));
    const replay = await refresh(t, { refresh_token: s.refreshToken });
    expect(replay.statusCode).toBe(400);
    expect(typeof replay.json().detail).toBe('string');
    expect((await sessionRow(t.db, s.sessionId))?.revoked_at).not.toBeNull();

    // Everything the session issued is dead: the latest refresh token and every access token.
    expect((await refresh(t, { refresh_token: newRefresh })).statusCode).toBe(400);
    for (const access of [s.access, newAccess]) {
      const res = await me(t.app, access);
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('gives two parallel refreshes with one token the same new refresh token, for the same live session', async () => {
    for (let round = 0; round < 5; round += 1) {
      const s = await loggedIn(t);
      const results = await Promise.all([refresh(t, { refresh_token: s.refreshToken }), refresh(t, { refresh_token: s.refreshToken })]);
      expect(results.map((r) => r.statusCode), `round ${round}`).toEqual([200, 200]);
      const cookies = results.map((r) => responseCookies(r));
      expect(cookies[0]!.refresh_token!.value).toBe(cookies[1]!.refresh_token!.value);
      expect(cookies[0]!.refresh_token!.value).not.toBe(s.refreshToken);
      expect(cookies.map((c) => c.device_id?.value)).toEqual([s.deviceId, s.deviceId]);
      for (const res of results) {
        expect(jwtPayload(res.json().access)).toMatchObject({ sid: s.sessionId, sub: String(s.user.id) });
        expect((await me(t.app, res.json().access)).statusCode).toBe(200);
      }
      const row = await sessionRow(t.db, s.sessionId);
      expect(row?.revoked_at).toBeNull();
      expect(row?.refresh_token_hash).toBe(sha256(cookies[0]!.refresh_token!.value));
      // The shared new token rotates on as usual.
      expect((await refresh(t, { refresh_token: cookies[0]!.refresh_token!.value })).statusCode).toBe(200);
    }
  });

  it('repeats the rotation for the replaced token until REFRESH_REUSE_GRACE_SECONDS have passed, then revokes', async () => {
    const s = await loggedIn(t);
    const first = await refresh(t, { refresh_token: s.refreshToken });
    const rotated = responseCookies(first).refresh_token!.value;
    const start = clock.now().getTime();
    try {
      clock.set(new Date(start + t.config.refreshReuseGraceSeconds * 1000));
      const again = await refresh(t, { refresh_token: s.refreshToken });
      expect(again.statusCode).toBe(200);
      expect(responseCookies(again).refresh_token!.value).toBe(rotated);
      expect((await sessionRow(t.db, s.sessionId))?.revoked_at).toBeNull();

      clock.set(new Date(start + t.config.refreshReuseGraceSeconds * 1000 + 1));
      const late = await refresh(t, { refresh_token: s.refreshToken });
      expect(late.statusCode).toBe(400);
      expect(late.json()).toEqual({ detail: 'Refresh token already used; the session has been revoked' });
      expect((await sessionRow(t.db, s.sessionId))?.revoked_at).not.toBeNull();
      expect((await refresh(t, { refresh_token: rotated })).statusCode).toBe(400);
    } finally {
      clock.set(new Date(start));
    }
  });

  it('repeats only the last rotation: a token two rotations back revokes the session, even within the window', async () => {
    const s = await loggedIn(t);
    const first = await refresh(t, { refresh_token: s.refreshToken });
    const second = await refresh(t, { refresh_token: responseCookies(first).refresh_token!.value });
    expect(second.statusCode).toBe(200);
    const res = await refresh(t, { refresh_token: s.refreshToken });
    expect(res.statusCode).toBe(400);
    expect((await sessionRow(t.db, s.sessionId))?.revoked_at).not.toBeNull();
  });

  it('keeps only hashes of the refresh tokens a rotation and its repetition hand out', async () => {
    const s = await loggedIn(t);
    const first = await refresh(t, { refresh_token: s.refreshToken });
    await refresh(t, { refresh_token: s.refreshToken });
    const stored = JSON.stringify(await authSnapshot(t.db));
    for (const token of [s.refreshToken, responseCookies(first).refresh_token!.value]) {
      expect(stored).not.toContain(token);
      expect(stored).toContain(sha256(token));
    }
  });

  it('ignores an Authorization header, even garbage', async () => {
    const s = await loggedIn(t);
    const res = await refresh(t, { refresh_token: s.refreshToken }, { authorization: 'Bearer garbage' });
    expect(res.statusCode).toBe(200);
  });

  it('answers 400 without a refresh cookie', async () => {
    const res = await refresh(t);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Refresh token missing' });
    expect(setCookieLines(res)).toEqual([]);
  });

  const otherSecret = testConfig({ secretKey: 'another-secret-another-secret-another-secret' });
  it.each<[string, (s: Awaited<ReturnType<typeof loggedIn>>) => string]>([
    ['garbage', () => 'garbage'],
    ['an empty-looking token', () => '..'],
    ['an access token', (s) => s.access],
    ['a token signed with another secret', (s) => issueRefreshToken(otherSecret, s.user.id, s.sessionId).token],
    ['an alg:none token', (s) => craftJwt({ alg: 'none', typ: 'JWT' }, jwtPayload(s.refreshToken), null)],
    ['an HS512-labelled token', (s) => craftJwt({ alg: 'HS512', typ: 'JWT' }, jwtPayload(s.refreshToken), t.config.secretKey)],
    ['a token for another user', (s) => issueRefreshToken(t.config, s.user.id + 1000, s.sessionId, clock.now()).token],
    ['a token for a session that does not exist', (s) => issueRefreshToken(t.config, s.user.id, 999_999, clock.now()).token],
    ['an expired token', (s) => issueRefreshToken(t.config, s.user.id, s.sessionId, new Date(clock.now().getTime() - 4 * 86400_000)).token],
    ['a tampered token', (s) => s.refreshToken.slice(0, -3) + (s.refreshToken.endsWith('AAA') ? 'BBB' : 'AAA')],
  ])('answers 400 to %s and changes nothing', async (_label, make) => {
    const s = await loggedIn(t);
    const cookie = make(s);
    const before = await authSnapshot(t.db);
    const res = await refresh(t, { refresh_token: cookie });
    expect(res.statusCode).toBe(400);
    expect(typeof res.json().detail).toBe('string');
    expect(setCookieLines(res)).toEqual([]);
    expect(await authSnapshot(t.db)).toEqual(before);
    expect((await me(t.app, s.access)).statusCode).toBe(200);
  });

  it('answers 400 for a revoked session (after logout)', async () => {
    const s = await loggedIn(t);
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(s.access) })).statusCode).toBe(200);
    const res = await refresh(t, { refresh_token: s.refreshToken });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Session has been revoked' });
  });

  it('answers 400 once the session has expired, even if the token has not', async () => {
    const s = await loggedIn(t);
    await t.db.updateTable('user_sessions').set({ expires_at: clock.now().toISOString() }).where('id', '=', s.sessionId).execute();
    const res = await refresh(t, { refresh_token: s.refreshToken });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Session has expired' });
  });

  it('answers 400 when the refresh token has expired (3 days)', async () => {
    const s = await loggedIn(t);
    const start = clock.now();
    try {
      clock.set(new Date(start.getTime() + 3 * 86400_000));
      const res = await refresh(t, { refresh_token: s.refreshToken });
      expect(res.statusCode).toBe(400);
    } finally {
      clock.set(start);
    }
  });

  it('answers 400 for a user deactivated behind the API, and rotates nothing', async () => {
    const s = await loggedIn(t);
    await t.db.updateTable('users').set({ is_active: false }).where('id', '=', s.user.id).execute();
    const before = await authSnapshot(t.db);
    const res = await refresh(t, { refresh_token: s.refreshToken });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Inactive user' });
    expect(await authSnapshot(t.db)).toEqual(before);
  });

  it('slides the session: a refresh extends its expiry to a full refresh lifetime from now', async () => {
    const user = await createUser(t.app);
    const session = await createSession(t.app, user, clock.now());
    const start = clock.now();
    try {
      clock.set(new Date(start.getTime() + 2 * 86400_000));
      const res = await refresh(t, { refresh_token: session.refreshToken });
      expect(res.statusCode).toBe(200);
      const row = await sessionRow(t.db, session.sessionId);
      expect(Date.parse(row!.expires_at)).toBe(clock.now().getTime() + 3 * 86400_000);
    } finally {
      clock.set(start);
    }
  });

  it('keeps refresh tokens out of the access path: a refresh token is no bearer token', async () => {
    const s = await loggedIn(t);
    const res = await me(t.app, s.refreshToken);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    // And an access token made for the session is still fine.
    expect((await me(t.app, issueAccessToken(t.config, s.user.id, s.sessionId, clock.now()).token)).statusCode).toBe(200);
  });
});

describe('POST /api/auth/refresh with REFRESH_REUSE_GRACE_SECONDS=0', () => {
  const clock = fixedClock('2030-03-01T12:00:00.000Z');
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ refreshReuseGraceSeconds: 0 }, { clock });
  });
  afterAll(async () => {
    await t.close();
  });

  it('revokes the session at once when a rotated token comes back', async () => {
    const s = await loggedIn(t);
    expect((await refresh(t, { refresh_token: s.refreshToken })).statusCode).toBe(200);
    const replay = await refresh(t, { refresh_token: s.refreshToken });
    expect(replay.statusCode).toBe(400);
    expect((await sessionRow(t.db, s.sessionId))?.revoked_at).not.toBeNull();
  });

  it('lets at most one of two parallel refreshes with one token succeed', async () => {
    const s = await loggedIn(t);
    const results = await Promise.all([refresh(t, { refresh_token: s.refreshToken }), refresh(t, { refresh_token: s.refreshToken })]);
    expect(results.filter((r) => r.statusCode === 200).length).toBeLessThanOrEqual(1);
    expect(results.some((r) => r.statusCode === 400)).toBe(true);
  });
});
