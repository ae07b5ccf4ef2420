// The HTTP skeleton: error shapes, CORS, per-response headers and the body limit. Probe routes are
// added to the real app (built by buildApp) to exercise the shared error handler directly.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { forbidden } from '../../src/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let app: FastifyInstance;
let database: TestDatabase;
const logged: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildApp(testConfig({ allowedOrigins: ['https://app.example.com'], logLevel: 'error' }), {
    database: database.handle,
    logger: { level: 'error', stream: { write: (line: string) => logged.push(line) } },
  });
  app.post(
    '/api/__probe',
    {
      schema: {
        body: Type.Object({
          title: Type.String({ minLength: 1, maxLength: 5 }),
          count: Type.Integer({ minimum: 0 }),
          flag: Type.Optional(Type.Boolean()),
        }),
      },
    },
    async (request) => ({ received: request.body }),
  );
  app.post('/api/__nobody', async (request) => ({ body: request.body ?? null }));
  app.get(
    '/api/__items/:id',
    { schema: { params: Type.Object({ id: Type.Integer({ minimum: 1 }) }), querystring: Type.Object({ n: Type.Optional(Type.Integer()) }) } },
    async () => ({ ok: true }),
  );
  app.get('/api/__boom', async () => {
    throw new Error('database password is hunter2');
  });
  app.get('/api/__bad_json_inside', async () => JSON.parse('{not json') as unknown);
  app.get('/api/__deadlock', async () => {
    throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
  });
  app.get('/api/__forbidden', async () => {
    throw forbidden('Managers only');
  });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await database.cleanup();
});

describe('error shapes', () => {
  it('answers a schema violation with 422, a one-line detail and the list of errors', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/__probe', payload: { title: 123, flag: 'true' } });
    expect(res.statusCode).toBe(422);
    const body = res.json();
    expect(typeof body.detail).toBe('string');
    expect(body.detail).not.toContain('\n');
    const locs = body.errors.map((e: { loc: string[] }) => e.loc.join('.'));
    expect(locs).toEqual(expect.arrayContaining(['body.title', 'body.count', 'body.flag']));
    for (const error of body.errors) {
      expect(typeof error.msg).toBe('string');
      expect(typeof error.type).toBe('string');
    }
    expect(body.errors.find((e: { loc: string[] }) => e.loc.join('.') === 'body.count').type).toBe('missing');
  });

  it('never coerces a number into a string field or a string into a boolean', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/__probe', payload: { title: 12, count: 1 } });
    expect(res.statusCode).toBe(422);
    const res2 = await app.inject({ method: 'POST', url: '/api/__probe', payload: { title: 'ok', count: 1, flag: 1 } });
    expect(res2.statusCode).toBe(422);
  });

  it.each([['[]'], ['"text"'], ['42'], ['null']])('answers a non-object body %s with 422', async (payload) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/__probe',
      headers: { 'content-type': 'application/json' },
      payload,
    });
    expect(res.statusCode).toBe(422);
    expect(typeof res.json().detail).toBe('string');
  });

  it('ignores unknown fields', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/__probe', payload: { title: 'ok', count: 2, extra: { a: 1 } } });
    expect(res.statusCode).toBe(200);
    expect(res.json().received).toEqual({ title: 'ok', count: 2 });
  });

  it('answers malformed JSON with 422 and a string detail', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/__probe',
      headers: { 'content-type': 'application/json' },
      payload: '{"title": "x",',
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().detail).toBe('Malformed JSON body');
  });

  it('refuses prototype-poisoning JSON without a 500', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/__probe',
      headers: { 'content-type': 'application/json' },
      payload: '{"title":"x","count":1,"__proto__":{"admin":true}}',
    });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(typeof res.json().detail).toBe('string');
  });

  it('refuses NUL characters in a body string with 422 naming the field', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/__probe',
      headers: { 'content-type': 'application/json' },
      payload: '{"title":"a\\u0000b","count":1}',
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors[0].loc).toEqual(['body', 'title']);
  });

  it('keeps a literal backslash-u sequence that is not a NUL', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/__probe',
      headers: { 'content-type': 'application/json' },
      payload: '{"title":"\\\\u0000","count":1}',
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors[0].loc).toEqual(['body', 'title']);
    expect(res.json().errors[0].type).toBe('maxLength');
  });

  it('refuses NUL characters in a query string with 422', async () => {
    const res = await app.inject({ method: 'GET', url: '/health?x=%00' });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors[0].loc).toEqual(['query', 'x']);
  });

  it.each([
    ['an empty JSON body', 'application/json', ''],
    ['garbage JSON', 'application/json', '{oops'],
    ['an empty form body', 'application/x-www-form-urlencoded', ''],
    ['a text body', 'text/plain', 'hello'],
  ])('lets a route that takes no body ignore %s', async (_label, contentType, payload) => {
    const res = await app.inject({ method: 'POST', url: '/api/__nobody', headers: { 'content-type': contentType }, payload });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ body: null });
  });

  it('names where a bad value was as FastAPI does: path, query, body', async () => {
    const path = await app.inject({ method: 'GET', url: '/api/__items/abc' });
    expect(path.statusCode).toBe(422);
    expect(path.json().errors[0].loc).toEqual(['path', 'id']);
    const query = await app.inject({ method: 'GET', url: '/api/__items/1?n=many' });
    expect(query.statusCode).toBe(422);
    expect(query.json().errors[0].loc).toEqual(['query', 'n']);
  });

  it('answers a body over 1 MiB with 413', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/__probe',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ title: 'x'.repeat(1024 * 1024 + 10), count: 1 }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ detail: 'Request body is too large' });
  });

  it('answers an unsupported content type with 415', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/__probe',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(res.statusCode).toBe(415);
    expect(typeof res.json().detail).toBe('string');
  });

  it('answers an unknown route with a JSON 404', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/does-not-exist' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ detail: 'Not Found' });
  });

  it('answers a known path with another method with 405 and the allowed methods', async () => {
    const res = await app.inject({ method: 'PUT', url: '/api/__items/3/' });
    expect(res.statusCode).toBe(405);
    expect(res.json()).toEqual({ detail: 'Method Not Allowed' });
    expect(String(res.headers.allow)).toContain('GET');
    expect((await app.inject({ method: 'DELETE', url: '/api/__items/3/extra' })).statusCode).toBe(404);
  });

  it('answers a JSON parsing bug inside a handler with 500, not as a client error', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/__bad_json_inside' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ detail: 'Internal server error' });
  });

  it('answers a database conflict with a concurrent transaction with 409, asking for a retry', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/__deadlock' });
    expect(res.statusCode).toBe(409);
    expect(res.json().detail).toMatch(/retry/);
  });

  it('maps a typed error to its status and detail', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/__forbidden' });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ detail: 'Managers only' });
  });

  it('answers an unexpected error with a generic 500 and logs the stack, never sending it', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/__boom' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ detail: 'Internal server error' });
    expect(res.body).not.toContain('hunter2');
    expect(logged.join('\n')).toContain('database password is hunter2');
  });

  it('answers both trailing-slash forms without redirecting', async () => {
    const a = await app.inject({ method: 'POST', url: '/api/__probe', payload: { title: 'a', count: 1 } });
    const b = await app.inject({ method: 'POST', url: '/api/__probe/', payload: { title: 'a', count: 1 } });
    expect(a.statusCode).toBe(200);
    expect(b.statusCode).toBe(200);
  });
});

describe('response headers', () => {
  it('carries X-Process-Time and a fresh X-Request-Id on every response, errors included', async () => {
    for (const url of ['/health', '/api/does-not-exist', '/api/__boom']) {
      const res = await app.inject({ method: 'GET', url });
      expect(Number(res.headers['x-process-time'])).toBeGreaterThanOrEqual(0);
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('echoes a well-formed incoming X-Request-Id and replaces a hostile one', async () => {
    const kept = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'trace-123' } });
    expect(kept.headers['x-request-id']).toBe('trace-123');
    const replaced = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'bad id\r\nx: y' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends security headers', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBeDefined();
  });

  it('forbids caching, loading and framing of API answers, errors included', async () => {
    for (const url of ['/api/tasks', '/api/no-such-route']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.headers['cache-control'], url).toBe('no-store');
      expect(res.headers['content-security-policy'], url).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(res.headers['referrer-policy'], url).toBe('no-referrer');
    }
    const docs = await app.inject({ method: 'GET', url: '/docs/static/index.html' });
    expect(docs.headers['content-security-policy']).not.toBe("default-src 'none'; frame-ancestors 'none'");
  });
});

describe('CORS', () => {
  it('allows a configured origin with credentials and exposes the custom headers', async () => {
    const res = await app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://app.example.com' } });
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    const exposed = String(res.headers['access-control-expose-headers']).toLowerCase();
    for (const header of ['x-new-access-token', 'x-total-count', 'x-process-time', 'x-request-id', 'retry-after', 'x-ratelimit-remaining']) {
      expect(exposed).toContain(header);
    }
  });

  it('answers a preflight from a configured origin', async () => {
    const res = await app.inject({
      method: 'OPTIONS',
      url: '/api/tasks/',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(res.statusCode).toBeLessThan(300);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(String(res.headers['access-control-allow-methods'])).toContain('PATCH');
  });

  it('grants nothing to an origin that is not configured', async () => {
    const res = await app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://evil.example.net' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });
});
