import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { fixedClock } from '../../src/lib/clock.js';
import { issueAccessToken } from '../../src/modules/auth/tokens.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createSession, createUser, createUserWithSession, type TestSession, type TestUser } from '../helpers/factories.js';
import { authSnapshot, bearer, craftJwt, jwtPayload, me } from '../helpers/auth.js';

describe('the access-token guard', () => {
  let t: TestApp;
  let user: TestUser;
  let session: TestSession;
  beforeAll(async () => {
    t = await buildTestApp();
    ({ user, ...session } = await createUserWithSession(t.app));
  });
  afterAll(async () => {
    await t.close();
  });

  const otherSecret = testConfig({ secretKey: 'a-completely-different-secret-of-sufficient-length' });
  const claims = () => jwtPayload(session.accessToken);
  it.each<[string, () => Record<string, string>]>([
    ['no Authorization header', () => ({})],
    ['an empty Authorization header', () => ({ authorization: '' })],
    ['a Basic scheme', () => ({ authorization: 'Basic dXNlcjpwYXNz' })],
    ['"Bearer" without a token', () => ({ authorization: 'Bearer' })],
    ['a garbage token', () => bearer('garbage')],
    ['a token with two parts', () => bearer('abc.def')],
    ['a token with non-JSON parts', () => bearer('abc.def.ghi')],
    ['a token signed with another secret', () => bearer(issueAccessToken(otherSecret, user.id, session.sessionId).token)],
    ['an alg:none token', () => bearer(craftJwt({ alg: 'none', typ: 'JWT' }, claims(), null))],
    ['an alg:none token carrying a signature', () => bearer(craftJwt({ alg: 'none', typ: 'JWT' }, claims(), t.config.secretKey))],
    ['an HS512-labelled token', () => bearer(craftJwt({ alg: 'HS512', typ: 'JWT' }, claims(), t.config.secretKey))],
    ['a refresh token', () => bearer(session.refreshToken)],
    ['an expired token', () => bearer(issueAccessToken(t.config, user.id, session.sessionId, new Date(Date.now() - 21 * 60_000)).token)],
    ['a token for a session that does not exist', () => bearer(issueAccessToken(t.config, user.id, 987_654).token)],
    ['a token whose user does not own the session', () => bearer(issueAccessToken(t.config, user.id + 1, session.sessionId).token)],
    ['a token without a session id', () => bearer(craftJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims(), sid: undefined }, t.config.secretKey))],
    ['a token with a non-numeric subject', () => bearer(craftJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims(), sub: 'admin' }, t.config.secretKey))],
    ['a token of unknown type', () => bearer(craftJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims(), type: 'admin' }, t.config.secretKey))],
    ['a token without expiry', () => bearer(craftJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims(), exp: undefined }, t.config.secretKey))],
    ['an overlong token', () => bearer('a'.repeat(5000))],
  ])('answers 401 with WWW-Authenticate: Bearer for %s, and changes nothing', async (_label, headers) => {
    const before = await authSnapshot(t.db);
    const res = await t.app.inject({ method: 'GET', url: '/api/auth/users/me', headers: headers() });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(typeof res.json().detail).toBe('string');
    expect(res.headers['x-new-access-token']).toBeUndefined();
    expect(await authSnapshot(t.db)).toEqual(before);
  });

  it('accepts the valid token (the control case)', async () => {
    expect((await me(t.app, session.accessToken)).statusCode).toBe(200);
  });

  it.each([
    ['an unverified user', { verified: false }, 'Email not verified'],
    ['an inactive user', { active: false }, 'Inactive user'],
  ])('answers 403 to %s holding a live session', async (_label, options, detail) => {
    const other = await createUserWithSession(t.app, options);
    const res = await me(t.app, other.accessToken);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ detail });
  });

  it('rejects a token whose session row was deleted', async () => {
    const other = await createUserWithSession(t.app);
    await t.db.deleteFrom('user_sessions').where('id', '=', other.sessionId).execute();
    expect((await me(t.app, other.accessToken)).statusCode).toBe(401);
  });

  it('rejects a token whose session has expired, even if the token has not', async () => {
    const other = await createUserWithSession(t.app);
    await t.db.updateTable('user_sessions').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('id', '=', other.sessionId).execute();
    expect((await me(t.app, other.accessToken)).statusCode).toBe(401);
  });

  it.each([
    ['developer', 403],
    ['auditor', 403],
    ['manager', 200],
  ] as const)('requireRole("manager") answers %s with %i', async (role, status) => {
    const actor = await createUserWithSession(t.app, { role });
    const target = await createUser(t.app);
    const res = await t.app.inject({ method: 'PATCH', url: `/api/auth/users/${target.id}`, headers: actor.headers, payload: {} });
    expect(res.statusCode).toBe(status);
    if (status === 403) expect(typeof res.json().detail).toBe('string');
  });

  it('checks authentication before the body: an anonymous garbage body is a 401, not a 422', async () => {
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/api/auth/users/me',
      headers: { 'content-type': 'application/json' },
      payload: '[1,2,3]',
    });
    expect(res.statusCode).toBe(401);
  });
});

describe('X-New-Access-Token', () => {
  const clock = fixedClock('2030-06-01T09:00:00.000Z');
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ allowedOrigins: ['http://localhost:5173'] }, { clock });
  });
  afterAll(async () => {
    await t.close();
  });

  const issuedAgo = (seconds: number) => new Date(clock.now().getTime() - seconds * 1000);

  it('carries a fresh token for the same session when 120 s or less are left', async () => {
    const user = await createUser(t.app);
    const s = await createSession(t.app, user, clock.now());
    const old = issueAccessToken(t.config, user.id, s.sessionId, issuedAgo(20 * 60 - 120)).token;
    const res = await t.app.inject({ method: 'GET', url: '/api/auth/users/me', headers: { ...bearer(old), origin: 'http://localhost:5173' } });
    expect(res.statusCode).toBe(200);
    const renewed = res.headers['x-new-access-token'] as string;
    expect(renewed).toBeDefined();
    expect(jwtPayload(renewed)).toMatchObject({ sid: s.sessionId, sub: String(user.id), type: 'access' });
    expect(jwtPayload(renewed).exp).toBe(Math.floor(clock.now().getTime() / 1000) + 1200);
    expect(String(res.headers['access-control-expose-headers'])).toContain('X-New-Access-Token');
    expect((await me(t.app, renewed)).statusCode).toBe(200);
  });

  it('is absent while more than 120 s are left', async () => {
    const user = await createUser(t.app);
    const s = await createSession(t.app, user, clock.now());
    const token = issueAccessToken(t.config, user.id, s.sessionId, issuedAgo(20 * 60 - 121)).token;
    const res = await me(t.app, token);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-new-access-token']).toBeUndefined();
  });

  it('is absent on an error response', async () => {
    const user = await createUser(t.app);
    const s = await createSession(t.app, user, clock.now());
    const old = issueAccessToken(t.config, user.id, s.sessionId, issuedAgo(20 * 60 - 60)).token;
    const res = await t.app.inject({ method: 'PATCH', url: '/api/auth/users/me', headers: bearer(old), payload: { email: 'bad' } });
    expect(res.statusCode).toBe(422);
    expect(res.headers['x-new-access-token']).toBeUndefined();
  });

  it.each(['/api/auth/logout', '/api/auth/logout-all'])('is not sent by %s, whose session just ended', async (url) => {
    const user = await createUser(t.app);
    const s = await createSession(t.app, user, clock.now());
    const old = issueAccessToken(t.config, user.id, s.sessionId, issuedAgo(20 * 60 - 60)).token;
    const res = await t.app.inject({ method: 'POST', url, headers: bearer(old) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-new-access-token']).toBeUndefined();
  });

  it('is never issued for a revoked session', async () => {
    const user = await createUser(t.app);
    const s = await createSession(t.app, user, clock.now());
    await t.db.updateTable('user_sessions').set({ revoked_at: clock.now().toISOString() }).where('id', '=', s.sessionId).execute();
    const old = issueAccessToken(t.config, user.id, s.sessionId, issuedAgo(20 * 60 - 60)).token;
    const res = await me(t.app, old);
    expect(res.statusCode).toBe(401);
    expect(res.headers['x-new-access-token']).toBeUndefined();
  });
});
