import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createSession, createUser, createUserWithSession, DEFAULT_PASSWORD } from '../helpers/factories.js';
import { authSnapshot, bearer, jwtPayload, liveSessions, loginRequest, me, responseCookies, sessionRow, setCookieLines } from '../helpers/auth.js';

const post = (t: TestApp, url: string, token?: string, extra: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url, headers: { ...(token ? bearer(token) : {}), ...extra } });

describe('logout and logout-all', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('logout revokes the current session only, clears both cookies and kills its access token at once', async () => {
    const { user, accessToken, sessionId } = await createUserWithSession(t.app);
    const other = await createSession(t.app, user);
    const res = await post(t, '/api/auth/logout', accessToken);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ detail: 'Logged out successfully' });

    const cleared = responseCookies(res);
    for (const name of ['refresh_token', 'device_id']) {
      expect(cleared[name]).toMatchObject({ value: '', path: '/api/auth', maxAge: 0 });
    }
    expect((await sessionRow(t.db, sessionId))?.revoked_at).not.toBeNull();
    expect((await sessionRow(t.db, other.sessionId))?.revoked_at).toBeNull();
    expect((await me(t.app, accessToken)).statusCode).toBe(401);
    expect((await me(t.app, other.accessToken)).statusCode).toBe(200);
  });

  it('logout accepts an empty JSON body and a trailing slash', async () => {
    const { accessToken } = await createUserWithSession(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout/',
      headers: { ...bearer(accessToken), 'content-type': 'application/json' },
      payload: '',
    });
    expect(res.statusCode).toBe(200);
  });

  it('logout-all revokes every session of the user and none of anyone else', async () => {
    const { user, accessToken } = await createUserWithSession(t.app);
    const second = await createSession(t.app, user);
    const bystander = await createUserWithSession(t.app);
    const res = await post(t, '/api/auth/logout-all', second.accessToken);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ detail: 'Logged out from all devices' });
    expect(setCookieLines(res).join('\n')).toContain('refresh_token=;');
    expect(await liveSessions(t.db, user.id)).toEqual([]);
    expect((await me(t.app, accessToken)).statusCode).toBe(401);
    expect((await me(t.app, second.accessToken)).statusCode).toBe(401);
    expect((await me(t.app, bystander.accessToken)).statusCode).toBe(200);
  });

  it.each(['/api/auth/logout', '/api/auth/logout-all'])('%s answers 401 with WWW-Authenticate and changes nothing without a valid token', async (url) => {
    await createUserWithSession(t.app);
    const before = await authSnapshot(t.db);
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Basic dXNlcjpwYXNz' }]) {
      const res = await t.app.inject({ method: 'POST', url, headers });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(typeof res.json().detail).toBe('string');
    }
    expect(await authSnapshot(t.db)).toEqual(before);
  });

  it('a second logout with the same token is a 401', async () => {
    const { accessToken } = await createUserWithSession(t.app);
    expect((await post(t, '/api/auth/logout', accessToken)).statusCode).toBe(200);
    expect((await post(t, '/api/auth/logout', accessToken)).statusCode).toBe(401);
  });
});

describe('GET and DELETE /api/auth/sessions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it("lists the caller's live sessions, marking the current one", async () => {
    const { user, accessToken, sessionId } = await createUserWithSession(t.app);
    const second = await createSession(t.app, user);
    const revoked = await createSession(t.app, user);
    await t.db.updateTable('user_sessions').set({ revoked_at: new Date().toISOString() }).where('id', '=', revoked.sessionId).execute();
    const expired = await createSession(t.app, user, new Date(Date.now() - 4 * 86400_000));
    await createUserWithSession(t.app);

    const res = await t.app.inject({ method: 'GET', url: '/api/auth/sessions/', headers: bearer(accessToken) });
    expect(res.statusCode).toBe(200);
    const list = res.json() as Array<Record<string, unknown>>;
    expect(list.map((s) => s.id).sort()).toEqual([sessionId, second.sessionId].sort());
    expect(list.map((s) => s.id)).not.toContain(expired.sessionId);
    const current = list.find((s) => s.id === sessionId)!;
    expect(current).toMatchObject({ current: true, device_id: expect.any(String), user_agent: 'vitest', ip: '127.0.0.1' });
    expect(current.created_at).toMatch(/Z$/);
    expect(current.last_used).toMatch(/Z$/);
    expect(list.find((s) => s.id === second.sessionId)?.current).toBe(false);
    expect(JSON.stringify(list)).not.toContain('refresh_token_hash');
  });

  it('DELETE revokes another session of the caller (204) and its token stops working', async () => {
    const { user, accessToken } = await createUserWithSession(t.app);
    const other = await createSession(t.app, user);
    const res = await t.app.inject({ method: 'DELETE', url: `/api/auth/sessions/${other.sessionId}`, headers: bearer(accessToken) });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect((await sessionRow(t.db, other.sessionId))?.revoked_at).not.toBeNull();
    expect((await me(t.app, other.accessToken)).statusCode).toBe(401);
    expect((await me(t.app, accessToken)).statusCode).toBe(200);
  });

  it('DELETE of the current session logs it out and clears the cookies', async () => {
    const { accessToken, sessionId } = await createUserWithSession(t.app);
    const res = await t.app.inject({ method: 'DELETE', url: `/api/auth/sessions/${sessionId}/`, headers: bearer(accessToken) });
    expect(res.statusCode).toBe(204);
    expect(responseCookies(res).refresh_token).toMatchObject({ value: '', maxAge: 0 });
    expect((await me(t.app, accessToken)).statusCode).toBe(401);
  });

  it('DELETE answers 404 for a session of another user, a revoked one and an unknown id, changing nothing', async () => {
    const { user, accessToken } = await createUserWithSession(t.app);
    const stranger = await createUserWithSession(t.app);
    const revoked = await createSession(t.app, user);
    await t.db.updateTable('user_sessions').set({ revoked_at: new Date().toISOString() }).where('id', '=', revoked.sessionId).execute();
    const before = await authSnapshot(t.db);
    for (const id of [stranger.sessionId, revoked.sessionId, 987654]) {
      const res = await t.app.inject({ method: 'DELETE', url: `/api/auth/sessions/${id}`, headers: bearer(accessToken) });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ detail: 'Session not found' });
    }
    expect(await authSnapshot(t.db)).toEqual(before);
    expect((await me(t.app, stranger.accessToken)).statusCode).toBe(200);
  });

  it.each(['abc', '0', '-1', '1.5', '99999999999'])('DELETE answers 422 for the id %s', async (id) => {
    const { accessToken } = await createUserWithSession(t.app);
    const before = await authSnapshot(t.db);
    const res = await t.app.inject({ method: 'DELETE', url: `/api/auth/sessions/${id}`, headers: bearer(accessToken) });
    expect(res.statusCode).toBe(422);
    expect(typeof res.json().detail).toBe('string');
    expect(await authSnapshot(t.db)).toEqual(before);
  });

  it('both need a valid access token', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/sessions' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'DELETE', url: '/api/auth/sessions/1' })).statusCode).toBe(401);
  });
});

describe('session limit (MAX_SESSIONS_PER_USER = 3)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const logIn = async (username: string) => {
    const res = await loginRequest(t.app, username, DEFAULT_PASSWORD);
    expect(res.statusCode).toBe(200);
    return { access: res.json().access as string, sid: jwtPayload(res.json().access).sid as number };
  };

  it('the fourth login evicts the least recently used session, whose token stops working', async () => {
    const user = await createUser(t.app);
    const a = await logIn(user.username);
    const b = await logIn(user.username);
    const c = await logIn(user.username);
    // a was used most recently, so b is now the least recently used.
    const base = Date.now();
    await t.db.updateTable('user_sessions').set({ last_used: new Date(base + 3000).toISOString() }).where('id', '=', a.sid).execute();
    await t.db.updateTable('user_sessions').set({ last_used: new Date(base + 1000).toISOString() }).where('id', '=', b.sid).execute();
    await t.db.updateTable('user_sessions').set({ last_used: new Date(base + 2000).toISOString() }).where('id', '=', c.sid).execute();

    const d = await logIn(user.username);
    const live = await liveSessions(t.db, user.id);
    expect(live.map((s) => s.id).sort()).toEqual([a.sid, c.sid, d.sid].sort());
    expect((await sessionRow(t.db, b.sid))?.revoked_at).not.toBeNull();
    expect((await me(t.app, b.access)).statusCode).toBe(401);
    expect((await me(t.app, a.access)).statusCode).toBe(200);
  });

  it('never leaves more than 3 live sessions after 20 parallel logins', async () => {
    const user = await createUser(t.app);
    const results = await Promise.all(Array.from({ length: 20 }, () => loginRequest(t.app, user.username, DEFAULT_PASSWORD)));
    expect(results.every((r) => r.statusCode === 200)).toBe(true);
    const live = await liveSessions(t.db, user.id);
    expect(live.length).toBeLessThanOrEqual(3);
    expect(live).toHaveLength(3);
    const working = [];
    for (const r of results) if ((await me(t.app, r.json().access)).statusCode === 200) working.push(r);
    expect(working.length).toBe(live.length);
  });

  it('does not count expired sessions, and deletes them (and revoked ones) at login', async () => {
    const user = await createUser(t.app);
    const old = new Date(Date.now() - 4 * 86400_000);
    const expired = [await createSession(t.app, user, old), await createSession(t.app, user, old), await createSession(t.app, user, old)];
    const live1 = await createSession(t.app, user);
    const revoked = await createSession(t.app, user);
    await t.db.updateTable('user_sessions').set({ revoked_at: new Date().toISOString() }).where('id', '=', revoked.sessionId).execute();

    const fresh = await logIn(user.username);
    const rows = await t.db.selectFrom('user_sessions').select('id').where('user_id', '=', user.id).orderBy('id').execute();
    expect(rows.map((r) => r.id)).toEqual([live1.sessionId, fresh.sid]);
    for (const e of expired) expect(await sessionRow(t.db, e.sessionId)).toBeUndefined();
  });
});

// Its own suite: the app above is closed first (one test database at a time per file).
describe('a different MAX_SESSIONS_PER_USER', () => {
  it('keeps only the newest session when the limit is 1', async () => {
    const one = await buildTestApp({ maxSessionsPerUser: 1 });
    try {
      const user = await createUser(one.app);
      const first = await loginRequest(one.app, user.username, DEFAULT_PASSWORD);
      const second = await loginRequest(one.app, user.username, DEFAULT_PASSWORD);
      expect((await me(one.app, first.json().access)).statusCode).toBe(401);
      expect((await me(one.app, second.json().access)).statusCode).toBe(200);
      expect(await liveSessions(one.db, user.id)).toHaveLength(1);
    } finally {
      await one.close();
    }
  });
});
