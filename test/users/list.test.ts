import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/db/schema.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createUserWithSession } from '../helpers/factories.js';

describe('GET /api/auth/users and /api/auth/users/{id}', () => {
  let t: TestApp;
  const people: Record<string, { id: number; role: Role; headers: { authorization: string } }> = {};
  beforeAll(async () => {
    t = await buildTestApp();
    for (const [name, role] of [
      ['manager', 'manager'],
      ['manager2', 'manager'],
      ['dev1', 'developer'],
      ['dev2', 'developer'],
      ['auditor', 'auditor'],
    ] as const) {
      const { user, headers } = await createUserWithSession(t.app, { role });
      people[name] = { id: user.id, role, headers };
    }
  });
  afterAll(async () => {
    await t.close();
  });

  const ids = (...names: string[]) => names.map((n) => people[n]!.id).sort((a, b) => a - b);

  it.each([
    ['manager', ['manager', 'dev1', 'dev2']],
    ['dev1', ['dev1']],
    ['auditor', ['manager', 'manager2', 'dev1', 'dev2', 'auditor']],
  ])('lists for %s exactly the users their role may see, ordered by id', async (who, visible) => {
    const res = await t.app.inject({ method: 'GET', url: '/api/auth/users/', headers: people[who]!.headers });
    expect(res.statusCode).toBe(200);
    const list = res.json() as Array<Record<string, unknown>>;
    expect(list.map((u) => u.id)).toEqual(ids(...visible));
    for (const u of list) {
      expect(Object.keys(u).sort()).toEqual(['created_at', 'email', 'email_verified', 'id', 'is_active', 'role', 'timezone', 'username']);
    }
  });

  it.each([
    ['manager', 'dev2', 200],
    ['manager', 'manager', 200],
    ['manager', 'manager2', 404],
    ['manager', 'auditor', 404],
    ['dev1', 'dev1', 200],
    ['dev1', 'dev2', 404],
    ['dev1', 'manager', 404],
    ['auditor', 'manager2', 200],
    ['auditor', 'dev1', 200],
  ])('GET /users/{id}: %s reading %s answers %i', async (who, target, status) => {
    const res = await t.app.inject({ method: 'GET', url: `/api/auth/users/${people[target]!.id}`, headers: people[who]!.headers });
    expect(res.statusCode).toBe(status);
    if (status === 200) expect(res.json().id).toBe(people[target]!.id);
    else expect(res.json()).toEqual({ detail: 'User not found' });
  });

  it('GET /users/{id} answers 404 for an unknown id and 422 for a malformed one', async () => {
    const headers = people.auditor!.headers;
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/users/999999', headers })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/users/abc', headers })).statusCode).toBe(422);
  });

  it('needs a valid access token', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/auth/users' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });
});
