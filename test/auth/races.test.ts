// Requests that race each other on one account: a login against a password change, parallel
// verification resends, a resend against the verification itself. Each round uses a fresh user and
// staggers one request by a few milliseconds, so the rounds cover different interleavings.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, sha256 } from '../../src/lib/hash.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { loginRequest, me } from '../helpers/auth.js';
import { createUserWithSession, DEFAULT_PASSWORD } from '../helpers/factories.js';

const ROUNDS = 20;
const later = async <T>(ms: number, start: () => Promise<T>): Promise<T> => {
  await sleep(ms);
  return start();
};

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => {
  await t.close();
});

async function unusedLiveTokens(userId: number) {
  return t.db
    .selectFrom('email_verification_tokens')
    .select('token_hash')
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date().toISOString())
    .execute();
}

async function registerUnverified(n: number) {
  const username = `racer_${n}_${Date.now()}`;
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { username, email: `${username}@example.com`, password: 'S3cure-passw0rd' },
  });
  expect(res.statusCode).toBe(201);
  const row = await t.db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow();
  return { id: row.id, email: `${username}@example.com`, token: res.json().verification_token as string };
}

const resend = (email: string) => t.app.inject({ method: 'POST', url: '/api/auth/resend-verification', payload: { email } });
const verify = (token: string) => t.app.inject({ method: 'POST', url: '/api/auth/verify-email', payload: { token } });

describe('a login with the old password racing a password change', () => {
  it('never leaves a usable session behind: the login fails with 400 or its session is revoked', async () => {
    // A costlier stored hash (~15 ms to check) widens the gap between the login reading the hash and
    // opening its transaction, so that most rounds land the password change inside it.
    const slowHash = await hashPassword(DEFAULT_PASSWORD, 8);
    const outcomes: string[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const { user, headers } = await createUserWithSession(t.app);
      await t.db.updateTable('users').set({ hashed_password: slowHash }).where('id', '=', user.id).execute();
      const [change, login] = await Promise.all([
        t.app.inject({
          method: 'PATCH',
          url: '/api/auth/users/me',
          headers,
          payload: { current_password: DEFAULT_PASSWORD, new_password: 'a-brand-new-passw0rd' },
        }),
        later(1 + (round % 10), () => loginRequest(t.app, user.username, DEFAULT_PASSWORD)),
      ]);
      expect(change.statusCode).toBe(200);
      if (login.statusCode === 400) {
        expect(login.json()).toEqual({ detail: 'Incorrect username or password' });
        outcomes.push('refused');
        continue;
      }
      expect(login.statusCode).toBe(200);
      const res = await me(t.app, login.json().access as string);
      expect(res.statusCode, `round ${round}: the old-password session still works`).toBe(401);
      outcomes.push('revoked');
    }
    expect(outcomes).toHaveLength(ROUNDS);
  });
});

describe('parallel verification resends', () => {
  it('leave exactly one unused, unexpired token for the user', async () => {
    for (let round = 0; round < 5; round += 1) {
      const u = await registerUnverified(round);
      const results = await Promise.all(Array.from({ length: 4 }, () => resend(u.email)));
      expect(results.map((r) => r.statusCode)).toEqual([202, 202, 202, 202]);
      await t.app.mailer.idle(); // the resends do their work after answering
      expect(await unusedLiveTokens(u.id), `round ${round}`).toHaveLength(1);
    }
  });

  it('racing the verification leave either a verified user without a token, or the token superseded', async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const u = await registerUnverified(100 + round);
      const [verified, resent] = await Promise.all([later(round % 4, () => verify(u.token)), resend(u.email)]);
      expect(resent.statusCode).toBe(202);
      await t.app.mailer.idle();
      const user = await t.db.selectFrom('users').select('email_verified').where('id', '=', u.id).executeTakeFirstOrThrow();
      const unused = await unusedLiveTokens(u.id);
      if (verified.statusCode === 200) {
        expect(Boolean(user.email_verified)).toBe(true);
        expect(unused, `round ${round}: a verified user still has a fresh token`).toEqual([]);
      } else {
        expect(verified.statusCode).toBe(400);
        expect(Boolean(user.email_verified)).toBe(false);
        expect(unused).toHaveLength(1);
        expect(unused[0]?.token_hash).not.toBe(sha256(u.token));
      }
    }
  });
});
