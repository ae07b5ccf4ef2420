import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';
import { captureLogs } from '../helpers/auth.js';

/** The token line of the e-mail body (quoted-printable never touches a base64url token). */
const tokenIn = (raw: string) => /^ {4}([A-Za-z0-9_-]{20,})\r?$/m.exec(raw)?.[1];

describe('e-mail verification through SMTP (EMAIL_BACKEND=smtp)', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await buildTestApp({
      emailBackend: 'smtp',
      smtpHost: '127.0.0.1',
      smtpPort: smtp.port,
      smtpTls: false,
      emailFrom: 'CTMS <noreply@ctms.test>',
    });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  it('e-mails the token instead of returning it, and the e-mailed token verifies the address', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { username: 'smtp_user', email: 'smtp.user@example.com', password: 'S3cure-passw0rd' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ message: expect.any(String) });

    const mail = await smtp.waitFor((m) => m.to.includes('smtp.user@example.com'));
    expect(mail.from).toBe('noreply@ctms.test');
    expect(mail.raw).toMatch(/^Subject: .*verify/im);
    expect(mail.raw).not.toContain('S3cure-passw0rd');
    const token = tokenIn(mail.raw);
    expect(token).toBeDefined();

    const verify = await t.app.inject({ method: 'POST', url: '/api/auth/verify-email', payload: { token } });
    expect(verify.statusCode).toBe(200);
    const row = await t.db.selectFrom('users').select('email_verified').where('username', '=', 'smtp_user').executeTakeFirstOrThrow();
    expect(Boolean(row.email_verified)).toBe(true);
  });

  it('e-mails a fresh token on resend-verification', async () => {
    await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { username: 'smtp_resend', email: 'smtp.resend@example.com', password: 'S3cure-passw0rd' },
    });
    await smtp.waitFor((m) => m.to.includes('smtp.resend@example.com'));
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/resend-verification', payload: { email: 'smtp.resend@example.com' } });
    expect(res.statusCode).toBe(202);
    const mails = await new Promise<string[]>((resolve, reject) => {
      const started = Date.now();
      const poll = () => {
        const found = smtp.messages.filter((m) => m.to.includes('smtp.resend@example.com')).map((m) => tokenIn(m.raw) ?? '');
        if (found.length >= 2) resolve(found);
        else if (Date.now() - started > 5000) reject(new Error('resent e-mail did not arrive'));
        else setTimeout(poll, 20);
      };
      poll();
    });
    expect(mails[1]).not.toBe(mails[0]);
    const verify = await t.app.inject({ method: 'POST', url: '/api/auth/verify-email', payload: { token: mails[1] } });
    expect(verify.statusCode).toBe(200);
  });
});

describe('an unreachable SMTP server', () => {
  it('still registers the user (who can ask for a resend) and logs the delivery failure', async () => {
    const down = await startSmtpServer();
    const port = down.port;
    await down.close();
    const logs = captureLogs('error');
    const t = await buildTestApp({ emailBackend: 'smtp', smtpHost: '127.0.0.1', smtpPort: port, smtpTls: false }, { logger: logs.logger });
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/register',
        payload: { username: 'smtp_down', email: 'smtp.down@example.com', password: 'S3cure-passw0rd' },
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toEqual({ message: expect.any(String) });
    } finally {
      await t.close();
    }
    expect(logs.text()).toContain('email delivery failed');
    expect(logs.text()).not.toContain('S3cure-passw0rd');
  });
});
