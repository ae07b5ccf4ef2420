import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { createDatabase } from '../../src/db/database.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

describe('service endpoints', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('reports healthy with the app name, version and environment when the database answers', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'healthy', app: 'CTMS', version: '1.0.0', environment: 'test', database: 'ok' });
  });

  it('answers /health/ with a trailing slash without redirecting', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/' });
    expect(res.statusCode).toBe(200);
  });

  it('serves the index with links to the docs and health check', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/' });
    expect(res.json()).toEqual({ message: 'Welcome to CTMS API', docs: '/docs', health: '/health' });
  });

  it('serves an OpenAPI 3 document generated from the routes', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toContain('/health');
  });

  it('serves interactive documentation at /docs', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('swagger');
  });
});

describe('health when the database is unreachable', () => {
  it('answers 503 unhealthy', async () => {
    const database = process.env.TEST_DATABASE_URL
      ? createDatabase('postgresql://postgres@127.0.0.1:1/nowhere')
      : createDatabase('sqlite:///:memory:');
    if (!process.env.TEST_DATABASE_URL) await database.close();
    const app = await buildApp(testConfig(), { database });
    try {
      const res = await app.inject({ method: 'GET', url: '/health' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ status: 'unhealthy', database: 'unavailable' });
    } finally {
      await app.close();
      if (process.env.TEST_DATABASE_URL) await database.close();
    }
  });
});
