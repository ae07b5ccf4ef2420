// Command-line options of `npm run bench` (and of the CI smoke, `--smoke`).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

export const SCENARIOS = [
  'health',
  'login',
  'list',
  'list-all',
  'list-dev',
  'get',
  'create',
  'patch',
  'bulk-100',
  'analytics',
  'notifications',
  'ws-fanout',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
export type DbKind = 'sqlite' | 'postgres';

export interface BenchOptions {
  db: DbKind;
  tasks: number;
  connections: number;
  /** Seconds each scenario is driven (after a warm-up of its own). */
  duration: number;
  warmup: number;
  scenarios: ScenarioName[];
  workers: number;
  /** Open sockets in ws-fanout. */
  sockets: number;
  compareWorkers: boolean;
  /** A second database of this many tasks: list and analytics on both, taking turns; null: none. */
  scale: number | null;
  ceilings: boolean;
  smoke: boolean;
  /** A PostgreSQL server URL (any database): the bench creates and drops its own database there. */
  pgUrl: string;
  redisUrl: string | null;
  logLevel: string;
  bcryptRounds: number;
  /** More environment of the server (--server-env KEY=VALUE), over the bench's own settings. */
  serverEnv: Record<string, string>;
  /** A directory for the server's CPU profiles (node --cpu-prof), or null. */
  profileDir: string | null;
  /** Where the markdown results go; null: not written. */
  out: string | null;
}

export const USAGE = `Usage: npm run bench -- [options]
  --db sqlite|postgres     database (default sqlite)
  --tasks N                tasks seeded (default 1000; 1000, 10000, 100000 are the usual sizes)
  --connections N          concurrent HTTP connections (default 32)
  --duration S             seconds per scenario (default 10), after --warmup S (default 2)
  --scenarios a,b,c        subset of: ${SCENARIOS.join(', ')}
  --workers N              WEB_CONCURRENCY of the server (default 1)
  --sockets N              sockets in ws-fanout (default 1000; the target is stated for 5000)
  --compare-workers        also run the read scenarios with WEB_CONCURRENCY=2 and report the speed-up
  --scale N                also seed a second database of N tasks (e.g. 100000) and run list and analytics
                           on both sizes, taking turns (the 100,000-vs-1,000 target)
  --no-ceilings            skip the bare node:http ceilings (and floor 1, Fastify with health's headers only)
  --pg-url URL             PostgreSQL server (default postgresql://postgres@127.0.0.1:5432/postgres)
  --redis URL|none         Redis for the server (default redis://127.0.0.1:6379 when it answers)
  --log-level LEVEL        the server's LOG_LEVEL (default info, as in production)
  --bcrypt-rounds N        BCRYPT_ROUNDS (default 12, the production default; 4 in the smoke)
  --server-env KEY=VALUE   more environment for the server, e.g. DB_POOL_SIZE=20 or SESSION_CACHE_MS=0
                           (repeatable)
  --cpu-prof DIR           run the server under node --cpu-prof, its profiles (one per process) into DIR,
                           each ceiling into DIR/ceiling-<kind> and floor 1 into DIR/floor
  --out FILE|none          results file (default bench/results/<date>-<db>.md, -<tasks> added unless 1000)
  --smoke                  CI smoke: small data, short runs, fails only on errors or broken scenarios`;

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  return Number(raw);
}

function environmentSetting(raw: string): [string, string] {
  const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(raw);
  if (!match) throw new Error(`--server-env must be KEY=VALUE with an upper-case KEY (got "${raw}")`);
  return [match[1] as string, match[2] as string];
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      db: { type: 'string' },
      tasks: { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      scenarios: { type: 'string' },
      workers: { type: 'string' },
      sockets: { type: 'string' },
      'compare-workers': { type: 'boolean' },
      scale: { type: 'string' },
      'no-ceilings': { type: 'boolean' },
      'pg-url': { type: 'string' },
      redis: { type: 'string' },
      'log-level': { type: 'string' },
      'bcrypt-rounds': { type: 'string' },
      out: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'server-env': { type: 'string', multiple: true },
      smoke: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const db = values.db ?? 'sqlite';
  if (db !== 'sqlite' && db !== 'postgres') throw new Error('--db must be sqlite or postgres');
  const smoke = values.smoke === true;
  const scenarios = (values.scenarios?.split(',').map((s) => s.trim()).filter(Boolean) ?? [...SCENARIOS]) as ScenarioName[];
  const unknown = scenarios.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})`);
  const redis = values.redis ?? 'redis://127.0.0.1:6379';
  const tasksRaw = values.tasks ?? '1000';
  const out = values.out ?? (smoke ? 'none' : `bench/results/${new Date().toISOString().slice(0, 10)}-${db}${tasksRaw === '1000' ? '' : `-${tasksRaw}`}.md`);
  return {
    db,
    tasks: integer('tasks', values.tasks, smoke ? 300 : 1000, 10, 1_000_000),
    connections: integer('connections', values.connections, smoke ? 8 : 32, 1, 1000),
    duration: integer('duration', values.duration, smoke ? 2 : 10, 1, 600),
    warmup: integer('warmup', values.warmup, smoke ? 0 : 2, 0, 60),
    // Fixed order: ws-fanout last (it adds its own users and tasks), login before the reads.
    scenarios: SCENARIOS.filter((s) => scenarios.includes(s)),
    workers: integer('workers', values.workers, 1, 1, 64),
    sockets: integer('sockets', values.sockets, smoke ? 40 : 1000, 1, 20_000),
    compareWorkers: values['compare-workers'] === true,
    scale: values.scale === undefined ? null : integer('scale', values.scale, 0, 10, 1_000_000),
    ceilings: values['no-ceilings'] !== true,
    smoke,
    pgUrl: values['pg-url'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    redisUrl: redis === 'none' ? null : redis,
    logLevel: values['log-level'] ?? 'info',
    bcryptRounds: integer('bcrypt-rounds', values['bcrypt-rounds'], smoke ? 4 : 12, 4, 15),
    out: out === 'none' ? null : out,
    serverEnv: Object.fromEntries((values['server-env'] ?? []).map(environmentSetting)),
    profileDir: values['cpu-prof'] === undefined ? null : resolve(values['cpu-prof']),
  };
}
