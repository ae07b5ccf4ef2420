// `npm run bench`: the load benchmark of issue 10. Compiles the service (tsc, as `npm run build`),
// seeds a fresh database through the project's own database code, starts the production server
// (`node server.js`, ENVIRONMENT=production) in its own process, drives it from this process with
// autocannon, measures bare node:http ceilings on the same database in the same run, and prints one
// table plus the targets. `--smoke` is CI's short run: it fails on errors and broken scenarios only.
// Options: bench/options.ts (npm run bench -- --help). Method and results: docs/performance.md.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import bcrypt from 'bcrypt';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig, type Config } from '../src/config.js';
import { createDatabase, type DatabaseHandle } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { hashPassword } from '../src/lib/hash.js';
import { ROOT } from '../test/helpers/processes.js';
import { productionBuild } from '../test/helpers/production-build.js';
import { runFanout, type FanoutResult } from './fanout.js';
import { combine, drive, type LoadResult, type Requests } from './load.js';
import { parseOptions, type BenchOptions, type ScenarioName } from './options.js';
import { postgresCpuSeconds, sampler, spawnServer, type Served } from './processes.js';
import { machine, resultsTable, targetsTable, type CpuUse, type Row, type Target } from './report.js';
import { httpScenarios, probe, type Context, type HttpScenario } from './scenarios.js';
import { mintTokens, PASSWORD, seed, seedListeners } from './seed.js';

const MiB = 1024 * 1024;
/** The steady health probe beside the login storm: requests a second, connections. */
const PROBE_RATE = 200;
const PROBE_CONNECTIONS = 4;
/** Execution order: reads on the seeded data first, then writes (which add tasks), ws-fanout last. */
const ORDER: ScenarioName[] = ['health', 'login', 'list', 'list-all', 'list-dev', 'get', 'analytics', 'notifications', 'create', 'patch', 'bulk-100', 'ws-fanout'];
const CEILING_OF: Partial<Record<ScenarioName, { kind: string; path: string; label: string }>> = {
  health: { kind: 'small', path: '/health', label: 'ceiling 1: small JSON' },
  list: { kind: 'list', path: '/api/tasks?limit=100', label: 'ceiling 2: list SQL + JSON' },
  analytics: { kind: 'analytics', path: '/api/analytics', label: 'ceiling 3: analytics SQL + JSON' },
};

interface Bench {
  options: BenchOptions;
  workdir: string;
  databaseUrl: string;
  env: NodeJS.ProcessEnv;
  config: Config;
  handle: DatabaseHandle;
  serverScript: string;
  ctx: Context;
  passwordHash: string;
  managerId: number;
  developerTimezone: string;
  problems: string[];
  /** The ceiling servers the selected scenarios need, by kind, started once (they idle until measured). */
  ceilings: Map<string, Served>;
  /** Fastify with health's schema and the service's headers only (floor.ts), when health has its ceiling. */
  floor: Served | null;
  lastSeededNotificationId: number;
}

const started = performance.now();
const log = (message: string) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);

async function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 6379) });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** A database of our own: a SQLite file in the work directory, or a PostgreSQL database created for this run. */
async function createBenchDatabase(options: BenchOptions, workdir: string, suffix = ''): Promise<{ url: string; drop(): Promise<void> }> {
  if (options.db === 'sqlite') return { url: `sqlite:///${join(workdir, `bench${suffix}.db`)}`, drop: async () => undefined };
  const name = `ctms_bench_${process.pid}${suffix}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: options.pgUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`drop database if exists ${name}`);
  await admin(`create database ${name}`);
  const url = new URL(options.pgUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) };
}

function serverEnv(options: BenchOptions, databaseUrl: string, redisUrl: string | null, workers: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    ENVIRONMENT: 'production',
    SECRET_KEY: randomBytes(32).toString('hex'),
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    ...(redisUrl === null ? {} : { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `ctms_bench_${process.pid}` }),
    LOG_LEVEL: options.logLevel,
    BCRYPT_ROUNDS: String(options.bcryptRounds),
    WEB_CONCURRENCY: String(workers),
    ALLOWED_ORIGINS: 'http://localhost:3000',
    // The bench measures request handling: per-user and per-address limits would answer 429 to a
    // load generator, and the scheduled jobs would change tasks under the run.
    RATE_LIMIT_ENABLED: 'false',
    JOBS_ENABLED: 'false',
    ...options.serverEnv,
  };
}

async function startService(bench: Bench, workers: number, databaseUrl = bench.databaseUrl): Promise<Served> {
  const env = { ...bench.env, WEB_CONCURRENCY: String(workers), DATABASE_URL: databaseUrl };
  const profile = bench.options.profileDir === null ? [] : ['--cpu-prof', '--cpu-prof-dir', bench.options.profileDir];
  return spawnServer({ args: [...profile, bench.serverScript], env, logFile: join(bench.workdir, `server-${workers}.log`), workers: workers > 1 });
}

/**
 * Measure the steady state a live database is in, not the one right after a bulk load or a burst of
 * updates: PostgreSQL's visibility map (index-only scans) and both databases' planner statistics
 * come from (auto)vacuum and analyze, which a production database has long had. Right after the
 * write scenarios (each task updated about a hundred times), PostgreSQL answered analytics at a
 * fifth of its rate before them, busy with the dead row versions.
 */
async function vacuum(handle: DatabaseHandle): Promise<void> {
  await sql.raw(handle.dialect === 'postgres' ? 'vacuum analyze' : 'analyze').execute(handle.db);
}

/** Seeds a database and mints the tokens the scenarios use. */
async function prepareData(handle: DatabaseHandle, config: Config, tasks: number, passwordHash: string) {
  await migrateToLatest(handle.db);
  const seeded = await seed(handle.db, { tasks, passwordHash });
  await vacuum(handle);
  const [managerToken = ''] = await mintTokens(handle.db, config, [seeded.managerId]);
  const ctx: Context = {
    tasks,
    managerToken,
    developerTokens: await mintTokens(handle.db, config, seeded.developerIds),
    developerIds: seeded.developerIds,
    loginUsernames: seeded.loginUsernames,
    taskIds: seeded.taskIds,
    tagIds: seeded.tagIds,
  };
  return { seeded, ctx };
}

/** The highest notification id: those above it are the ones the write scenarios add. */
async function lastNotificationId(handle: DatabaseHandle): Promise<number> {
  const row = await handle.db.selectFrom('notifications').select((eb) => eb.fn.max('id').as('last')).executeTakeFirst();
  return Number(row?.last ?? 0);
}

/**
 * Removes the tasks and notifications the write scenarios added, so that later comparisons see the
 * seeded data (vacuumed). The history they wrote stays: no read scenario reads it.
 */
async function restoreSeededData(bench: Bench): Promise<void> {
  await bench.handle.db.deleteFrom('notifications').where('id', '>', bench.lastSeededNotificationId).execute();
  await bench.handle.db.deleteFrom('tasks').where('id', '>', Math.max(...bench.ctx.taskIds)).execute();
  await vacuum(bench.handle);
}

/** list and analytics on the seeded database and on one of `tasks` tasks, taking turns; their throughput ratios. */
async function compareScale(bench: Bench, tasks: number, rows: Row[]): Promise<Array<{ name: string; ratio: number }>> {
  const big = await createBenchDatabase(bench.options, bench.workdir, '_scale');
  const handle = createDatabase(big.url);
  const servers: Served[] = [];
  try {
    log(`seeding ${tasks} tasks for the scale comparison`);
    const { ctx } = await prepareData(handle, bench.config, tasks, bench.passwordHash);
    servers.push(...(await Promise.all([startService(bench, 1), startService(bench, 1, big.url)])));
    const [small, large] = [httpScenarios(bench.ctx), httpScenarios(ctx)];
    const ratios: Array<{ name: string; ratio: number }> = [];
    for (const name of ['list', 'analytics'] as const) {
      log(`scale comparison: ${name}`);
      const problem = await probe(servers[1]?.url ?? '', large[name]);
      if (problem !== null) bench.problems.push(`${name} at ${tasks} tasks: ${problem}`);
      const [a, b] = await measure(bench, [
        { server: servers[0] as Served, requests: small[name].request },
        { server: servers[1] as Served, requests: large[name].request },
      ]);
      if (!a || !b) continue;
      const ratio = a.requests > 0 && b.requests > 0 ? pairedRatio(b, a, (slice) => slice.rps) : Number.NaN;
      rows.push(row(`${name} (${bench.ctx.tasks} tasks)`, a));
      rows.push(row(`${name} (${tasks} tasks)`, b, `${(ratio * 100).toFixed(0)} % of its rate at ${bench.ctx.tasks}`));
      ratios.push({ name, ratio });
    }
    return ratios;
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await handle.close();
    await big.drop();
  }
}

const FLOOR_LABEL = 'floor 1: Fastify + the same headers';

/** The framework's floor for health (floor.ts), with the service's environment. */
async function startFloor(bench: Bench): Promise<Served> {
  const profile = bench.options.profileDir === null ? [] : ['--cpu-prof', '--cpu-prof-dir', join(bench.options.profileDir, 'floor')];
  return spawnServer({
    args: [...profile, '--import', 'tsx', join(import.meta.dirname, 'floor.ts')],
    env: bench.env,
    logFile: join(bench.workdir, 'floor.log'),
    workers: false,
  });
}

async function startCeiling(bench: Bench, kind: string): Promise<Served> {
  const profile = bench.options.profileDir === null ? [] : ['--cpu-prof', '--cpu-prof-dir', join(bench.options.profileDir, `ceiling-${kind}`)];
  return spawnServer({
    args: [...profile, '--import', 'tsx', join(import.meta.dirname, 'ceiling.ts')],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', CEILING: kind, DATABASE_URL: bench.databaseUrl, CEILING_USER_ID: String(bench.managerId) },
    logFile: join(bench.workdir, `ceiling-${kind}.log`),
    workers: false,
  });
}

/** Runs one part of the bench; a part that throws is reported as a problem and the others go on. */
async function attempt<T>(bench: Bench, what: string, part: () => Promise<T>): Promise<T | null> {
  try {
    return await part();
  } catch (error) {
    log(`${what} failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    bench.problems.push(`${what}: failed (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
    return null;
  }
}

/**
 * autocannon stops at its deadline with up to `connections` requests unanswered, which the server
 * still works through: a short pause (about their latency, at most 2 s) keeps that backlog out of
 * whatever is measured next.
 */
async function settle(previous: LoadResult): Promise<void> {
  const pause = Math.min(2000, Number.isFinite(previous.p99) ? previous.p99 : 2000);
  await new Promise((r) => setTimeout(r, pause));
}

/** How long a slice lasts, at least, when several contenders are measured in turn, and how many at most. */
const SLICE_SECONDS = 2;
const MAX_ROUNDS = 10;

interface Contender {
  server: Served;
  requests: Requests;
}

/** CPU seconds this process (the load generator) has used so far. */
function loadGeneratorCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** What is measured around one slice of load: where the 2 cores' time went during it. */
function cpuMeter(bench: Bench, server: Served) {
  const read = () => ({
    at: performance.now(),
    server: server.cpuSeconds(),
    loadGenerator: loadGeneratorCpuSeconds(),
    database: bench.options.db === 'postgres' ? postgresCpuSeconds() : null,
  });
  const start = read();
  return {
    stop(): CpuUse {
      const end = read();
      return {
        seconds: (end.at - start.at) / 1000,
        server: end.server - start.server,
        loadGenerator: end.loadGenerator - start.loadGenerator,
        database: end.database === null || start.database === null ? null : end.database - start.database,
      };
    },
  };
}

function addCpu(a: CpuUse | undefined, b: CpuUse): CpuUse {
  if (a === undefined) return b;
  return {
    seconds: a.seconds + b.seconds,
    server: a.server + b.server,
    loadGenerator: a.loadGenerator + b.loadGenerator,
    database: a.database === null || b.database === null ? null : a.database + b.database,
  };
}

/** One contender's slice: its throughput and server CPU seconds per answer (when measured). */
interface Slice {
  rps: number;
  cpuPerRequest: number | undefined;
}

type Answered = LoadResult & { rss: number; cpu?: CpuUse };
type Measured = Answered & { slices: Slice[] };

const median = (values: number[]): number => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/**
 * `a` against `b` slice by slice (each pair measured back to back), the median of those ratios: a
 * minute in which the machine's other load slows everything down weighs on one pair, not on the
 * whole comparison as it does on the totals.
 */
function pairedRatio(a: Measured, b: Measured, of: (slice: Slice) => number | undefined): number {
  return median(a.slices.map((slice, k) => {
    const other = b.slices[k];
    const [x, y] = [of(slice), other === undefined ? undefined : of(other)];
    return x === undefined || y === undefined || y === 0 ? Number.NaN : x / y;
  }));
}


/**
 * Warm-up (not counted), then the measured runs with each server's RSS sampled throughout and the CPU
 * time of the server, of this process (the load generator) and of PostgreSQL read around each slice.
 * Several contenders (a scenario and its ceiling; one worker and two) take turns in short slices, so
 * that the machine's other load, which drifts from minute to minute, falls on each of them alike.
 */
async function measure(bench: Bench, contenders: Contender[]): Promise<Measured[]> {
  const { connections, duration, warmup } = bench.options;
  for (const c of contenders) if (warmup > 0) await settle(await drive({ url: c.server.url, connections, duration: warmup, requests: c.requests }));
  const rounds = contenders.length > 1 ? Math.max(1, Math.min(MAX_ROUNDS, Math.floor(duration / SLICE_SECONDS))) : 1;
  const parts: LoadResult[][] = contenders.map(() => []);
  const slices: Slice[][] = contenders.map(() => []);
  const rss = contenders.map(() => 0);
  const cpu: Array<CpuUse | undefined> = contenders.map(() => undefined);
  for (let round = 0; round < rounds; round++) {
    for (const [k, c] of contenders.entries()) {
      const sampling = sampler(() => c.server.rss());
      const meter = cpuMeter(bench, c.server);
      const result = await drive({ url: c.server.url, connections, duration: duration / rounds, requests: c.requests });
      const used = meter.stop();
      cpu[k] = addCpu(cpu[k], used);
      parts[k]?.push(result);
      slices[k]?.push({ rps: result.rps, cpuPerRequest: result.requests === 0 ? undefined : used.server / result.requests });
      rss[k] = Math.max(rss[k] ?? 0, sampling.stop());
      await settle(result);
    }
  }
  return parts.map((p, k) => ({ ...combine(p), rss: rss[k] ?? 0, cpu: cpu[k], slices: slices[k] ?? [] }));
}

/** Scenarios (and ceilings) in which not one answer completed within the run: measured nothing. */
const emptyRuns: string[] = [];

function row(name: string, result: Answered, note?: string): Row {
  if (result.requests === 0) {
    emptyRuns.push(name);
    note = [note, 'no answer completed within the run'].filter(Boolean).join('; ');
  }
  const codes = Object.entries(result.statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, n]) => `${n}× ${code}`);
  return {
    scenario: name,
    rps: result.rps,
    p50: result.p50,
    p99: result.p99,
    errors: result.errors,
    rss: result.rss,
    cpu: result.cpu,
    bytes: result.bytesPerResponse,
    note: [note, codes.length > 0 ? codes.join(', ') : undefined].filter(Boolean).join('; ') || undefined,
  };
}

/** bcrypt.compare at the production cost, in this process, with enough in flight to fill libuv's pool. */
async function rawBcryptRate(hash: string, seconds: number): Promise<number> {
  const inFlight = 2 * Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        await bcrypt.compare(PASSWORD, hash);
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

interface LoginStorm {
  rawRate: number;
  idleProbe: LoadResult;
  stormProbe: LoadResult;
}

async function runLogin(bench: Bench, server: Served, scenario: HttpScenario, rows: Row[]): Promise<LoginStorm> {
  const { connections, duration } = bench.options;
  const probeSeconds = Math.min(duration, 5);
  const health = { requests: { method: 'GET' as const, path: '/health' } };
  log('raw bcrypt rate (in this process, all cores)');
  const rawRate = await rawBcryptRate(bench.passwordHash, probeSeconds);
  const idleProbe = await drive({ url: server.url, connections: PROBE_CONNECTIONS, duration: probeSeconds, overallRate: PROBE_RATE, ...health });
  const rss = sampler(() => server.rss());
  const [storm, stormProbe] = await Promise.all([
    drive({ url: server.url, connections, duration, requests: scenario.request }),
    (async () => {
      await new Promise((r) => setTimeout(r, Math.max(0, (duration - probeSeconds) * 500)));
      return drive({ url: server.url, connections: PROBE_CONNECTIONS, duration: probeSeconds, overallRate: PROBE_RATE, ...health });
    })(),
  ]);
  rows.push(row('login', { ...storm, rss: rss.stop() }, `BCRYPT_ROUNDS=${bench.options.bcryptRounds}; raw bcrypt ${rawRate.toFixed(1)}/s`));
  rows.push(row(`health probe idle (${PROBE_RATE}/s)`, { ...idleProbe, rss: 0 }));
  rows.push(row(`health probe in login storm (${PROBE_RATE}/s)`, { ...stormProbe, rss: 0 }));
  return { rawRate, idleProbe, stormProbe };
}

/** A scenario, taking turns with its ceiling when it has one (and, for health, with the framework's floor). */
async function runScenario(bench: Bench, server: Served, scenario: HttpScenario, rows: Row[]): Promise<void> {
  const ceiling = CEILING_OF[scenario.name];
  const ceilingServer = ceiling === undefined ? undefined : bench.ceilings.get(ceiling.kind);
  if (ceiling === undefined || ceilingServer === undefined) {
    const [result] = await measure(bench, [{ server, requests: scenario.request }]);
    if (result) rows.push(row(scenario.name, result));
    return;
  }
  const floor = scenario.name === 'health' ? bench.floor : null;
  const [result, bare, framework] = await measure(bench, [
    { server, requests: scenario.request },
    { server: ceilingServer, requests: { method: 'GET', path: ceiling.path } },
    ...(floor === null ? [] : [{ server: floor, requests: scenario.request }]),
  ]);
  if (!result || !bare) return;
  const againstCeiling = (measured: Measured) => ({
    ceilingRps: bare.rps,
    ceilingRatio: pairedRatio(measured, bare, (slice) => slice.rps),
    // Inverted: less CPU per answer is the better side.
    ceilingRatioByCpu: pairedRatio(bare, measured, (slice) => slice.cpuPerRequest),
  });
  rows.push(row(ceiling.label, bare, 'bare node:http'));
  if (bare.errors > 0) bench.problems.push(`${ceiling.label}: ${bare.errors} errors`);
  rows.push({ ...row(scenario.name, result), ...againstCeiling(result) });
  if (framework === undefined) return;
  rows.push({ ...row(FLOOR_LABEL, framework, "Fastify: the route's schema and the service's headers, nothing else"), ...againstCeiling(framework) });
  if (framework.errors > 0) bench.problems.push(`${FLOOR_LABEL}: ${framework.errors} errors`);
}

async function runWsFanout(bench: Bench, server: Served, rows: Row[]): Promise<FanoutResult> {
  const { sockets } = bench.options;
  const socketsPerUser = Math.min(bench.config.wsMaxSocketsPerUser, sockets);
  const users = Math.ceil(sockets / socketsPerUser);
  const listeners = await seedListeners(bench.handle.db, users, bench.managerId, bench.passwordHash, bench.developerTimezone);
  const tokens = await mintTokens(bench.handle.db, bench.config, listeners.userIds);
  const managerHeaders = { authorization: `Bearer ${bench.ctx.managerToken}`, 'content-type': 'application/json' };
  const result = await runFanout({
    serverUrl: server.url,
    tokens,
    socketsPerUser,
    sockets,
    rss: () => server.rss(),
    timeoutMs: 60_000,
    write: async () => {
      // One request per 500 users (the bulk update's limit): one write for up to 5,000 sockets.
      const answers = await Promise.all(
        Array.from({ length: Math.ceil(listeners.taskIds.length / 500) }, (_, k) =>
          fetch(`${server.url}/api/tasks/bulk-update`, {
            method: 'POST',
            headers: managerHeaders,
            body: JSON.stringify({ task_ids: listeners.taskIds.slice(k * 500, k * 500 + 500), status: 'in_progress' }),
          }),
        ),
      );
      return Promise.all(answers.map(async (res) => (res.ok ? '' : `bulk-update ${res.status}: ${await res.text()}`))).then((p) => p.filter(Boolean));
    },
  });
  const perSocket = (result.rssOpen - result.rssBefore) / sockets;
  rows.push({
    scenario: 'ws-fanout',
    rps: Number.NaN,
    p50: result.p50Ms,
    p99: result.allReceivedMs,
    errors: result.errors,
    rss: result.rssOpen,
    note:
      `${result.received}/${sockets} sockets (${users} users × ${socketsPerUser}) notified; last after ${result.allReceivedMs.toFixed(0)} ms ` +
      `(write answered in ${result.writeMs.toFixed(0)} ms); RSS ${(perSocket / 1024).toFixed(1)} KiB per socket`,
  });
  return result;
}

function evaluateTargets(
  bench: Bench,
  rows: Row[],
  idleRss: number,
  login: LoginStorm | null,
  fanout: FanoutResult | null,
  workers: WorkerComparison | null,
  scale: Array<{ name: string; ratio: number }> | null,
): Target[] {
  const find = (name: string) => rows.find((r) => r.scenario === name);
  const percent = (ratio: number | undefined) => (ratio !== undefined && Number.isFinite(ratio) ? `${(ratio * 100).toFixed(0)} %` : null);
  const ratioTarget = (name: string, minimum: number, floorLabel?: string): Target => {
    const r = find(name);
    if (r?.ceilingRatio === undefined || !Number.isFinite(r.ceilingRatio)) return { name: `${name} ≥ ${minimum * 100} % of its ceiling`, measured: '—', pass: null };
    const ratio = r.ceilingRatio;
    // The same comparison in server CPU per request: what the ratio would be on a machine with cores to spare.
    const byCpu = percent(r.ceilingRatioByCpu);
    const floor = floorLabel === undefined ? undefined : find(floorLabel);
    const floorRatio = percent(floor?.ceilingRatio);
    const notes = [byCpu === null ? null : `by server CPU per request: ${byCpu}`, floorRatio === null ? null : `Fastify with the same headers alone: ${floorRatio}`].filter((n) => n !== null);
    return { name: `${name} ≥ ${minimum * 100} % of its ceiling`, measured: `${percent(ratio)}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`, pass: ratio >= minimum };
  };
  const reads = ['health', 'list', 'list-all', 'list-dev', 'get', 'analytics', 'notifications'];
  const readRows = rows.filter((r) => reads.includes(r.scenario));
  const stalls = readRows.filter((r) => r.p99 > 5 * r.p50);
  const errorRows = rows.filter((r) => r.errors > 0);
  const loginRow = find('login');
  const perSocket = fanout === null ? null : (fanout.rssOpen - fanout.rssBefore) / fanout.sockets;
  return [
    ratioTarget('health', 0.7, FLOOR_LABEL),
    ratioTarget('list', 0.6),
    ratioTarget('analytics', 0.75),
    {
      name: `p99 ≤ 5 × p50 in every read scenario (${bench.options.connections} connections)`,
      measured: readRows.length === 0 ? '—' : stalls.length === 0 ? `worst ${Math.max(...readRows.map((r) => r.p99 / r.p50)).toFixed(1)} ×` : stalls.map((r) => `${r.scenario} ${(r.p99 / r.p50).toFixed(1)} ×`).join(', '),
      pass: readRows.length === 0 ? null : stalls.length === 0,
    },
    login === null || loginRow === undefined
      ? { name: 'login ≥ 85 % of the raw bcrypt rate', measured: '—', pass: null }
      : { name: 'login ≥ 85 % of the raw bcrypt rate', measured: `${((loginRow.rps / login.rawRate) * 100).toFixed(0)} % (${loginRow.rps.toFixed(1)} of ${login.rawRate.toFixed(1)}/s)`, pass: loginRow.rps >= 0.85 * login.rawRate },
    login === null
      ? { name: 'health p99 in a login storm ≤ 3 × idle p99', measured: '—', pass: null }
      : {
          name: 'health p99 in a login storm ≤ 3 × idle p99',
          measured: `${login.stormProbe.p99.toFixed(2)} ms vs ${login.idleProbe.p99.toFixed(2)} ms (${(login.stormProbe.p99 / login.idleProbe.p99).toFixed(1)} ×)`,
          pass: login.stormProbe.p99 <= 3 * login.idleProbe.p99,
        },
    fanout === null || perSocket === null
      ? { name: 'ws-fanout: 5,000 sockets, all notified, ≤ 40 KiB RSS each', measured: '—', pass: null }
      : {
          name: 'ws-fanout: 5,000 sockets, all notified, ≤ 40 KiB RSS each',
          measured: `${fanout.received}/${fanout.sockets} notified, ${(perSocket / 1024).toFixed(1)} KiB per socket${fanout.sockets < 5000 ? ' (fewer than 5,000 sockets: not the target size)' : ''}`,
          // A heap that shrank (GC after the earlier scenarios) while the sockets opened hides their cost.
          pass: fanout.sockets >= 5000 && perSocket > 0 ? fanout.received === fanout.sockets && perSocket <= 40 * 1024 : null,
        },
    scale === null || scale.length === 0 || scale.some((s) => Number.isNaN(s.ratio))
      ? { name: `list and analytics at ${bench.options.scale ?? 100_000} tasks ≥ 50 % of their rate at ${bench.options.tasks}`, measured: '— (--scale 100000)', pass: null }
      : {
          name: `list and analytics at ${bench.options.scale} tasks ≥ 50 % of their rate at ${bench.options.tasks}`,
          measured: scale.map((s) => `${s.name} ${(s.ratio * 100).toFixed(0)} %`).join(', '),
          pass: scale.every((s) => s.ratio >= 0.5),
        },
    workers === null || Number.isNaN(workers.speedup)
      ? { name: 'WEB_CONCURRENCY=2 ≥ 1.6 × one process (reads)', measured: '— (--compare-workers)', pass: null }
      : {
          name: 'WEB_CONCURRENCY=2 ≥ 1.6 × one process (reads)',
          measured:
            `${workers.speedup.toFixed(2)} × (geometric mean)` +
            (Number.isNaN(workers.bound) ? '' : `; this machine's ${cpus().length} cores allow at most ${workers.bound.toFixed(2)} ×`),
          pass: workers.speedup >= 1.6,
        },
    { name: 'zero errors in every scenario', measured: errorRows.length === 0 ? '0' : errorRows.map((r) => `${r.scenario}: ${r.errors}`).join(', '), pass: errorRows.length === 0 },
    { name: 'idle instance < 150 MiB RSS', measured: `${(idleRss / MiB).toFixed(0)} MiB`, pass: idleRss < 150 * MiB },
  ];
}

/**
 * The most a second worker could add on this machine: every request costs the CPU the one-worker run
 * measured (server + load generator + PostgreSQL), so no number of workers serves more than
 * cores ÷ that cost a second; over the one-worker rate that is cores ÷ the cores it kept busy.
 */
function speedupBound(one: Measured, cores: number): number | null {
  const cpu = one.cpu;
  if (cpu === undefined || cpu.seconds <= 0) return null;
  const busy = (cpu.server + cpu.loadGenerator + (cpu.database ?? 0)) / cpu.seconds;
  return busy > 0 ? cores / busy : null;
}

interface WorkerComparison {
  /** Geometric mean of two workers' rate over one's, over the read scenarios. */
  speedup: number;
  /** Geometric mean of the most the machine's cores allow (speedupBound); NaN when not measured. */
  bound: number;
}

const geometricMean = (values: number[]) => (values.length === 0 ? Number.NaN : Math.exp(values.reduce((sum, r) => sum + Math.log(r), 0) / values.length));

/** The read scenarios with one process and with two, taking turns on the same data. */
async function compareWorkers(bench: Bench, scenarios: HttpScenario[], rows: Row[]): Promise<WorkerComparison> {
  const ratios: number[] = [];
  const bounds: number[] = [];
  const servers = await Promise.all([startService(bench, 1), startService(bench, 2)]);
  try {
    for (const scenario of scenarios) {
      const [one, two] = await measure(bench, servers.map((server) => ({ server, requests: scenario.request })));
      if (!one || !two) continue;
      const comparable = one.requests > 0 && two.requests > 0;
      const bound = speedupBound(one, cpus().length);
      rows.push(row(`${scenario.name} (WEB_CONCURRENCY=1)`, one));
      const speedup = pairedRatio(two, one, (slice) => slice.rps);
      const note = comparable ? `${speedup.toFixed(2)} × one process${bound === null ? '' : `; the ${cpus().length} cores allow at most ${bound.toFixed(2)} ×`}` : 'not compared';
      rows.push(row(`${scenario.name} (WEB_CONCURRENCY=2)`, two, note));
      if (comparable) ratios.push(speedup);
      if (comparable && bound !== null) bounds.push(bound);
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
  return { speedup: geometricMean(ratios), bound: bounds.length === ratios.length ? geometricMean(bounds) : Number.NaN };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const machineInfo = machine();
  const commandLine = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  log('compiling the service (tsc)');
  // The tests' build cache keeps only the newest few builds: a copy of our own cannot be pruned
  // under a long run (inside node_modules, so that it resolves the project's packages).
  const build = await productionBuild();
  const buildCopy = join(ROOT, 'node_modules', '.cache', `ctms-bench-${process.pid}`);
  cpSync(build.dir, buildCopy, { recursive: true });
  const workdir = mkdtempSync(join(tmpdir(), 'ctms-bench-'));
  const database = await createBenchDatabase(options, workdir);
  const redisUrl = options.redisUrl !== null && (await reachable(options.redisUrl)) ? options.redisUrl : null;
  const env = serverEnv(options, database.url, redisUrl, options.workers);
  const config = loadConfig(env, { dataDir: null });
  const handle = createDatabase(database.url);
  let server: Served | null = null;
  const ceilings = new Map<string, Served>();
  // Assigned in a callback, where narrowing does not follow.
  let floor = null as Served | null;
  try {
    log(`seeding ${options.tasks} tasks on ${options.db}`);
    const seedStarted = performance.now();
    await migrateToLatest(handle.db);
    const passwordHash = await hashPassword(PASSWORD, options.bcryptRounds);
    const { seeded, ctx } = await prepareData(handle, config, options.tasks, passwordHash);
    log(`seeded in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);
    const bench: Bench = {
      options,
      workdir,
      databaseUrl: database.url,
      env,
      config,
      handle,
      serverScript: join(buildCopy, 'server.js'),
      passwordHash,
      managerId: seeded.managerId,
      developerTimezone: seeded.developerTimezone,
      problems: [],
      ceilings,
      floor: null,
      lastSeededNotificationId: await lastNotificationId(handle),
      ctx,
    };
    const ceilingKinds = options.ceilings ? options.scenarios.flatMap((name) => CEILING_OF[name]?.kind ?? []) : [];
    // Each server is kept as soon as it answers, so that the cleanup below stops it when another fails to start.
    const starting = startService(bench, options.workers).then((started) => (server = started));
    const starts = await Promise.allSettled([
      starting,
      ...ceilingKinds.map(async (kind) => bench.ceilings.set(kind, await startCeiling(bench, kind))),
      ceilingKinds.includes('small') ? startFloor(bench).then((started) => (floor = bench.floor = started)) : null,
    ]);
    const failed = starts.find((start) => start.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    server = await starting;
    await new Promise((r) => setTimeout(r, 1000));
    const idleRss = server.rss();
    const scenarios = httpScenarios(bench.ctx);
    const rows: Row[] = [];
    let login: LoginStorm | null = null;
    const live = server;
    for (const name of ORDER.filter((n): n is Exclude<ScenarioName, 'ws-fanout'> => n !== 'ws-fanout' && options.scenarios.includes(n))) {
      log(`scenario ${name}`);
      await attempt(bench, name, async () => {
        const scenario = scenarios[name];
        const problem = await probe(live.url, scenario);
        if (problem !== null) {
          bench.problems.push(`${name}: ${problem}`);
          rows.push({ scenario: name, rps: Number.NaN, p50: Number.NaN, p99: Number.NaN, errors: 1, rss: live.rss(), note: `BROKEN: ${problem}` });
        } else if (name === 'login') {
          login = await runLogin(bench, live, scenario, rows);
        } else {
          await runScenario(bench, live, scenario, rows);
        }
      });
    }
    const reads = Object.values(scenarios).filter((s) => s.read && options.scenarios.includes(s.name));
    await server.stop();
    server = null;
    await restoreSeededData(bench);
    const workers = options.compareWorkers && reads.length > 0 ? await attempt(bench, 'compare-workers', () => compareWorkers(bench, reads, rows)) : null;
    const scale = options.scale === null ? null : await attempt(bench, 'scale', () => compareScale(bench, options.scale ?? 0, rows));
    // Last: its listeners (users with a task each) stay in the database, and every assignee adds
    // rows that the team's analytics adds up, which the comparisons above must not measure.
    let fanout: FanoutResult | null = null;
    if (options.scenarios.includes('ws-fanout')) {
      log('scenario ws-fanout');
      fanout = await attempt(bench, 'ws-fanout', async () => {
        // A server of its own, started for it: the garbage the earlier scenarios left in the main
        // server's heap would be collected while the sockets open and hide what they cost.
        const fresh = await startService(bench, options.workers);
        try {
          await new Promise((r) => setTimeout(r, 1000));
          return await runWsFanout(bench, fresh, rows);
        } finally {
          await fresh.stop();
        }
      });
      if (fanout !== null && fanout.received < fanout.sockets) bench.problems.push(`ws-fanout: ${fanout.sockets - fanout.received} sockets without their notification`);
    }

    const targets = evaluateTargets(bench, rows, idleRss, login, fanout, workers, scale);
    const heading =
      `CTMS benchmark — ${options.db}, ${options.tasks} tasks, ${options.connections} connections, ${options.duration} s per scenario` +
      ` (warm-up ${options.warmup} s), WEB_CONCURRENCY=${options.workers}, Redis ${redisUrl === null ? 'off' : 'on'}, LOG_LEVEL=${options.logLevel}` +
      Object.entries(options.serverEnv)
        .map(([key, value]) => `, ${key}=${value}`)
        .join('');
    const tables =
      `${resultsTable(rows)}\n\nIdle server RSS: ${(idleRss / MiB).toFixed(0)} MiB. Answer size: bytes per 2xx answer, headers included. ` +
      `Server CPU/req: the server's CPU time (all workers) over the answers. Cores busy: CPU seconds per second of the run, ` +
      `server + load generator${options.db === 'postgres' ? ' + PostgreSQL (every postgres process)' : ''}, of the machine's ${cpus().length}.\n\n` +
      `${options.smoke ? 'Smoke run: the targets below are informational only (short runs on small data); it fails on errors alone.\n\n' : ''}` +
      targetsTable(targets);
    for (const name of emptyRuns) bench.problems.push(`${name}: no answer completed within the run (nothing measured)`);
    const problems = bench.problems.length === 0 ? '' : `\n\nProblems:\n\n${bench.problems.map((p) => `- ${p}`).join('\n')}`;
    console.log(`\n${heading}\n\n${tables}\n`);
    if (options.out !== null) {
      const text =
        `# ${heading}\n\n\`${commandLine}\` — ${new Date().toISOString()}\n\n${machineInfo}\n\n` +
        'Rate limits off (RATE_LIMIT_ENABLED=false) and scheduled jobs off (JOBS_ENABLED=false) for the run; ' +
        'everything else as in production (ENVIRONMENT=production, compiled JavaScript).\n\n' +
        `${tables}${problems}\n`;
      mkdirSync(dirname(options.out), { recursive: true });
      writeFileSync(options.out, text);
      log(`written to ${options.out}`);
    }
    if (bench.problems.length > 0) {
      console.error(`\nProblems:\n${bench.problems.map((p) => `  - ${p}`).join('\n')}`);
    }
    const errors = rows.filter((r) => r.errors > 0);
    if (errors.length > 0) {
      const logFile = join(workdir, `server-${options.workers}.log`);
      const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => /"level":(50|60)/.test(l));
      if (lines.length > 0) console.error(`\nServer errors (last 5):\n${lines.slice(-5).join('\n')}`);
    }
    return bench.problems.length > 0 || errors.length > 0 ? 1 : 0;
  } finally {
    await Promise.all([server?.stop(), floor?.stop(), ...[...ceilings.values()].map((c) => c.stop())]);
    await handle.close();
    await database.drop();
    rmSync(workdir, { recursive: true, force: true });
    rmSync(buildCopy, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
