// /metrics (METRICS_ENABLED, METRICS_PORT) and /health/ready on the app itself: Prometheus text with
// requests by route template (never by URL), open sockets, notifications pushed, the audit queue,
// the PostgreSQL pool and the process; readiness of the database and of Redis. The cluster's sum
// over workers and the METRICS_PORT server are tested on real processes (cluster.test.ts,
// production.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig, testConfig } from '../../src/config.js';
import { createDatabase } from '../../src/db/database.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { sample } from '../helpers/metrics.js';
import { eventually, listen, openSocket, socketUrl } from '../helpers/sockets.js';
import { signIn } from '../helpers/tasks.js';
import { newTask } from '../helpers/traffic.js';

const onPostgres = Boolean(process.env.TEST_DATABASE_URL);

describe('metrics', () => {
  let t: TestApp;
  const scrape = async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    return res.body;
  };

  beforeAll(async () => {
    t = await buildTestApp({ metricsEnabled: true, wsHeartbeatSeconds: 3600 });
  });
  afterAll(async () => {
    await t.close();
  });

  it('serves the Prometheus text format', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('# TYPE ctms_http_requests_total counter');
    expect(res.body).toContain('# TYPE ctms_http_request_duration_seconds histogram');
  });

  it('counts requests by route template and status, never by the URL', async () => {
    const dev = await signIn(t.app);
    for (const id of [918273, 918274, 918275]) await t.app.inject({ method: 'GET', url: `/api/tasks/${id}`, headers: dev.headers });
    await t.app.inject({ method: 'GET', url: '/api/tasks/', headers: dev.headers });
    await t.app.inject({ method: 'GET', url: '/no/such/path/5551234' });
    const text = await scrape();
    expect(sample(text, 'ctms_http_requests_total', { method: 'GET', route: '/api/tasks/:id', status_code: '404' })).toBe(3);
    expect(sample(text, 'ctms_http_requests_total', { method: 'GET', route: '/api/tasks', status_code: '200' })).toBe(1);
    expect(sample(text, 'ctms_http_request_duration_seconds_count', { route: '/api/tasks/:id', status_code: '404' })).toBe(3);
    expect(sample(text, 'ctms_http_requests_total', { route: 'unmatched', status_code: '404' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toMatch(/918273|5551234/);
  });

  it('reports open sockets and the notifications pushed to them', async () => {
    const manager = await signIn(t.app, { role: 'manager' });
    const dev = await signIn(t.app);
    const socket = await openSocket(socketUrl(await listen(t.app), dev.accessToken));
    await socket.roundTrip();
    const before = await scrape();
    expect(sample(before, 'ctms_websocket_connections')).toBe(1);
    const pushedBefore = sample(before, 'ctms_notifications_pushed_total') ?? 0;

    const created = await t.app.inject({ method: 'POST', url: '/api/tasks', headers: manager.headers, payload: newTask('Counted', dev.user.id) });
    expect(created.statusCode).toBe(201);
    await socket.next((m) => m.type === 'notification');
    expect(sample(await scrape(), 'ctms_notifications_pushed_total')).toBe(pushedBefore + 1);
    await socket.close();
    await eventually(async () => sample(await scrape(), 'ctms_websocket_connections') === 0, 5000, 'the socket to be gone');
  });

  it('reports the audit queue: depth and rows written, dropped and failed', async () => {
    const dev = await signIn(t.app);
    await t.app.inject({ method: 'GET', url: '/api/tags', headers: dev.headers });
    await t.app.audit.flush();
    const text = await scrape();
    expect(sample(text, 'ctms_audit_queue_depth')).toBe(0);
    expect(sample(text, 'ctms_audit_rows_total', { outcome: 'written' })).toBeGreaterThan(0);
    expect(sample(text, 'ctms_audit_rows_total', { outcome: 'dropped' })).toBe(0);
    expect(sample(text, 'ctms_audit_rows_total', { outcome: 'failed' })).toBe(0);
  });

  it('reports the process: memory, event-loop lag, and which worker it is', async () => {
    const text = await scrape();
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'ctms_worker_info', { worker: '1', pid: String(process.pid) })).toBe(1);
  });

  it.runIf(onPostgres)('reports the PostgreSQL pool on PostgreSQL', async () => {
    const text = await scrape();
    expect(sample(text, 'ctms_db_pool_connections', { state: 'idle' })).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'ctms_db_pool_connections', { state: 'in_use' })).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'ctms_db_pool_waiting_queries')).toBe(0);
  });

  it.runIf(!onPostgres)('has no pool metrics on SQLite, which has one connection', async () => {
    expect(await scrape()).not.toContain('ctms_db_pool');
  });

  it('documents /metrics and /health/ready in the OpenAPI document, under service', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.paths['/metrics'].get.tags).toEqual(['service']);
    expect(doc.paths['/health/ready'].get.tags).toEqual(['service']);
    expect(Object.keys(doc.paths['/health/ready'].get.responses)).toEqual(expect.arrayContaining(['200', '503']));
  });
});

describe('metrics switched off or moved', () => {
  it.each([
    ['METRICS_ENABLED is off (the default)', {}],
    ['METRICS_PORT moves them to their own port', { metricsEnabled: true, metricsPort: 9464 }],
  ])('answers 404 on the main port when %s', async (_label, overrides) => {
    const t = await buildTestApp(overrides);
    try {
      const res = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(404);
      expect(typeof res.json().detail).toBe('string');
    } finally {
      await t.close();
    }
  });

  it('reads METRICS_ENABLED, METRICS_PORT and WEB_CONCURRENCY, refusing bad values', () => {
    expect(loadConfig({}, { dataDir: null })).toMatchObject({ metricsEnabled: false, metricsPort: null, webConcurrency: 1 });
    expect(loadConfig({ METRICS_ENABLED: 'true', METRICS_PORT: '9464', WEB_CONCURRENCY: '3' }, { dataDir: null })).toMatchObject({
      metricsEnabled: true,
      metricsPort: 9464,
      webConcurrency: 3,
    });
    expect(loadConfig({ WEB_CONCURRENCY: 'auto' }, { dataDir: null }).webConcurrency).toBeGreaterThanOrEqual(1);
    expect(() => loadConfig({ WEB_CONCURRENCY: '0', METRICS_PORT: '8000', METRICS_ENABLED: 'maybe' }, { dataDir: null })).toThrow(
      /WEB_CONCURRENCY[\s\S]*METRICS_ENABLED[\s\S]*METRICS_PORT must differ from PORT/,
    );
  });
});

describe('readiness', () => {
  it('is ready when the database answers, with Redis disabled without REDIS_URL', async () => {
    const t = await buildTestApp();
    try {
      const res = await t.app.inject({ method: 'GET', url: '/health/ready/' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ready', database: 'ok', redis: 'disabled' });
    } finally {
      await t.close();
    }
  });

  it('checks Redis when REDIS_URL is set', async () => {
    const t = await buildTestApp({ redisUrl: 'redis://127.0.0.1:6379', redisKeyPrefix: `ctms-ready-${process.pid}` });
    try {
      await eventually(async () => (await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode === 200, 5000, 'Redis');
      expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).json()).toEqual({ status: 'ready', database: 'ok', redis: 'ok' });
    } finally {
      await t.close();
    }
  });

  it('answers 503 naming Redis when Redis does not answer', async () => {
    const t = await buildTestApp({ redisUrl: 'redis://127.0.0.1:1' });
    try {
      const res = await t.app.inject({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: 'not_ready', detail: 'Not ready: Redis unavailable', database: 'ok', redis: 'unavailable' });
      expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('answers 503 naming the database when it does not answer', async () => {
    const database = onPostgres ? createDatabase('postgresql://postgres@127.0.0.1:1/nowhere') : createDatabase('sqlite:///:memory:');
    if (!onPostgres) await database.close();
    const app = await buildApp(testConfig(), { database });
    try {
      const res = await app.inject({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: 'not_ready', detail: 'Not ready: database unavailable', database: 'unavailable', redis: 'disabled' });
    } finally {
      await app.close();
      if (onPostgres) await database.close();
    }
  });
});
