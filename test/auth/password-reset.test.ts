// Account recovery end to end through a real SMTP listener: the e-mailed token sets a new password
// once, within an hour, and logs every session out; an unknown address is indistinguishable.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { fixedClock } from '../../src/lib/clock.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { buildTestApp } from '../helpers/app.js';
import { createUser, createUserWithSession } from '../helpers/factories.js';
import { captureLogs, containsTokenWithHash, jwtPayload, loginRequest, me, recordQueriesBeforeAnswer } from '../helpers/auth.js';
import { startSmtpServer, tokenInMail as tokenIn, type TestSmtpServer } from '../helpers/smtp.js';


const OLD_PASSWORD = 'Old-passw0rd!';
const NEW_PASSWORD = 'N3w-passw0rd!';

describe('password reset', () => {
  const clock = fixedClock(new Date());
  const queries: string[] = [];
  let duringRequest: Map<string, string[]>;
  let smtp: TestSmtpServer;
  let database: TestDatabase;
  let app: FastifyInstance;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    database = await createTestDatabase({ onQuery: (sql) => queries.push(sql) });
    const config = testConfig({ emailBackend: 'smtp', smtpHost: '127.0.0.1', smtpPort: smtp.port, smtpTls: false });
    app = await buildApp(config, { database: database.handle, clock });
    duringRequest = recordQueriesBeforeAnswer(app, queries, '/api/auth/password-reset/request');
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await database.cleanup();
    await smtp.close();
  });

  const requestReset = (email: string) => app.inject({ method: 'POST', url: '/api/auth/password-reset/request', payload: { email } });
  const confirm = (token: string | undefined, newPassword = NEW_PASSWORD) =>
    app.inject({ method: 'POST', url: '/api/auth/password-reset/confirm', payload: { token, new_password: newPassword } });
  const mailsTo = (email: string) => smtp.messages.filter((m) => m.to.includes(email));

  /** Asks for a reset and returns the token of the e-mail that arrives (the n-th to that address). */
  async function resetToken(email: string): Promise<string> {
    const before = mailsTo(email).length;
    const res = await requestReset(email);
    expect(res.statusCode).toBe(200);
    await app.mailer.idle();
    const mail = await smtp.waitFor((m) => m.to.includes(email) && mailsTo(email).indexOf(m) >= before);
    expect(mail.raw).toMatch(/^Subject: .*reset your password/im);
    const token = tokenIn(mail.raw);
    expect(token).toBeDefined();
    return token!;
  }

  it('e-mails a token that sets the new password once and revokes every session', async () => {
    const user = await createUser(app, { password: OLD_PASSWORD });
    const first = await loginRequest(app, user.username, OLD_PASSWORD);
    const second = await loginRequest(app, user.username, OLD_PASSWORD);
    const accesses = [first, second].map((res) => res.json().access as string);

    const token = await resetToken(user.email);
    const res = await confirm(token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ message: expect.any(String) });

    const sessions = await app.db.selectFrom('user_sessions').select(['id', 'revoked_at']).where('user_id', '=', user.id).execute();
    expect(sessions.map((s) => s.id).sort()).toEqual(accesses.map((a) => jwtPayload(a).sid).sort());
    expect(sessions.every((s) => s.revoked_at !== null)).toBe(true);
    for (const access of accesses) {
      const refused = await me(app, access);
      expect(refused.statusCode).toBe(401);
      expect(refused.json()).toEqual({ detail: 'Session ended: password reset' });
    }

    expect((await loginRequest(app, user.username, NEW_PASSWORD)).statusCode).toBe(200);
    const old = await loginRequest(app, user.username, OLD_PASSWORD);
    expect(old.statusCode).toBe(400);
    expect(old.json()).toEqual({ detail: 'Incorrect username or password' });

    const again = await confirm(token, 'An0ther-passw0rd');
    expect(again.statusCode).toBe(400);
    expect(typeof again.json().detail).toBe('string');
    expect((await loginRequest(app, user.username, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('stores the new password hashed with the configured bcrypt rounds and only the token hash', async () => {
    const user = await createUser(app, { password: OLD_PASSWORD });
    const token = await resetToken(user.email);
    const stored = await app.db.selectFrom('password_reset_tokens').select('token_hash').where('user_id', '=', user.id).execute();
    expect(stored.map((r) => r.token_hash)).not.toContain(token);
    expect((await confirm(token)).statusCode).toBe(200);
    const row = await app.db.selectFrom('users').select('hashed_password').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.hashed_password).toMatch(new RegExp(`^\\$2[aby]\\$0${app.config.bcryptRounds}\\$`));
  });

  it('refuses a token an hour after it was issued', async () => {
    const user = await createUser(app, { password: OLD_PASSWORD });
    const token = await resetToken(user.email);
    const issuedAt = clock.now();
    try {
      clock.set(new Date(issuedAt.getTime() + 60 * 60 * 1000 + 1000));
      const res = await confirm(token);
      expect(res.statusCode).toBe(400);
      expect(res.json().detail).toMatch(/expired/);
    } finally {
      clock.set(issuedAt);
    }
    expect((await loginRequest(app, user.username, OLD_PASSWORD)).statusCode).toBe(200);
  });

  it('accepts a token just under an hour old', async () => {
    const user = await createUser(app, { password: OLD_PASSWORD });
    const token = await resetToken(user.email);
    const issuedAt = clock.now();
    try {
      clock.set(new Date(issuedAt.getTime() + 59 * 60 * 1000));
      expect((await confirm(token)).statusCode).toBe(200);
    } finally {
      clock.set(issuedAt);
    }
  });

  it('makes an earlier unused token stop working when a new one is asked for', async () => {
    const user = await createUser(app, { password: OLD_PASSWORD });
    const earlier = await resetToken(user.email);
    const later = await resetToken(user.email);
    expect(later).not.toBe(earlier);
    expect((await confirm(earlier)).statusCode).toBe(400);
    expect((await confirm(later)).statusCode).toBe(200);
  });

  it('refuses an unknown token', async () => {
    const res = await confirm('no-such-token-0123456789abcdef');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: expect.stringMatching(/token/) });
  });

  it('answers an unknown address exactly like a known one, with no database work before the answer and no e-mail', async () => {
    const user = await createUser(app, { password: OLD_PASSWORD });
    const inactive = await createUser(app, { active: false });
    const unknown = 'nobody.at.all@example.com';
    const bodies: unknown[] = [];
    for (const email of [unknown, user.email, inactive.email]) {
      const res = await requestReset(email);
      expect(res.statusCode).toBe(200);
      bodies.push(res.body);
      await app.mailer.idle();
    }
    expect(new Set(bodies).size).toBe(1);
    expect([unknown, user.email, inactive.email].map((email) => duringRequest.get(email))).toEqual([[], [], []]);
    await smtp.waitFor((m) => m.to.includes(user.email));
    expect(mailsTo(unknown)).toEqual([]);
    expect(mailsTo(inactive.email)).toEqual([]);
  });

  it.each([
    ['no body', undefined],
    ['no token', { new_password: NEW_PASSWORD }],
    ['a short password', { token: 'abc', new_password: 'short' }],
    ['a token that is not a string', { token: 42, new_password: NEW_PASSWORD }],
  ])('answers 422 with a string detail for %s', async (_name, payload) => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/password-reset/confirm', payload });
    expect(res.statusCode).toBe(422);
    expect(typeof res.json().detail).toBe('string');
  });

  it('answers 422 for a request without a valid e-mail', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/password-reset/request', payload: { email: 'not-an-address' } });
    expect(res.statusCode).toBe(422);
    expect(typeof res.json().detail).toBe('string');
  });
});

describe.each(['development', 'production'] as const)('reset and invitation tokens in the log (ENVIRONMENT=%s, console backend)', (environment) => {
  it(environment === 'production' ? 'keeps them out of the log and the answers' : 'writes them to the log, as verification e-mails', async () => {
    const logs = captureLogs('trace');
    const t = await buildTestApp({ environment, emailBackend: 'console' }, { logger: logs.logger });
    try {
      const user = await createUser(t.app);
      const manager = await createUserWithSession(t.app, { role: 'manager' });
      const reset = await t.app.inject({ method: 'POST', url: '/api/auth/password-reset/request', payload: { email: user.email } });
      const invite = await t.app.inject({ method: 'POST', url: '/api/auth/invitations', payload: { email: 'guest@example.com' }, headers: manager.headers });
      expect(invite.statusCode).toBe(201);
      await t.app.mailer.idle();
      const hashes = [
        ...(await t.db.selectFrom('password_reset_tokens').select('token_hash').execute()),
        ...(await t.db.selectFrom('invitations').select('token_hash').execute()),
      ].map((row) => row.token_hash);
      expect(hashes).toHaveLength(2);
      const logged = logs.text();
      expect(containsTokenWithHash(logged, hashes.slice(0, 1))).toBe(environment !== 'production');
      expect(containsTokenWithHash(logged, hashes.slice(1))).toBe(environment !== 'production');
      expect(containsTokenWithHash(reset.body + invite.body, hashes.slice(0, 1))).toBe(false);
      expect('invitation_token' in invite.json()).toBe(environment !== 'production');
    } finally {
      await t.close();
    }
  });
});
