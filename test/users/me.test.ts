import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/lib/hash.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createSession, createUserWithSession, DEFAULT_PASSWORD } from '../helpers/factories.js';
import { authSnapshot, me } from '../helpers/auth.js';

const USER_KEYS = ['created_at', 'email', 'email_verified', 'id', 'is_active', 'role', 'timezone', 'username'];

describe('GET /api/auth/users/me', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('returns exactly the public user fields, created_at in UTC with Z', async () => {
    const { user, accessToken } = await createUserWithSession(t.app, { role: 'auditor', timezone: 'Asia/Kolkata' });
    const res = await me(t.app, accessToken);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(USER_KEYS);
    expect(body).toMatchObject({
      id: user.id,
      username: user.username,
      email: user.email,
      role: 'auditor',
      timezone: 'Asia/Kolkata',
      email_verified: true,
      is_active: true,
    });
    expect(body.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    expect(res.body).not.toContain('$2');
  });

  it('answers with a trailing slash too', async () => {
    const { headers } = await createUserWithSession(t.app);
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/users/me/', headers })).statusCode).toBe(200);
  });
});

describe('PATCH /api/auth/users/me', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const patch = (headers: Record<string, string>, payload: unknown) =>
    t.app.inject({
      method: 'PATCH',
      url: '/api/auth/users/me',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });

  it('keeps the e-mail until the new address is verified (see email-change.test.ts)', async () => {
    const { user, headers } = await createUserWithSession(t.app);
    const res = await patch(headers, { email: `changed.${user.username}@example.org` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ email: user.email, email_verified: true });
    const row = await t.db.selectFrom('users').select(['email', 'email_verified']).where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.email).toBe(user.email);
    expect(Boolean(row.email_verified)).toBe(true);
  });

  it('accepts its own e-mail in another case', async () => {
    const { user, headers } = await createUserWithSession(t.app);
    const res = await patch(headers, { email: user.email.toUpperCase() });
    expect(res.statusCode).toBe(200);
  });

  it("answers 400 for another user's e-mail, in any case, and changes nothing", async () => {
    const { headers } = await createUserWithSession(t.app);
    const other = await createUserWithSession(t.app);
    const before = await authSnapshot(t.db);
    const res = await patch(headers, { email: other.user.email.toUpperCase() });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Email already registered' });
    expect(await authSnapshot(t.db)).toEqual(before);
  });

  it.each(['manager', 'auditor'] as const)('lets a %s change their own timezone (aliases included)', async (role) => {
    const { headers } = await createUserWithSession(t.app, { role });
    for (const timezone of ['Asia/Kolkata', 'Etc/GMT+5', 'US/Pacific', 'America/Argentina/Buenos_Aires']) {
      const res = await patch(headers, { timezone });
      expect(res.statusCode).toBe(200);
      expect(res.json().timezone).toBe(timezone);
    }
  });

  it.each([
    ['asia/kolkata', 'Asia/Kolkata'],
    ['etc/gmt-8', 'Etc/GMT-8'],
    ['us/eastern', 'US/Eastern'],
  ])('stores the timezone %s in its official IANA spelling %s', async (typed, stored) => {
    const { user, headers } = await createUserWithSession(t.app, { role: 'manager' });
    const res = await patch(headers, { timezone: typed });
    expect(res.statusCode).toBe(200);
    expect(res.json().timezone).toBe(stored);
    const row = await t.db.selectFrom('users').select('timezone').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.timezone).toBe(stored);
  });

  it('answers 403 when a developer changes their timezone, and changes nothing', async () => {
    const { headers } = await createUserWithSession(t.app, { role: 'developer', timezone: 'UTC' });
    const before = await authSnapshot(t.db);
    const res = await patch(headers, { timezone: 'Asia/Tokyo' });
    expect(res.statusCode).toBe(403);
    expect(typeof res.json().detail).toBe('string');
    expect(await authSnapshot(t.db)).toEqual(before);
  });

  it('lets a developer send back their current timezone with other changes', async () => {
    const { user, headers } = await createUserWithSession(t.app, { role: 'developer', timezone: 'Europe/Paris' });
    const res = await patch(headers, { timezone: 'Europe/Paris', email: `dev.${user.username}@example.net` });
    expect(res.statusCode).toBe(200);
  });

  it('changes the password with the right current one and revokes every other session', async () => {
    const { user, headers, accessToken } = await createUserWithSession(t.app);
    const other = await createSession(t.app, user);
    const third = await createSession(t.app, user);
    const res = await patch(headers, { current_password: DEFAULT_PASSWORD, new_password: 'brand-new-secret' });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('brand-new-secret');
    const row = await t.db.selectFrom('users').select('hashed_password').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(await verifyPassword('brand-new-secret', row.hashed_password)).toBe(true);
    expect(await verifyPassword(DEFAULT_PASSWORD, row.hashed_password)).toBe(false);
    expect((await me(t.app, accessToken)).statusCode).toBe(200);
    expect((await me(t.app, other.accessToken)).statusCode).toBe(401);
    expect((await me(t.app, third.accessToken)).statusCode).toBe(401);
  });

  it('answers 400 for a wrong current password and changes nothing', async () => {
    const { user, headers } = await createUserWithSession(t.app);
    const other = await createSession(t.app, user);
    const before = await authSnapshot(t.db);
    const res = await patch(headers, { current_password: 'not-my-password', new_password: 'brand-new-secret' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Incorrect current password' });
    expect(await authSnapshot(t.db)).toEqual(before);
    expect((await me(t.app, other.accessToken)).statusCode).toBe(200);
  });

  it('applies nothing when one part of the change fails (the e-mail is not changed by a failed password change)', async () => {
    const { user, headers } = await createUserWithSession(t.app);
    const res = await patch(headers, { email: `never.${user.username}@example.com`, current_password: 'wrong-one', new_password: 'brand-new-secret' });
    expect(res.statusCode).toBe(400);
    const row = await t.db.selectFrom('users').select('email').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.email).toBe(user.email);
  });

  it('ignores unknown and read-only fields: no one grants themselves a role or activity', async () => {
    const { user, headers } = await createUserWithSession(t.app, { role: 'developer' });
    const res = await patch(headers, { role: 'manager', is_active: true, email_verified: false, id: 1, username: 'hijack', hashed_password: 'x' });
    expect(res.statusCode).toBe(200);
    const row = await t.db.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.role).toBe('developer');
    expect(row.username).toBe(user.username);
    expect(Boolean(row.email_verified)).toBe(true);
    expect(row.hashed_password).not.toBe('x');
  });

  it.each([
    ['new_password without current_password', { new_password: 'brand-new-secret' }, 'current_password'],
    ['current_password without new_password', { current_password: DEFAULT_PASSWORD }, 'new_password'],
    ['a new password of 7 characters', { current_password: DEFAULT_PASSWORD, new_password: 'short12' }, 'new_password'],
    ['a new password of 101 characters', { current_password: DEFAULT_PASSWORD, new_password: 'x'.repeat(101) }, 'new_password'],
    ['a numeric new password', { current_password: DEFAULT_PASSWORD, new_password: 123456789 }, 'new_password'],
    ['an invalid e-mail', { email: 'not-an-address' }, 'email'],
    ['a numeric e-mail', { email: 5 }, 'email'],
    ['an unknown timezone', { timezone: 'Nowhere/Special' }, 'timezone'],
    ['a SystemV timezone', { timezone: 'SystemV/AST4' }, 'timezone'],
    ['a numeric timezone', { timezone: 3 }, 'timezone'],
    ['a null timezone', { timezone: null }, 'timezone'],
  ])('answers 422 for %s and changes nothing', async (_label, payload, field) => {
    const { headers } = await createUserWithSession(t.app, { role: 'manager' });
    const before = await authSnapshot(t.db);
    const res = await patch(headers, payload);
    expect(res.statusCode).toBe(422);
    expect(typeof res.json().detail).toBe('string');
    expect(res.json().errors[0].loc).toEqual(['body', field]);
    expect(await authSnapshot(t.db)).toEqual(before);
  });

  it.each([
    ['an array', []],
    ['a string', 'x'],
    ['a number', 42],
  ])('answers 422 when the body is %s', async (_label, payload) => {
    const { headers } = await createUserWithSession(t.app);
    const res = await patch(headers, payload);
    expect(res.statusCode).toBe(422);
    expect(typeof res.json().detail).toBe('string');
  });

  it('answers 200 and changes nothing for an empty object', async () => {
    const { headers } = await createUserWithSession(t.app);
    const before = await authSnapshot(t.db);
    const res = await patch(headers, {});
    expect(res.statusCode).toBe(200);
    expect(await authSnapshot(t.db)).toEqual(before);
  });

  it('needs a valid access token', async () => {
    const res = await t.app.inject({ method: 'PATCH', url: '/api/auth/users/me', payload: { email: 'a@b.co' } });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });
});
