// Every /api route touches the database (the session behind a token, the data itself), so each can
// answer 503 with Retry-After when the database is down, full or too slow: the OpenAPI document says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

describe('503 in the OpenAPI document', () => {
  let t: TestApp;
  let doc: { paths: Record<string, Record<string, { responses: Record<string, Record<string, unknown>> }>> };

  beforeAll(async () => {
    t = await buildTestApp();
    doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  });
  afterAll(async () => {
    await t.close();
  });

  it('lists 503 with a Retry-After header and the error body on every /api operation', () => {
    const operations = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/api/'))
      .flatMap(([path, item]) => METHODS.filter((method) => item[method]).map((method) => ({ name: `${method} ${path}`, op: item[method]! })));
    expect(operations.length).toBeGreaterThan(40);
    const missing = operations.filter(({ op }) => op.responses['503'] === undefined).map(({ name }) => name);
    expect(missing).toEqual([]);
    for (const { name, op } of operations) {
      const unavailable = op.responses['503']!;
      expect(unavailable.description, name).toMatch(/database/i);
      expect(unavailable.headers, name).toEqual({ 'Retry-After': { description: expect.stringMatching(/seconds/i), schema: { type: 'integer' } } });
      expect(JSON.stringify(unavailable.content), name).toMatch(/"detail"|Error/);
    }
  });

  it('answers as documented when the database cannot be reached: 503, Retry-After in seconds, a string detail', async () => {
    const app = await buildApp(testConfig({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/unreachable' }));
    try {
      const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'someone', password: 'a-password' } });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
      expect(res.json()).toEqual({ detail: expect.stringMatching(/database/i) });
    } finally {
      await app.close();
    }
  }, 60_000);
});
