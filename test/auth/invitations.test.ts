// REGISTRATION_ENABLED=false closes registration except for a manager's invitations, which arrive by
// e-mail (through a real SMTP listener here) and create a verified account for their address only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createUserWithSession } from '../helpers/factories.js';
import { loginRequest } from '../helpers/auth.js';
import { startSmtpServer, tokenInMail as tokenIn, type TestSmtpServer } from '../helpers/smtp.js';

const PASSWORD = 'S3cure-passw0rd';

describe('registration closed, invitations open', () => {
  const clock = fixedClock(new Date());
  let smtp: TestSmtpServer;
  let t: TestApp;
  let manager: Awaited<ReturnType<typeof createUserWithSession>>;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await buildTestApp(
      { registrationEnabled: false, emailBackend: 'smtp', smtpHost: '127.0.0.1', smtpPort: smtp.port, smtpTls: false },
      { clock },
    );
    manager = await createUserWithSession(t.app, { role: 'manager' });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const register = (payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/api/auth/register', payload });
  const invite = (email: string, headers = manager.headers) =>
    t.app.inject({ method: 'POST', url: '/api/auth/invitations', payload: { email }, headers });

  /** Invites `email` as the manager and returns the token of the e-mail that arrives. */
  async function invitationToken(email: string): Promise<string> {
    const res = await invite(email);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ message: expect.any(String), email, expires_at: expect.any(String) });
    const mail = await smtp.waitFor((m) => m.to.includes(email));
    expect(mail.raw).toMatch(/^Subject: .*invited/im);
    const token = tokenIn(mail.raw);
    expect(token).toBeDefined();
    return token!;
  }

  it('answers 403 with a string detail to a registration without an invitation, and creates nothing', async () => {
    const res = await register({ username: 'walk_in', email: 'walk.in@example.com', password: PASSWORD });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ detail: expect.stringMatching(/Registration is disabled/) });
    expect(await t.db.selectFrom('users').select('id').where('username', '=', 'walk_in').executeTakeFirst()).toBeUndefined();
  });

  it('registers a verified developer with an e-mailed invitation, once', async () => {
    const email = 'invited.dev@example.com';
    const token = await invitationToken(email);
    const res = await register({ username: 'invited_dev', email, password: PASSWORD, invitation_token: token });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ message: expect.any(String) });
    const row = await t.db.selectFrom('users').select(['email_verified', 'role']).where('username', '=', 'invited_dev').executeTakeFirstOrThrow();
    expect(Boolean(row.email_verified)).toBe(true);
    expect(row.role).toBe('developer');
    expect((await loginRequest(t.app, 'invited_dev', PASSWORD)).statusCode).toBe(200);
    expect(smtp.messages.filter((m) => m.to.includes(email))).toHaveLength(1); // no verification e-mail

    const again = await register({ username: 'invited_dev2', email: 'INVITED.dev@example.com', password: PASSWORD, invitation_token: token });
    expect(again.statusCode).toBe(400);
    expect(typeof again.json().detail).toBe('string');
    const stored = await t.db.selectFrom('invitations').select(['token_hash', 'used_at']).where('email', '=', email).executeTakeFirstOrThrow();
    expect(stored.used_at).not.toBeNull();
    expect(stored.token_hash).not.toBe(token);
  });

  it('refuses an invitation presented with another e-mail address', async () => {
    const token = await invitationToken('meant.for@example.com');
    const res = await register({ username: 'someone_else', email: 'someone.else@example.com', password: PASSWORD, invitation_token: token });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'This invitation is for another e-mail address' });
    // Still usable by its address.
    const own = await register({ username: 'meant_for', email: 'Meant.For@example.com', password: PASSWORD, invitation_token: token });
    expect(own.statusCode).toBe(201);
  });

  it('refuses an unknown invitation token and one older than 7 days', async () => {
    const unknown = await register({ username: 'guesser', email: 'guesser@example.com', password: PASSWORD, invitation_token: 'made-up-token-0123456789' });
    expect(unknown.statusCode).toBe(400);
    const token = await invitationToken('late.comer@example.com');
    const issuedAt = clock.now();
    try {
      clock.set(new Date(issuedAt.getTime() + 7 * 86_400_000 + 1000));
      const res = await register({ username: 'late_comer', email: 'late.comer@example.com', password: PASSWORD, invitation_token: token });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ detail: 'Invitation has expired' });
    } finally {
      clock.set(issuedAt);
    }
  });

  it('refuses to invite an address an account already holds, like register does', async () => {
    const res = await invite(manager.user.email.toUpperCase());
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Email already registered' });
  });

  it.each(['developer', 'auditor'] as const)('answers 403 when a %s invites', async (role) => {
    const caller = await createUserWithSession(t.app, { role });
    const res = await invite(`from.${role}@example.com`, caller.headers);
    expect(res.statusCode).toBe(403);
    expect(typeof res.json().detail).toBe('string');
    expect(await t.db.selectFrom('invitations').select('id').where('email', '=', `from.${role}@example.com`).executeTakeFirst()).toBeUndefined();
  });

  it('answers 401 to an anonymous invitation', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/invitations', payload: { email: 'x@example.com' } });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('answers 422 with a string detail for a malformed invitation', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/invitations', payload: { email: 'nope' }, headers: manager.headers });
    expect(res.statusCode).toBe(422);
    expect(typeof res.json().detail).toBe('string');
  });
});

describe('invitations with the console e-mail backend in development', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ environment: 'development' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('returns the token in the body, and registration stays open by default', async () => {
    const manager = await createUserWithSession(t.app, { role: 'manager' });
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/invitations', payload: { email: 'dev.box@example.com' }, headers: manager.headers });
    expect(res.statusCode).toBe(201);
    const token = res.json().invitation_token as string;
    expect(token).toEqual(expect.any(String));
    const reg = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { username: 'dev_box', email: 'dev.box@example.com', password: PASSWORD, invitation_token: token },
    });
    expect(reg.statusCode).toBe(201);
    const open = await t.app.inject({ method: 'POST', url: '/api/auth/register', payload: { username: 'walk_in2', email: 'walk.in2@example.com', password: PASSWORD } });
    expect(open.statusCode).toBe(201);
  });
});

describe('REGISTRATION_ENABLED', () => {
  it('defaults to true and reads false', () => {
    const env = { ENVIRONMENT: 'test', SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789' };
    expect(loadConfig(env, { dataDir: null }).registrationEnabled).toBe(true);
    expect(loadConfig({ ...env, REGISTRATION_ENABLED: 'false' }, { dataDir: null }).registrationEnabled).toBe(false);
  });
});
