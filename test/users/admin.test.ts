import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createSession, createUser, createUserWithSession, type TestUser } from '../helpers/factories.js';
import { authSnapshot, liveSessions, me } from '../helpers/auth.js';

describe('PATCH /api/auth/users/{id}', () => {
  let t: TestApp;
  let manager: Awaited<ReturnType<typeof createUserWithSession>>;
  beforeAll(async () => {
    t = await buildTestApp();
    manager = await createUserWithSession(t.app, { role: 'manager' });
  });
  afterAll(async () => {
    await t.close();
  });

  const patch = (target: number | string, payload: unknown, headers = manager.headers) =>
    t.app.inject({
      method: 'PATCH',
      url: `/api/auth/users/${target}`,
      headers: { ...headers, 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });

  it.each(['manager', 'auditor', 'developer'] as const)('lets a manager make a developer %s', async (role) => {
    const dev = await createUser(t.app, { role: 'developer' });
    const res = await patch(dev.id, { role });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: dev.id, role });
    const row = await t.db.selectFrom('users').select('role').where('id', '=', dev.id).executeTakeFirstOrThrow();
    expect(row.role).toBe(role);
  });

  it.each(['manager', 'auditor'] as const)(
    'answers 404 and changes nothing for a %s, whom a manager cannot see',
    async (role) => {
      const other = await createUser(t.app, { role });
      const res = await patch(other.id, { role: 'developer', is_active: false });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ detail: 'User not found' });
      const row = await t.db.selectFrom('users').select(['role', 'is_active']).where('id', '=', other.id).executeTakeFirstOrThrow();
      expect(row.role).toBe(role);
      expect(Boolean(row.is_active)).toBe(true);
    },
  );

  it('promotes a developer to manager', async () => {
    const dev = await createUser(t.app, { role: 'developer' });
    const res = await patch(dev.id, { role: 'manager' });
    expect(res.statusCode).toBe(200);
    expect(res.json().role).toBe('manager');
  });

  it("sets a developer's timezone (aliases included)", async () => {
    const dev = await createUser(t.app, { role: 'developer' });
    for (const timezone of ['Asia/Kolkata', 'Etc/GMT+5', 'US/Pacific']) {
      const res = await patch(dev.id, { timezone });
      expect(res.statusCode).toBe(200);
      expect(res.json().timezone).toBe(timezone);
    }
  });

  it('refuses to set the timezone of a developer being made a manager by the same request', async () => {
    const dev = await createUser(t.app, { role: 'developer' });
    const res = await patch(dev.id, { role: 'manager', timezone: 'Europe/Berlin' });
    expect(res.statusCode).toBe(403);
    const row = await t.db.selectFrom('users').select(['role', 'timezone']).where('id', '=', dev.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ role: 'developer', timezone: 'UTC' });
  });

  it('deactivates a user and revokes all of their sessions at once', async () => {
    const { user, accessToken } = await createUserWithSession(t.app);
    const other = await createSession(t.app, user);
    const res = await patch(user.id, { is_active: false });
    expect(res.statusCode).toBe(200);
    expect(res.json().is_active).toBe(false);
    expect(await liveSessions(t.db, user.id)).toEqual([]);
    expect((await me(t.app, accessToken)).statusCode).toBe(401);
    expect((await me(t.app, other.accessToken)).statusCode).toBe(401);
  });

  it('reactivates a user', async () => {
    const user = await createUser(t.app, { active: false });
    const res = await patch(user.id, { is_active: true });
    expect(res.statusCode).toBe(200);
    expect(res.json().is_active).toBe(true);
  });

  describe('refusals change nothing', () => {
    let dev: TestUser;
    beforeAll(async () => {
      dev = await createUser(t.app, { role: 'developer' });
    });

    it.each<[string, () => [number, object]]>([
      ['a manager changing their own role', () => [manager.user.id, { role: 'developer' }]],
      ['a manager deactivating themselves', () => [manager.user.id, { is_active: false }]],
      ["a manager setting a manager's timezone", () => [manager.user.id, { timezone: 'Asia/Tokyo' }]],
      ["a manager setting an auditor's timezone", () => [dev.id, { role: 'auditor', timezone: 'Asia/Tokyo' }]],
    ])('answers 403 for %s', async (_label, build) => {
      const [id, payload] = build();
      const before = await authSnapshot(t.db);
      const res = await patch(id, payload);
      expect(res.statusCode).toBe(403);
      expect(typeof res.json().detail).toBe('string');
      expect(await authSnapshot(t.db)).toEqual(before);
    });

    it('lets a manager send back their own role and active flag unchanged', async () => {
      const res = await patch(manager.user.id, { role: 'manager', is_active: true });
      expect(res.statusCode).toBe(200);
    });

    it.each(['developer', 'auditor'] as const)('answers 403 to a %s', async (role) => {
      const actor = await createUserWithSession(t.app, { role });
      const before = await authSnapshot(t.db);
      const res = await patch(dev.id, { role: 'manager' }, actor.headers);
      expect(res.statusCode).toBe(403);
      expect(await authSnapshot(t.db)).toEqual(before);
    });

    it('answers 404 for an unknown user', async () => {
      const res = await patch(987654, { role: 'auditor' });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ detail: 'User not found' });
    });

    it.each([
      ['an unknown role', { role: 'admin' }],
      ['a role that is a number', { role: 1 }],
      ['is_active as a string', { is_active: 'false' }],
      ['is_active as a number', { is_active: 0 }],
      ['an unknown timezone', { timezone: 'Moon/Base' }],
      ['an array body', []],
      ['a string body', 'x'],
      ['a number body', 42],
    ])('answers 422 for %s', async (_label, payload) => {
      const before = await authSnapshot(t.db);
      const res = await patch(dev.id, payload);
      expect(res.statusCode).toBe(422);
      expect(typeof res.json().detail).toBe('string');
      expect(await authSnapshot(t.db)).toEqual(before);
    });

    it.each(['abc', '0', '-3'])('answers 422 for the id %s', async (id) => {
      const res = await patch(id, { role: 'auditor' });
      expect(res.statusCode).toBe(422);
    });

    it('ignores fields a manager may not set here (email, password, username)', async () => {
      const res = await patch(dev.id, { email: 'taken-over@example.com', new_password: 'whatever123', username: 'renamed' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ email: dev.email, username: dev.username });
    });
  });
});
