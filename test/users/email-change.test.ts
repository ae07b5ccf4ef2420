// Changing one's e-mail address: the new address replaces the current one only once a token sent to
// it comes back through POST /api/auth/verify-email; until then it is pending, reserved for nobody.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/lib/hash.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { authSnapshot, captureLogs, jwtPayload, loginRequest } from '../helpers/auth.js';
import { createUser, createUserWithSession, DEFAULT_PASSWORD } from '../helpers/factories.js';

const logs = captureLogs();
let t: TestApp;
beforeAll(async () => void (t = await buildTestApp({}, { logger: logs.logger })));
afterAll(() => t.close());

const fresh = () => `new.${randomUUID().slice(0, 8)}@example.org`;
const changeEmail = (headers: Record<string, string>, email: string, more: Record<string, unknown> = {}) =>
  t.app.inject({ method: 'PATCH', url: '/api/auth/users/me', headers, payload: { email, ...more } });
const verify = (token: string) => t.app.inject({ method: 'POST', url: '/api/auth/verify-email', payload: { token } });
const storedEmail = async (id: number) =>
  (await t.db.selectFrom('users').select(['email', 'email_verified']).where('id', '=', id).executeTakeFirstOrThrow());

/** The tokens e-mailed to `address` (the console backend logs each message outside production). */
async function tokensMailedTo(address: string): Promise<string[]> {
  await t.app.mailer.idle();
  return logs.lines
    .map((line) => JSON.parse(line) as { email?: { to: string; text: string } })
    .filter((entry) => entry.email?.to === address)
    .map((entry) => /^ {4}(\S+)$/m.exec(entry.email!.text)?.[1] ?? '');
}

describe('PATCH /api/auth/users/me with a new e-mail address', () => {
  it('keeps the current address, verified, and e-mails a token to the new one', async () => {
    const { user, headers } = await createUserWithSession(t.app);
    const address = fresh();
    const res = await changeEmail(headers, address);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ email: user.email, email_verified: true });
    expect(await storedEmail(user.id)).toMatchObject({ email: user.email });

    const [token] = await tokensMailedTo(address);
    expect(token).toBeTruthy();
    expect(res.body).not.toContain(token);
    const row = await t.db.selectFrom('email_verification_tokens').selectAll().where('token_hash', '=', sha256(token!)).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ user_id: user.id, email: address, used_at: null });

    // Nobody logs in with a pending address; the current one still works.
    expect((await loginRequest(t.app, address, DEFAULT_PASSWORD)).statusCode).toBe(400);
    expect((await loginRequest(t.app, user.email, DEFAULT_PASSWORD)).statusCode).toBe(200);
  });

  it('makes the new address the account\'s, verified, once its token comes back', async () => {
    const { user, headers } = await createUserWithSession(t.app);
    const address = fresh();
    await changeEmail(headers, address);
    const [token] = await tokensMailedTo(address);

    const res = await verify(token!);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ message: 'Email verified successfully' });
    expect(await storedEmail(user.id)).toMatchObject({ email: address });
    expect(Boolean((await storedEmail(user.id)).email_verified)).toBe(true);

    const login = await loginRequest(t.app, address.toUpperCase(), DEFAULT_PASSWORD);
    expect(login.statusCode).toBe(200);
    expect(jwtPayload(login.json().access).sub).toBe(String(user.id));
    expect((await loginRequest(t.app, user.email, DEFAULT_PASSWORD)).statusCode).toBe(400);
    expect((await verify(token!)).json()).toEqual({ detail: 'Verification token has already been used' });
  });

  it('replaces an earlier pending change: only the latest token works', async () => {
    const { user, headers } = await createUserWithSession(t.app);
    const first = fresh();
    const second = fresh();
    await changeEmail(headers, first);
    await changeEmail(headers, second);
    const [firstToken] = await tokensMailedTo(first);
    const [secondToken] = await tokensMailedTo(second);
    expect((await verify(firstToken!)).json()).toEqual({ detail: 'Invalid verification token' });
    expect((await verify(secondToken!)).statusCode).toBe(200);
    expect((await storedEmail(user.id)).email).toBe(second);
  });

  it('reserves a pending address for nobody: another account may register it, and then the change is refused', async () => {
    const { user, headers } = await createUserWithSession(t.app);
    const address = fresh();
    await changeEmail(headers, address);
    const [token] = await tokensMailedTo(address);

    const registered = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { username: `owner_${randomUUID().slice(0, 8)}`, email: address, password: 'S3cure-passw0rd' },
    });
    expect(registered.statusCode).toBe(201);

    const before = await authSnapshot(t.db);
    const res = await verify(token!);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Email already registered' });
    expect(await authSnapshot(t.db)).toEqual(before);
    expect((await storedEmail(user.id)).email).toBe(user.email);
  });

  it('lets the first of two accounts asking for one address have it; the other is refused', async () => {
    const address = fresh();
    const a = await createUserWithSession(t.app);
    const b = await createUserWithSession(t.app);
    await changeEmail(a.headers, address);
    await changeEmail(b.headers, address);
    const [tokenA, tokenB] = await tokensMailedTo(address);
    expect((await verify(tokenB!)).statusCode).toBe(200);
    expect((await verify(tokenA!)).json()).toEqual({ detail: 'Email already registered' });
    expect((await storedEmail(b.user.id)).email).toBe(address);
    expect((await storedEmail(a.user.id)).email).toBe(a.user.email);
  });

  it('never lets a verification and a registration racing for one address both have it', async () => {
    for (let round = 0; round < 6; round += 1) {
      const { headers } = await createUserWithSession(t.app);
      const address = fresh();
      await changeEmail(headers, address);
      const [token] = await tokensMailedTo(address);
      const [verified, registered] = await Promise.all([
        verify(token!),
        t.app.inject({
          method: 'POST',
          url: '/api/auth/register',
          payload: { username: `racer_${randomUUID().slice(0, 8)}`, email: address.toUpperCase(), password: 'S3cure-passw0rd' },
        }),
      ]);
      // Exactly one of them has the address: the other answers 400.
      expect([verified.statusCode, registered.statusCode], `round ${round}`).toSatisfy(
        ([v, r]: number[]) => (v === 200 && r === 400) || (v === 400 && r === 201),
      );
      const holders = await t.db.selectFrom('users').select('id').where((eb) => eb(eb.fn('lower', ['email']), '=', address)).execute();
      expect(holders, `round ${round}`).toHaveLength(1);
    }
  });

  it('applies the current address in other letters at once, without a token', async () => {
    const { user, headers } = await createUserWithSession(t.app);
    const res = await changeEmail(headers, user.email.toUpperCase());
    expect(res.statusCode).toBe(200);
    expect(res.json().email).toBe(user.email.toUpperCase());
    const tokens = await t.db.selectFrom('email_verification_tokens').select('id').where('user_id', '=', user.id).execute();
    expect(tokens).toEqual([]);
  });

  it.each([
    ["another account's e-mail", async () => (await createUser(t.app)).email.toUpperCase()],
    ["another account's username", async () => (await createUser(t.app, { username: fresh() })).username],
  ])('answers 400 at once for %s and records nothing', async (_label, taken) => {
    const { headers } = await createUserWithSession(t.app);
    const address = await taken();
    const before = await authSnapshot(t.db);
    const res = await changeEmail(headers, address);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Email already registered' });
    expect(await authSnapshot(t.db)).toEqual(before);
  });

  it('records no pending change when another part of the request fails', async () => {
    const { user, headers } = await createUserWithSession(t.app);
    const address = fresh();
    const res = await changeEmail(headers, address, { current_password: 'wrong-one', new_password: 'brand-new-secret' });
    expect(res.statusCode).toBe(400);
    expect(await t.db.selectFrom('email_verification_tokens').select('id').where('user_id', '=', user.id).execute()).toEqual([]);
    expect(await tokensMailedTo(address)).toEqual([]);
  });
});
