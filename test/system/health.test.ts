import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { createDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

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

describe('health probes at once', () => {
  let storage: TestDatabase;
  beforeAll(async () => {
    storage = await createTestDatabase();
  });
  afterAll(async () => {
    await storage.cleanup();
  });

  /** The real database, each ping held until `release` is called, and counted. */
  function heldPings(database: DatabaseHandle) {
    const held: Array<() => void> = [];
    let pings = 0;
    const handle: DatabaseHandle = {
      ...database,
      ping: async (timeoutMs) => {
        pings += 1;
        await new Promise<void>((resolve) => held.push(resolve));
        return database.ping(timeoutMs);
      },
    };
    return { handle, pings: () => pings, release: () => held.splice(0).forEach((resolve) => resolve()) };
  }

  const waitFor = async (condition: () => boolean) => {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
  };

  it('share the ping in flight, and the next probe pings again', async () => {
    const database = createDatabase(storage.url);
    const probe = heldPings(database);
    const app = await buildApp(testConfig(), { database: probe.handle });
    try {
      const answers = Promise.all(Array.from({ length: 8 }, () => app.inject({ method: 'GET', url: '/health' })));
      await waitFor(() => probe.pings() === 1);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(probe.pings()).toBe(1);
      probe.release();
      for (const res of await answers) expect(res.json()).toMatchObject({ status: 'healthy', database: 'ok' });

      const next = app.inject({ method: 'GET', url: '/health' });
      await waitFor(() => probe.pings() === 2);
      probe.release();
      expect((await next).statusCode).toBe(200);
    } finally {
      await app.close();
      await database.close();
    }
  }, 60_000);

  it('report a database that went down at once: no answer is kept beyond the ping in flight', async () => {
    const database = createDatabase(storage.url);
    const probe = heldPings(database);
    const app = await buildApp(testConfig(), { database: probe.handle });
    try {
      const first = app.inject({ method: 'GET', url: '/health' });
      await waitFor(() => probe.pings() === 1);
      probe.release();
      expect((await first).statusCode).toBe(200);

      // Down while a ping is out: every probe sharing it learns it.
      const during = Promise.all(Array.from({ length: 4 }, () => app.inject({ method: 'GET', url: '/health' })));
      await waitFor(() => probe.pings() === 2);
      await database.close();
      probe.release();
      for (const res of await during) {
        expect(res.statusCode).toBe(503);
        expect(res.json()).toMatchObject({ status: 'unhealthy', database: 'unavailable' });
      }
      expect(probe.pings()).toBe(2);
    } finally {
      await app.close();
    }
  }, 60_000);
});
