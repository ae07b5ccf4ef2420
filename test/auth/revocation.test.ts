// An access token stops working the moment its session is revoked, whichever way that happens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createUser, createUserWithSession, DEFAULT_PASSWORD } from '../helpers/factories.js';
import { bearer, jwtPayload, loginRequest, me, responseCookies } from '../helpers/auth.js';

describe('revocation of live access tokens', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Reuse is detected at once here; the grace window for parallel refreshes is tested in refresh.test.ts.
    t = await buildTestApp({ maxSessionsPerUser: 3, refreshReuseGraceSeconds: 0 });
  });
  afterAll(async () => {
    await t.close();
  });

  async function loginTwice() {
    const user = await createUser(t.app);
    const a = await loginRequest(t.app, user.username, DEFAULT_PASSWORD);
    const b = await loginRequest(t.app, user.username, DEFAULT_PASSWORD);
    const session = (res: typeof a) => ({
      access: res.json().access as string,
      refresh: responseCookies(res).refresh_token!.value,
      sid: jwtPayload(res.json().access).sid as number,
    });
    const first = session(a);
    const second = session(b);
    expect((await me(t.app, first.access)).statusCode).toBe(200);
    expect((await me(t.app, second.access)).statusCode).toBe(200);
    return { user, first, second };
  }

  const rejected = async (token: string) => {
    const res = await me(t.app, token);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  };

  it('by logout', async () => {
    const { first, second } = await loginTwice();
    await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(first.access) });
    await rejected(first.access);
    expect((await me(t.app, second.access)).statusCode).toBe(200);
  });

  it('by logout-all', async () => {
    const { first, second } = await loginTwice();
    await t.app.inject({ method: 'POST', url: '/api/auth/logout-all', headers: bearer(first.access) });
    await rejected(first.access);
    await rejected(second.access);
  });

  it('by eviction when the session limit is exceeded', async () => {
    const { user, first, second } = await loginTwice();
    await loginRequest(t.app, user.username, DEFAULT_PASSWORD);
    await loginRequest(t.app, user.username, DEFAULT_PASSWORD);
    await rejected(first.access);
    expect((await me(t.app, second.access)).statusCode).toBe(200);
  });

  it('by refresh-token reuse detection', async () => {
    const { first, second } = await loginTwice();
    const rotated = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { refresh_token: first.refresh } });
    expect(rotated.statusCode).toBe(200);
    const replay = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { refresh_token: first.refresh } });
    expect(replay.statusCode).toBe(400);
    await rejected(first.access);
    await rejected(rotated.json().access);
    expect((await me(t.app, second.access)).statusCode).toBe(200);
  });

  it('by a password change (every other session)', async () => {
    const { first, second } = await loginTwice();
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/api/auth/users/me',
      headers: bearer(first.access),
      payload: { current_password: DEFAULT_PASSWORD, new_password: 'a-brand-new-password' },
    });
    expect(res.statusCode).toBe(200);
    await rejected(second.access);
    expect((await me(t.app, first.access)).statusCode).toBe(200);
    const refreshed = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { refresh_token: second.refresh } });
    expect(refreshed.statusCode).toBe(400);
  });

  it('by deactivation by a manager (every session)', async () => {
    const { user, first, second } = await loginTwice();
    const manager = await createUserWithSession(t.app, { role: 'manager' });
    const res = await t.app.inject({ method: 'PATCH', url: `/api/auth/users/${user.id}`, headers: manager.headers, payload: { is_active: false } });
    expect(res.statusCode).toBe(200);
    await rejected(first.access);
    await rejected(second.access);
    const refreshed = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { refresh_token: first.refresh } });
    expect(refreshed.statusCode).toBe(400);
    expect(refreshed.json()).toEqual({ detail: 'Inactive user' });
  });
});
