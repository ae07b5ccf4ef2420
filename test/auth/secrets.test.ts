// Passwords, password hashes and tokens never reach a log line or a response body, through a whole
// account lifetime (verification tokens are logged outside production only, where the console
// e-mail backend is how a developer reads them); and the OpenAPI document describes every auth route.
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import {
  bearer,
  captureLogs,
  containsTokenWithHash,
  responseCookies,
  verificationTokenHashes,
  type CapturedLogs,
} from '../helpers/auth.js';

describe.each(['test', 'production'] as const)('secrets stay secret (ENVIRONMENT=%s, console e-mail backend)', (environment) => {
  const production = environment === 'production';
  let t: TestApp;
  let logs: CapturedLogs;
  beforeAll(async () => {
    logs = captureLogs('trace');
    // No grace window, so the replayed refresh token below is detected (and logged) at once.
    t = await buildTestApp({ environment, refreshReuseGraceSeconds: 0 }, { logger: logs.logger });
  });
  afterAll(async () => {
    await t.close();
  });

  it(`keeps passwords, hashes and session tokens out of logs and bodies across register → logout${
    production ? ', and verification tokens out of the log' : ''
  }`, async () => {
    const password = 'Very-Secret-Passw0rd';
    const newPassword = 'Another-Secret-Passw0rd';
    const bodies: string[] = [];
    const call = async (options: InjectOptions) => {
      const res = await t.app.inject(options);
      bodies.push(res.body);
      return res;
    };

    const reg = await call({ method: 'POST', url: '/api/auth/register', payload: { username: 'secretive', email: 'secretive@example.com', password } });
    const verificationHashes = await verificationTokenHashes(t.db, 'secretive');
    if (production) {
      expect(reg.json()).not.toHaveProperty('verification_token');
      await call({ method: 'POST', url: '/api/auth/resend-verification', payload: { email: 'secretive@example.com' } });
      await t.app.mailer.idle(); // the resend does its work after answering
      verificationHashes.push(...(await verificationTokenHashes(t.db, 'secretive')));
      expect(new Set(verificationHashes).size).toBe(2);
      // Only the (undelivered) e-mail held the token: verify the address directly.
      await t.db.updateTable('users').set({ email_verified: true }).where('username', '=', 'secretive').execute();
    } else {
      await call({ method: 'POST', url: '/api/auth/verify-email', payload: { token: reg.json().verification_token } });
    }
    await call({ method: 'POST', url: '/api/auth/login', payload: { username: 'secretive', password: 'wrong-password-1' } });
    const login = await call({ method: 'POST', url: '/api/auth/login', payload: { username: 'secretive', password } });
    const access = login.json().access as string;
    const refreshToken = responseCookies(login).refresh_token!.value;
    const refreshed = await call({ method: 'POST', url: '/api/auth/refresh', cookies: { refresh_token: refreshToken } });
    const access2 = refreshed.json().access as string;
    const refreshToken2 = responseCookies(refreshed).refresh_token!.value;
    await call({ method: 'POST', url: '/api/auth/refresh', cookies: { refresh_token: refreshToken } }); // reuse → logged warning
    const login2 = await call({ method: 'POST', url: '/api/auth/login', payload: { username: 'secretive', password } });
    const access3 = login2.json().access as string;
    await call({
      method: 'PATCH',
      url: '/api/auth/users/me',
      headers: bearer(access3),
      payload: { current_password: password, new_password: newPassword },
    });
    await call({ method: 'GET', url: '/api/auth/users', headers: bearer(access3) });
    await call({ method: 'POST', url: '/api/auth/logout', headers: bearer(access3) });

    const hash = (await t.db.selectFrom('users').select('hashed_password').where('username', '=', 'secretive').executeTakeFirstOrThrow())
      .hashed_password;
    const logText = logs.text();
    expect(logText.length).toBeGreaterThan(0);
    expect(logText).toContain('refresh token reuse detected');
    // Outside production the e-mail body (with the token) is logged on purpose; the check is the same.
    expect(containsTokenWithHash(logText, verificationHashes)).toBe(!production);
    for (const secret of [password, newPassword, 'wrong-password-1', hash, access, access2, access3, refreshToken, refreshToken2]) {
      expect(logText).not.toContain(secret);
    }
    const responses = bodies.join('\n');
    for (const secret of [password, newPassword, 'wrong-password-1', hash, refreshToken, refreshToken2]) {
      expect(responses).not.toContain(secret);
    }
    expect(responses).not.toContain('hashed_password');
  });
});

describe('OpenAPI document', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['/api/auth/register', 'post', ['201', '400', '422']],
    ['/api/auth/verify-email', 'post', ['200', '400', '422']],
    ['/api/auth/resend-verification', 'post', ['202', '422']],
    ['/api/auth/login', 'post', ['200', '400', '403', '422']],
    ['/api/auth/refresh', 'post', ['200', '400']],
    ['/api/auth/logout', 'post', ['200', '401']],
    ['/api/auth/logout-all', 'post', ['200', '401']],
    ['/api/auth/sessions', 'get', ['200', '401']],
    ['/api/auth/sessions/{id}', 'delete', ['204', '401', '404']],
    ['/api/auth/users/me', 'get', ['200', '401']],
    ['/api/auth/users/me', 'patch', ['200', '400', '401', '403', '422']],
    ['/api/auth/users', 'get', ['200', '401']],
    ['/api/auth/users/{id}', 'patch', ['200', '401', '403', '404', '422']],
  ])('documents %s %s with its responses', async (path, method, statuses) => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const operation = doc.paths[path]?.[method];
    expect(operation).toBeDefined();
    expect(operation.tags).toEqual(['auth']);
    expect(typeof operation.summary).toBe('string');
    for (const status of statuses) expect(Object.keys(operation.responses)).toContain(status);
  });

  it('never documents the password hash in a user', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(JSON.stringify(doc)).not.toContain('hashed_password');
  });
});
