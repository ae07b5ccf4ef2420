// POST /api/auth/token: the OAuth2 password flow /docs' Authorize button speaks. A form login with
// login's rules (checks, device session and cookies, session cap, rate limits), answering
// {access_token, token_type}; anything but a well-formed form is a 4xx with a string detail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORM_ONLY } from '../../src/modules/auth/oauth-token.routes.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { bearer, liveSessions, loginRequest, me, responseCookies } from '../helpers/auth.js';
import { createUser } from '../helpers/factories.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

function tokenRequest(t: TestApp, payload: string, headers: Record<string, string> = FORM, cookies?: Record<string, string>) {
  return t.app.inject({ method: 'POST', url: '/api/auth/token', headers, payload, cookies });
}

const sessionCount = async (t: TestApp) => (await t.db.selectFrom('user_sessions').select('id').execute()).length;

describe('POST /api/auth/token', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ maxSessionsPerUser: 3 });
  });
  afterAll(async () => {
    await t.close();
  });

  it('logs in with the form of the OAuth2 password flow and starts a device session like /login', async () => {
    const user = await createUser(t.app, { role: 'developer' });
    const res = await tokenRequest(t, form({ grant_type: 'password', username: user.username, password: user.password, scope: '' }));
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_in: t.config.accessTokenExpireMinutes * 60 });
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);

    const cookies = responseCookies(res);
    expect(cookies.refresh_token).toMatchObject({ httpOnly: true, path: '/api/auth' });
    expect(cookies.device_id?.value).toMatch(/^[0-9a-f-]{36}$/);
    const sessions = await liveSessions(t.db, user.id);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.device_id).toBe(cookies.device_id?.value);

    const who = await me(t.app, body.access_token);
    expect(who.statusCode).toBe(200);
    expect(who.json()).toMatchObject({ id: user.id, username: user.username });

    // The refresh cookie it set works as a login's does.
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      cookies: { refresh_token: cookies.refresh_token?.value ?? '' },
    });
    expect(refreshed.statusCode).toBe(200);
    expect(refreshed.json().access).toEqual(expect.any(String));
  });

  it('takes an e-mail address as the username, and ignores scope, client_id and client_secret', async () => {
    const user = await createUser(t.app);
    const res = await tokenRequest(
      t,
      form({ username: user.email.toUpperCase(), password: user.password, scope: 'tasks:read', client_id: 'swagger', client_secret: 'x' }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json().token_type).toBe('bearer');
  });

  it('answers a wrong password with the contract\'s 400 and starts no session', async () => {
    const user = await createUser(t.app);
    const before = await sessionCount(t);
    const res = await tokenRequest(t, form({ username: user.username, password: 'wrong-password' }));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Incorrect username or password' });
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(await sessionCount(t)).toBe(before);
  });

  it('applies login\'s rules: an unverified e-mail is 403, an inactive user is 403', async () => {
    const unverified = await createUser(t.app, { verified: false });
    const inactive = await createUser(t.app, { active: false });
    const a = await tokenRequest(t, form({ username: unverified.username, password: unverified.password }));
    expect(a.statusCode).toBe(403);
    expect(a.json()).toEqual({ detail: 'Email not verified' });
    const b = await tokenRequest(t, form({ username: inactive.username, password: inactive.password }));
    expect(b.statusCode).toBe(403);
    expect(b.json()).toEqual({ detail: 'Inactive user' });
  });

  it('counts against the session cap: the least recently used session is evicted', async () => {
    const user = await createUser(t.app);
    const tokens: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await tokenRequest(t, form({ username: user.username, password: user.password }));
      expect(res.statusCode).toBe(200);
      tokens.push(res.json().access_token as string);
    }
    expect(await liveSessions(t.db, user.id)).toHaveLength(3);
    const evicted = await me(t.app, tokens[0] ?? '');
    expect(evicted.statusCode).toBe(401);
    expect((await me(t.app, tokens[3] ?? '')).statusCode).toBe(200);
  });

  it.each([
    ['a grant type other than password', form({ grant_type: 'client_credentials', username: 'a', password: 'b' }), 422, /body\.grant_type/],
    ['no password', form({ username: 'someone' }), 422, /body\.password: Field required/],
    ['an empty form', '', 422, /body/],
    ['a repeated field', 'username=a&username=b&password=c', 422, /body\.username/],
    ['a NUL character', 'username=a%00b&password=secret', 422, /body\.username: must not contain NUL characters/],
    // The parser keeps a malformed escape as typed: then it is an ordinary failed login.
    ['a malformed escape', 'username=%E0%A4%A&password=%zz', 400, /^Incorrect username or password$/],
    ['a form over 4 KiB', form({ username: 'u', password: 'p'.repeat(5000) }), 413, /too large/],
  ])('answers a form with %s with a 4xx and a string detail, starting no session', async (_label, payload, status, detail) => {
    const before = await sessionCount(t);
    const res = await tokenRequest(t, payload);
    expect(res.statusCode).toBe(status);
    expect(res.json().detail).toMatch(detail);
    expect(await sessionCount(t)).toBe(before);
  });

  it('refuses JSON with a 415 that points JSON clients to /login', async () => {
    const user = await createUser(t.app);
    const res = await tokenRequest(t, JSON.stringify({ username: user.username, password: user.password }), {
      'content-type': 'application/json',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toEqual({ detail: FORM_ONLY });
    expect(await liveSessions(t.db, user.id)).toHaveLength(0);
    const text = await tokenRequest(t, 'username=a&password=b', { 'content-type': 'text/plain' });
    expect(text.statusCode).toBe(415);
  });

  it('leaves the rest of the API to JSON: a form body elsewhere is still a 415', async () => {
    const user = await createUser(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: FORM,
      payload: form({ username: user.username, password: user.password }),
    });
    expect(res.statusCode).toBe(415);
    expect(typeof res.json().detail).toBe('string');
  });

  it('keeps the password out of the audit trail', async () => {
    const user = await createUser(t.app);
    const secret = 'Not-in-the-audit-trail-1';
    await tokenRequest(t, form({ username: user.username, password: secret, client_secret: 'also-secret' }));
    await t.app.audit.flush();
    const rows = await t.db.selectFrom('api_audit_logs').select(['endpoint', 'request_body', 'status_code']).where('endpoint', '=', '/api/auth/token').execute();
    expect(rows.length).toBeGreaterThan(0);
    const stored = rows.map((row) => String(row.request_body)).join('\n');
    expect(stored).toContain(user.username);
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain('also-secret');
  });
});

describe('POST /api/auth/token under the rate limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ rateLimitEnabled: true, rateLimitLoginPerUsername: 2, rateLimitAuthPerMinute: 100 });
  });
  afterAll(async () => {
    await t.close();
  });

  it('shares the per-username allowance with /login', async () => {
    const user = await createUser(t.app);
    expect((await loginRequest(t.app, user.username, 'wrong-1')).statusCode).toBe(400);
    expect((await tokenRequest(t, form({ username: user.username, password: 'wrong-2' }))).statusCode).toBe(400);
    const limited = await tokenRequest(t, form({ username: user.username, password: user.password }));
    expect(limited.statusCode).toBe(429);
    expect(limited.json().detail).toMatch(/^Too many requests: try again in \d+ seconds?$/);
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    expect((await loginRequest(t.app, user.username, user.password)).statusCode).toBe(429);
    expect(await liveSessions(t.db, user.id)).toHaveLength(0);
  });

  it('shares the per-address allowance with /login', async () => {
    const strict = await buildTestApp({ rateLimitEnabled: true, rateLimitAuthPerMinute: 2 });
    try {
      const user = await createUser(strict.app);
      expect((await loginRequest(strict.app, user.username, user.password)).statusCode).toBe(200);
      expect((await tokenRequest(strict, form({ username: user.username, password: user.password }))).statusCode).toBe(200);
      const limited = await tokenRequest(strict, form({ username: user.username, password: user.password }));
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['x-ratelimit-limit']).toBe('2');
    } finally {
      await strict.close();
    }
  });
});

describe('the OpenAPI document and /docs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('names the OAuth2 password flow beside the bearer scheme, and offers it wherever a bearer token is accepted', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.oauth2Password).toMatchObject({
      type: 'oauth2',
      flows: { password: { tokenUrl: '/api/auth/token', scopes: {} } },
    });
    const token = doc.paths['/api/auth/token'].post;
    expect(Object.keys(token.requestBody.content)).toEqual(['application/x-www-form-urlencoded']);
    expect(token.requestBody.content['application/x-www-form-urlencoded'].schema.required).toEqual(['username', 'password']);
    expect(Object.keys(token.responses['200'].content['application/json'].schema.properties)).toEqual(
      expect.arrayContaining(['access_token', 'token_type']),
    );
    expect(doc.paths['/api/tasks'].get.security).toEqual([{ bearerAuth: [] }, { oauth2Password: [] }]);
    expect(doc.paths['/api/auth/login'].post.security).toBeUndefined();
  });

  it('serves a page titled and branded CTMS that keeps its authorisation across reloads', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/<title>CTMS API — interactive documentation<\/title>/);
    expect(page.body).toContain('href="./static/theme/favicon.svg"');
    const favicon = await t.app.inject({ method: 'GET', url: '/docs/static/theme/favicon.svg' });
    expect(favicon.statusCode).toBe(200);
    expect(favicon.headers['content-type']).toBe('image/svg+xml');
    const script = await t.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(script.body).toContain('"persistAuthorization":true');
    // The top bar's logo is CTMS's mark, not Fastify's.
    const logo = /img\.src = 'data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)'/.exec(script.body)?.[1] ?? '';
    expect(Buffer.from(logo, 'base64').toString()).toContain('>CTMS</text>');
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.info.title).toBe('CTMS API');
    expect(doc.info.description).toContain('Authorize');
  });

  it('accepts a token from the form flow wherever a bearer token goes', async () => {
    const user = await createUser(t.app, { role: 'manager' });
    const res = await tokenRequest(t, form({ username: user.username, password: user.password }));
    const tasks = await t.app.inject({ method: 'GET', url: '/api/tasks', headers: bearer(res.json().access_token) });
    expect(tasks.statusCode).toBe(200);
  });
});
