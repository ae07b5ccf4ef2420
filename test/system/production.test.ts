// The production build as it runs in an image: `node server.js` and `node cli.js` compiled by tsc,
// without TypeScript tooling, on this file's own database (SQLite, or PostgreSQL with
// TEST_DATABASE_URL). One process (WEB_CONCURRENCY unset): readiness, metrics on METRICS_PORT, and
// graceful shutdown — a SIGTERM in the middle of a stream of requests loses none, finishes the one in
// flight, closes sockets with 1001 and flushes the audit trail; a second signal or
// SHUTDOWN_TIMEOUT_MS ends it at once.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { seriesOf } from '../helpers/metrics.js';
import { freePort, productionEnv, ROOT, runCli, startServer, type ServerProcess } from '../helpers/processes.js';
import { productionBuild, type ProductionBuild } from '../helpers/production-build.js';
import { openSocket, socketUrl } from '../helpers/sockets.js';
import { call, halfSentRequest, newTask, NOT_ACCEPTED, requestStream } from '../helpers/traffic.js';

const PASSWORD = 'Production-pass-1';

let build: ProductionBuild;
let database: TestDatabase;
let env: NodeJS.ProcessEnv;
const started: ServerProcess[] = [];

const start = async (overrides: Record<string, string> = {}) => {
  const server = await startServer({ ...env, PORT: String(await freePort()), ...overrides }, 30_000, build.server);
  started.push(server);
  return server;
};

const createUser = async (username: string, role: string) => {
  const made = await runCli(['create-user', '--username', username, '--email', `${username}@example.com`, '--password', PASSWORD, '--role', role], env, build.cli);
  expect(made.code, made.output).toBe(0);
  return Number(made.stdout.trim().split('\n').pop());
};

const login = async (url: string, username: string) => {
  const res = await call(`${url}/api/auth/login`, { method: 'POST', body: { username, password: PASSWORD } });
  expect(res.status, res.body).toBe(200);
  return { authorization: `Bearer ${(JSON.parse(res.body ?? '{}') as { access: string }).access}` };
};

const exitWithin = (server: ServerProcess) => {
  const sentAt = Date.now();
  return server.stop('SIGTERM').then((code) => ({ code, ms: Date.now() - sentAt }));
};

beforeAll(async () => {
  [build, database] = await Promise.all([productionBuild(), createTestDatabase({ migrate: false })]);
  env = productionEnv({ DATABASE_URL: database.url, SHUTDOWN_TIMEOUT_MS: '10000' });
}, 600_000);

afterAll(async () => {
  await Promise.all(started.map((server) => server.stop('SIGKILL')));
  await database?.cleanup();
});

describe('the build', () => {
  it('compiles every migration that migrations/index.ts lists, and nothing in it needs TypeScript tooling', () => {
    const index = readFileSync(join(ROOT, 'src/db/migrations/index.ts'), 'utf8');
    const listed = [...index.matchAll(/from '\.\/([\w-]+)\.js'/g)].map((m) => m[1]);
    expect(listed.length).toBeGreaterThanOrEqual(3);
    for (const name of listed) expect(existsSync(join(build.dir, 'db/migrations', `${name}.js`)), name).toBe(true);
    const compiled = readdirSync(build.dir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js'));
    for (const file of compiled) expect(readFileSync(join(build.dir, file), 'utf8'), file).not.toMatch(/from ['"](tsx|typescript)|\.ts['"]/);
  });

  it('runs the command line: migrate, then create-user', async () => {
    const migrated = await runCli(['migrate'], env, build.cli);
    expect(migrated.code, migrated.output).toBe(0);
    expect(migrated.output).toContain('Applied migration 0001_initial');
    expect(await createUser('prod_manager', 'manager')).toBeGreaterThan(0);
  });
});

describe('one production process', () => {
  let server: ServerProcess;
  let metricsPort: number;
  let devId: number;

  beforeAll(async () => {
    devId = await createUser('prod_dev', 'developer');
    metricsPort = await freePort();
    server = await start({
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: `ctms-production-${process.pid}`,
      METRICS_ENABLED: 'true',
      METRICS_PORT: String(metricsPort),
    });
  }, 60_000);

  it('is live and ready, with the database and Redis answering', async () => {
    expect((await call(`${server.url}/health`)).status).toBe(200);
    const ready = await call(`${server.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body ?? '')).toEqual({ status: 'ready', database: 'ok', redis: 'ok' });
  });

  it.runIf(existsSync('/proc/self/task'))('runs its event loop before its other threads: every helper thread (libuv pool, V8) at a lower priority', () => {
    const pid = server.child.pid as number;
    // Field 19 of /proc/<pid>/task/<tid>/stat is the thread's nice value (after the command in parentheses).
    const niceness = (tid: string) => Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ')[16]);
    const threads = readdirSync(`/proc/${pid}/task`);
    expect(niceness(String(pid))).toBe(0);
    const helpers = threads.filter((tid) => tid !== String(pid));
    // V8's platform workers and libuv's 4 pool threads at least.
    expect(helpers.length).toBeGreaterThanOrEqual(5);
    for (const tid of helpers) expect(niceness(tid), `thread ${tid}`).toBe(10);
  });

  it('serves metrics on METRICS_PORT only, counting requests by route template', async () => {
    const headers = await login(server.url, 'prod_dev');
    for (let i = 0; i < 3; i += 1) expect((await call(`${server.url}/api/tasks/77${i}`, { headers })).status).toBe(404);
    expect((await call(`${server.url}/metrics`)).status).toBe(404);
    const scrape = await call(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(scrape.status).toBe(200);
    const requests = seriesOf(scrape.body ?? '', 'ctms_http_requests_total');
    expect(requests).toContainEqual({ labels: { method: 'GET', route: '/api/tasks/:id', status_code: '404' }, value: 3 });
    // The main port's /metrics is an unknown path there.
    expect(requests).toContainEqual({ labels: { method: 'GET', route: 'unmatched', status_code: '404' }, value: 1 });
    expect((await call(`http://127.0.0.1:${metricsPort}/other`)).status).toBe(404);
  });

  it('on SIGTERM loses no request of a stream, finishes the one in flight, closes sockets with 1001, flushes the audit trail and exits 0', async () => {
    const headers = await login(server.url, 'prod_manager');
    const devHeaders = await login(server.url, 'prod_dev');
    const socket = await openSocket(socketUrl(`127.0.0.1:${server.port}`, devHeaders.authorization.slice('Bearer '.length)));
    await socket.roundTrip();
    const agentHeaders = { ...headers, 'user-agent': 'production-stream' };
    const inFlight = await halfSentRequest(server.port, '/api/tasks', agentHeaders, newTask('In flight', devId));

    let exit: Promise<{ code: number | null; ms: number }> | undefined;
    const outcomes = await requestStream({
      base: server.url,
      headers: agentHeaders,
      assignee: devId,
      total: 150,
      clients: 4,
      at: 40,
      trigger: () => {
        exit = exitWithin(server);
      },
    });
    const answer = await inFlight.finish();
    const { code, ms } = await exit!;

    expect(answer).toMatch(/^HTTP\/1\.1 201/);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(code, server.output()).toBe(0);
    expect(ms).toBeLessThan(10_000);
    expect((await socket.closed).code).toBe(1001);

    const answered = outcomes.filter((o) => o.status !== undefined);
    expect(answered.filter((o) => o.status! < 200 || o.status! >= 300)).toEqual([]);
    expect(answered.length).toBeGreaterThanOrEqual(39);
    for (const o of outcomes.filter((o) => o.error !== undefined)) expect(NOT_ACCEPTED).toContain(o.error);
    // Every write that was answered happened, and none happened unanswered.
    const created = answered.filter((o) => o.status === 201).length + 1;
    const stored = await database.handle.db.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(stored.n)).toBe(created);
    const audited = await database.handle.db
      .selectFrom('api_audit_logs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_agent', '=', 'production-stream')
      .executeTakeFirstOrThrow();
    expect(Number(audited.n)).toBe(answered.length + 1);
  }, 60_000);
});

describe('a process that cannot finish its shutdown', () => {
  it('reports Redis as not ready, then exits at once on a second SIGTERM', async () => {
    const server = await start({ REDIS_URL: 'redis://127.0.0.1:1', SHUTDOWN_TIMEOUT_MS: '60000' });
    const ready = await call(`${server.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body ?? '')).toMatchObject({ status: 'not_ready', database: 'ok', redis: 'unavailable', detail: expect.stringContaining('Redis') });

    const headers = await login(server.url, 'prod_manager');
    await halfSentRequest(server.port, '/api/tags', headers, { name: 'never-finished' });
    const exit = exitWithin(server);
    await new Promise((r) => setTimeout(r, 1000));
    expect(server.child.exitCode).toBeNull();
    const sentAt = Date.now();
    server.child.kill('SIGTERM');
    const { code } = await exit;
    expect(code).toBe(1);
    expect(Date.now() - sentAt).toBeLessThan(2000);
  }, 60_000);

  it('exits 1 once SHUTDOWN_TIMEOUT_MS has passed', async () => {
    const server = await start({ SHUTDOWN_TIMEOUT_MS: '1500' });
    const headers = await login(server.url, 'prod_manager');
    await halfSentRequest(server.port, '/api/tags', headers, { name: 'never-finished' });
    const { code, ms } = await exitWithin(server);
    expect(code).toBe(1);
    expect(ms).toBeGreaterThanOrEqual(1400);
    expect(ms).toBeLessThan(6000);
    expect(server.output()).toContain('SHUTDOWN_TIMEOUT_MS');
  }, 60_000);
});
