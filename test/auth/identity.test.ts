// Usernames may contain "@" and login accepts a username or an e-mail, so the two share one
// namespace: no username may equal any account's e-mail and no e-mail any account's username
// (case-insensitively), through every door (registration, PATCH /users/me, parallel requests), and
// where older rows still collide, an unverified account never shadows a verified one at login.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { authSnapshot, jwtPayload, loginRequest } from '../helpers/auth.js';
import { createUser, createUserWithSession } from '../helpers/factories.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => {
  await t.close();
});

const unique = () => randomUUID().slice(0, 8);
const register = (payload: { username: string; email: string }) =>
  t.app.inject({ method: 'POST', url: '/api/auth/register', payload: { ...payload, password: 'S3cure-passw0rd' } });

describe('registration', () => {
  it("answers 400 to an e-mail equal to another account's username, in any case, and creates nothing", async () => {
    const owner = await createUser(t.app, { username: `owner.${unique()}@corp.example` });
    const before = await authSnapshot(t.db);
    const res = await register({ username: `squatter_${unique()}`, email: owner.username.toUpperCase() });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Email already registered' });
    expect(await authSnapshot(t.db)).toEqual(before);
  });

  it("answers 400 to a username equal to another account's e-mail, in any case, and creates nothing", async () => {
    const owner = await createUser(t.app, { email: `owner.${unique()}@corp.example` });
    const before = await authSnapshot(t.db);
    const res = await register({ username: owner.email.toUpperCase(), email: `squatter.${unique()}@example.com` });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Username already registered' });
    expect(await authSnapshot(t.db)).toEqual(before);
  });

  it('lets an account use its own e-mail as its username', async () => {
    const address = `self.${unique()}@example.com`;
    expect((await register({ username: address, email: address })).statusCode).toBe(201);
  });

  it('lets only one of two parallel registrations claim one string, as a username and as an e-mail', async () => {
    for (let round = 0; round < 8; round += 1) {
      const contested = `contested.${unique()}@example.com`;
      const results = await Promise.all([
        register({ username: contested, email: `other.${unique()}@example.com` }),
        register({ username: `other_${unique()}`, email: contested }),
      ]);
      expect(results.map((r) => r.statusCode).sort(), `round ${round}`).toEqual([201, 400]);
      const holders = await t.db
        .selectFrom('users')
        .select('id')
        .where((eb) => eb.or([eb('username', '=', contested), eb('email', '=', contested)]))
        .execute();
      expect(holders).toHaveLength(1);
    }
  });
});

describe('PATCH /api/auth/users/me', () => {
  it("answers 400 to an e-mail equal to another account's username and changes nothing", async () => {
    const { headers } = await createUserWithSession(t.app);
    const other = await createUser(t.app, { username: `taken.${unique()}@corp.example` });
    const before = await authSnapshot(t.db);
    const res = await t.app.inject({ method: 'PATCH', url: '/api/auth/users/me', headers, payload: { email: other.username.toUpperCase() } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Email already registered' });
    expect(await authSnapshot(t.db)).toEqual(before);
  });
});

describe('login where older rows collide', () => {
  it.each([
    ["the verified username's owner, not an unverified account holding that string as its e-mail", 'username', 'email'],
    ["the verified e-mail's owner, not an unverified account holding that string as its username", 'email', 'username'],
  ] as const)('logs into %s', async (_label, ownerField, squatterField) => {
    const identifier = `owner.${unique()}@corp.example`;
    const owner = await createUser(t.app, { [ownerField]: identifier, password: 'owner-password' });
    await createUser(t.app, { [squatterField]: identifier.toUpperCase(), verified: false, password: 'squatter-password' });
    const res = await loginRequest(t.app, identifier, 'owner-password');
    expect(res.statusCode).toBe(200);
    expect(jwtPayload(res.json().access).sub).toBe(String(owner.id));
  });

  it('does not let the unverified account in with its own password either', async () => {
    const victim = await createUser(t.app, { username: `victim.${unique()}@corp.example`, password: 'victim-password' });
    await createUser(t.app, { email: victim.username, verified: false, password: 'squatter-password' });
    const res = await loginRequest(t.app, victim.username, 'squatter-password');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Incorrect username or password' });
  });
});
