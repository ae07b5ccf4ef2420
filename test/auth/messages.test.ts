// A refused access token says why: expired, forged, or its session ended (and how), each a 401 with
// WWW-Authenticate: Bearer; a wrong password at login stays a 400.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { issueRefreshToken } from '../../src/modules/auth/tokens.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createUser, createUserWithSession, DEFAULT_PASSWORD } from '../helpers/factories.js';
import { bearer, craftJwt, jwtPayload, loginRequest, me } from '../helpers/auth.js';

describe('auth messages', () => {
  const clock = fixedClock(new Date());
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ maxSessionsPerUser: 3, accessTokenExpireMinutes: 20 }, { clock });
  });
  afterAll(async () => {
    await t.close();
  });

  async function refused(token: string, detail: string) {
    const res = await me(t.app, token);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.json()).toEqual({ detail });
  }

  async function logins(count: number) {
    const user = await createUser(t.app);
    const tokens: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const res = await loginRequest(t.app, user.username, DEFAULT_PASSWORD);
      expect(res.statusCode).toBe(200);
      tokens.push(res.json().access as string);
    }
    return { user, tokens };
  }

  const reasonOf = async (token: string) =>
    (
      await t.db
        .selectFrom('user_sessions')
        .select(['revoked_at', 'revoked_reason'])
        .where('id', '=', jwtPayload(token).sid as number)
        .executeTakeFirstOrThrow()
    ).revoked_reason;

  it('answers "Token has expired" to an expired access token', async () => {
    const { accessToken } = await createUserWithSession(t.app);
    const issuedAt = clock.now();
    try {
      clock.set(new Date(issuedAt.getTime() + 21 * 60 * 1000));
      await refused(accessToken, 'Token has expired');
    } finally {
      clock.set(issuedAt);
    }
  });

  it('answers "Token has expired" to an access token accepted a moment before (kept verified tokens expire on time)', async () => {
    const { accessToken } = await createUserWithSession(t.app);
    const issuedAt = clock.now();
    const expiresAt = (jwtPayload(accessToken).exp as number) * 1000;
    try {
      expect((await me(t.app, accessToken)).statusCode).toBe(200);
      clock.set(new Date(expiresAt - 1000));
      expect((await me(t.app, accessToken)).statusCode).toBe(200);
      clock.set(new Date(expiresAt));
      await refused(accessToken, 'Token has expired');
    } finally {
      clock.set(issuedAt);
    }
  });

  it('answers a generic message to a forged, a malformed or an expired refresh token', async () => {
    const { user, sessionId, refreshToken } = await createUserWithSession(t.app);
    const past = Math.floor(clock.now().getTime() / 1000) - 60;
    const forged = craftJwt({ alg: 'HS256', typ: 'JWT' }, { sub: String(user.id), sid: sessionId, jti: 'x', type: 'access', iat: past - 60, exp: past }, 'not-our-secret-0123456789abcdef0123');
    await refused(forged, 'Could not validate credentials');
    await refused('not.a.token', 'Could not validate credentials');
    await refused(refreshToken, 'Could not validate credentials');
    const expiredRefresh = issueRefreshToken(t.config, user.id, sessionId, new Date(clock.now().getTime() - 4 * 86_400_000)).token;
    await refused(expiredRefresh, 'Could not validate credentials');
  });

  it('tells a session evicted by the device cap so', async () => {
    const { tokens } = await logins(4);
    await refused(tokens[0]!, 'Session ended: signed in on too many devices');
    expect(await reasonOf(tokens[0]!)).toBe('device_limit');
    expect((await me(t.app, tokens[3]!)).statusCode).toBe(200);
  });

  it('tells the sessions ended by logout-all so', async () => {
    const { tokens } = await logins(2);
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout-all', headers: bearer(tokens[1]!) })).statusCode).toBe(200);
    await refused(tokens[0]!, 'Session ended: logged out from all devices');
    await refused(tokens[1]!, 'Session ended: logged out from all devices');
  });

  it('tells a logged-out session so', async () => {
    const { tokens } = await logins(1);
    await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(tokens[0]!) });
    await refused(tokens[0]!, 'Session ended: logged out');
  });

  it('tells the other sessions of a password change so', async () => {
    const { tokens } = await logins(2);
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/api/auth/users/me',
      headers: bearer(tokens[1]!),
      payload: { current_password: DEFAULT_PASSWORD, new_password: 'Brand-new-passw0rd' },
    });
    expect(res.statusCode).toBe(200);
    await refused(tokens[0]!, 'Session ended: password changed');
    expect(await reasonOf(tokens[0]!)).toBe('password_changed');
    expect((await me(t.app, tokens[1]!)).statusCode).toBe(200);
  });

  it('tells the sessions of a deactivated user so', async () => {
    const { user, tokens } = await logins(1);
    const manager = await createUserWithSession(t.app, { role: 'manager' });
    const res = await t.app.inject({ method: 'PATCH', url: `/api/auth/users/${user.id}`, headers: manager.headers, payload: { is_active: false } });
    expect(res.statusCode).toBe(200);
    await refused(tokens[0]!, 'Session ended: account deactivated');
  });

  it('keeps a wrong password a 400', async () => {
    const user = await createUser(t.app);
    const res = await loginRequest(t.app, user.username, 'Wrong-passw0rd');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Incorrect username or password' });
  });
});
