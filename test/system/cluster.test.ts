// WEB_CONCURRENCY=2: the production build as a node:cluster primary and two workers on one port and
// this file's database (SQLite, or PostgreSQL with TEST_DATABASE_URL). Both workers serve, a burst of
// parallel writes all succeed, metrics sum over the workers (main port and METRICS_PORT), a killed
// worker is replaced while the other answers, and SIGTERM stops the group losing no request; a
// second SIGTERM ends it at once.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restartDelayMs } from '../../src/runtime/primary.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { sample, seriesOf } from '../helpers/metrics.js';
import { freePort, productionEnv, runCli, startServer, type ServerProcess } from '../helpers/processes.js';
import { productionBuild, type ProductionBuild } from '../helpers/production-build.js';
import { eventually } from '../helpers/sockets.js';
import { call, halfSentRequest, newTask, NOT_ACCEPTED, requestStream } from '../helpers/traffic.js';

const PASSWORD = 'Cluster-pass-123';

let build: ProductionBuild;
let database: TestDatabase;
let env: NodeJS.ProcessEnv;
let devId: number;
const started: ServerProcess[] = [];

/** Starts a cluster and waits until both workers listen. */
const startCluster = async (overrides: Record<string, string>, metricsUrl: (server: ServerProcess) => string) => {
  const server = await startServer({ ...env, PORT: String(await freePort()), WEB_CONCURRENCY: '2', METRICS_ENABLED: 'true', ...overrides }, 40_000, build.server);
  started.push(server);
  await eventually(async () => sample((await call(metricsUrl(server))).body ?? '', 'ctms_cluster_workers') === 2, 40_000, 'two workers');
  return server;
};

const workerPids = (metrics: string) => new Map(seriesOf(metrics, 'ctms_worker_info').map((s) => [s.labels.worker, Number(s.labels.pid)]));
/** Whether the process runs: a zombie (killed, not yet reaped by whoever adopted it) does not. */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; the state follows the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};
const countTasks = async () =>
  Number((await database.handle.db.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

const login = async (url: string, username: string) => {
  const res = await call(`${url}/api/auth/login`, { method: 'POST', body: { username, password: PASSWORD } });
  expect(res.status, res.body).toBe(200);
  return { authorization: `Bearer ${(JSON.parse(res.body ?? '{}') as { access: string }).access}` };
};

beforeAll(async () => {
  [build, database] = await Promise.all([productionBuild(), createTestDatabase()]);
  env = productionEnv({
    DATABASE_URL: database.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `ctms-cluster-${process.pid}`,
    SHUTDOWN_TIMEOUT_MS: '10000',
  });
  for (const [username, role] of [['cluster_manager', 'manager'], ['cluster_dev', 'developer']] as const) {
    const made = await runCli(['create-user', '--username', username, '--email', `${username}@example.com`, '--password', PASSWORD, '--role', role], env, build.cli);
    expect(made.code, made.output).toBe(0);
    if (role === 'developer') devId = Number(made.stdout.trim().split('\n').pop());
  }
}, 600_000);

afterAll(async () => {
  await Promise.all(started.map((server) => server.stop('SIGKILL')));
  await database?.cleanup();
});

it('waits longer before each replacement of a worker that keeps dying young, up to 30 s', () => {
  expect([1, 2, 3, 4, 5, 6, 7, 20].map(restartDelayMs)).toEqual([0, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
});

describe('two workers, metrics on the main port', () => {
  let server: ServerProcess;
  const metrics = async () => (await call(`${server.url}/metrics`, { headers: { connection: 'close' } })).body ?? '';

  beforeAll(async () => {
    server = await startCluster({}, (s) => `${s.url}/metrics`);
  }, 60_000);

  it('runs two worker processes, each serving the port; any worker’s /metrics sums both', async () => {
    const pids = workerPids(await metrics());
    expect([...pids.keys()].sort()).toEqual(['1', '2']);
    expect(new Set(pids.values()).size).toBe(2);
    expect([...pids.values()]).not.toContain(server.child.pid);

    const route = { method: 'GET', route: '/health', status_code: '200' };
    const before = sample(await metrics(), 'ctms_http_requests_total', route) ?? 0;
    // New connections are dealt to the workers in turn: each worker answers about half of them.
    for (let i = 0; i < 40; i += 1) expect((await call(`${server.url}/health`, { headers: { connection: 'close' } })).status).toBe(200);
    expect(sample(await metrics(), 'ctms_http_requests_total', route)).toBe(before + 40);
  });

  it('takes a burst of parallel writes with no error', async () => {
    const headers = await login(server.url, 'cluster_manager');
    const before = await countTasks();
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        call(`${server.url}/api/tasks`, { method: 'POST', headers: { ...headers, connection: 'close' }, body: newTask(`Burst ${i}`, devId) }),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(Array(60).fill(201));
    expect(await countTasks()).toBe(before + 60);
  });

  it('replaces a killed worker while the other keeps answering', async () => {
    const old = workerPids(await metrics()).get('2')!;
    process.kill(old, 'SIGKILL');
    // A connection dealt to the worker in the instant it died would be lost with it (README); once
    // the primary knows, every connection goes to the live worker.
    await eventually(() => /worker 2 exited; replacing it/.test(server.output()), 5000, 'the primary to notice');
    const statuses: Array<number | string> = [];
    await eventually(
      async () => {
        const probe = await call(`${server.url}/health/ready`, { headers: { connection: 'close' } });
        statuses.push(probe.status ?? probe.error ?? 'none');
        const now = await metrics();
        const replacement = workerPids(now).get('2');
        return replacement !== undefined && replacement !== old && sample(now, 'ctms_cluster_workers') === 2;
      },
      30_000,
      'a new worker 2',
    );
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect(statuses.length).toBeGreaterThan(1);
    expect(sample(await metrics(), 'ctms_cluster_worker_restarts_total')).toBe(1);
  }, 40_000);

  it('on SIGTERM stops both workers gracefully, losing no request, and exits 0', async () => {
    const headers = { ...(await login(server.url, 'cluster_manager')), 'user-agent': 'cluster-stream' };
    const pids = [...workerPids(await metrics()).values()];
    const before = await countTasks();
    let exit: Promise<{ code: number | null; ms: number }> | undefined;
    const outcomes = await requestStream({
      base: server.url,
      headers,
      assignee: devId,
      total: 150,
      clients: 4,
      at: 40,
      trigger: () => {
        const sentAt = Date.now();
        exit = server.stop('SIGTERM').then((code) => ({ code, ms: Date.now() - sentAt }));
      },
    });
    const { code, ms } = await exit!;
    expect(code, server.output()).toBe(0);
    expect(ms).toBeLessThan(10_000);
    expect(pids.filter(alive)).toEqual([]);

    const answered = outcomes.filter((o) => o.status !== undefined);
    expect(answered.filter((o) => o.status! < 200 || o.status! >= 300)).toEqual([]);
    for (const o of outcomes.filter((o) => o.error !== undefined)) expect(NOT_ACCEPTED).toContain(o.error);
    expect(await countTasks()).toBe(before + answered.filter((o) => o.status === 201).length);
  }, 60_000);
});

describe('two workers, metrics on METRICS_PORT', () => {
  it('serves the sum over both workers on METRICS_PORT, not on the main port; a second SIGTERM ends the group at once', async () => {
    const metricsPort = await freePort();
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const server = await startCluster({ METRICS_PORT: String(metricsPort), SHUTDOWN_TIMEOUT_MS: '60000' }, () => metricsUrl);
    expect((await call(`${server.url}/metrics`)).status).toBe(404);
    const scraped = (await call(metricsUrl)).body ?? '';
    expect(workerPids(scraped).size).toBe(2);
    expect(sample(scraped, 'ctms_http_requests_total', { route: 'unmatched', status_code: '404' })).toBe(1);

    const pids = [...workerPids(scraped).values()];
    const headers = await login(server.url, 'cluster_manager');
    await halfSentRequest(server.port, '/api/tags', headers, { name: 'never-finished' });
    const exit = server.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    expect(server.child.exitCode).toBeNull();
    const sentAt = Date.now();
    server.child.kill('SIGTERM');
    expect(await exit).toBe(1);
    expect(Date.now() - sentAt).toBeLessThan(2000);
    await eventually(() => pids.every((pid) => !alive(pid)), 5000, 'the workers to be gone');
  }, 90_000);
});
