// Shared set-up of the reliability suites: the production build run as real server processes on this
// file's database (SQLite in WAL mode, or a PostgreSQL schema with TEST_DATABASE_URL), an HTTP client
// that reports refusals and timeouts instead of throwing, and the database checks every suite ends
// with (integrity, foreign keys, history and notifications that match what was acknowledged).
import { sql } from 'kysely';
import type { Database } from '../../src/db/database.js';
import { createTestDatabase, testDatabaseUrl, type TestDatabase } from '../helpers/database.js';
import { createUser, DEFAULT_PASSWORD, type TestUser, type UserOptions } from '../helpers/factories.js';
import { freePort, productionEnv, startServer, type ServerProcess } from '../helpers/processes.js';
import { productionBuild, type ProductionBuild } from '../helpers/production-build.js';

export const onPostgres = testDatabaseUrl() !== undefined;

export interface Answer {
  /** Undefined when no answer came (refused, cut, timed out): see `error`. */
  status?: number;
  error?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body?: any;
  headers?: Headers;
  /** From sending the request to the end of the answer (or the failure). */
  ms: number;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  cookie?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export async function request(base: string, method: string, path: string, options: RequestOptions = {}): Promise<Answer> {
  const started = Date.now();
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.cookie) headers.cookie = options.cookie;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 20_000),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { status: res.status, body, headers: res.headers, ms: Date.now() - started };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return { error: cause?.code ?? (error as Error).name ?? String(error), ms: Date.now() - started };
  }
}

export interface LoggedIn {
  access: string;
  sessionId: number;
  /** The refresh_token and device_id cookies, as a Cookie header. */
  cookie: string;
}

const sessionOf = (access: string) => Number((JSON.parse(Buffer.from(access.split('.')[1] ?? '', 'base64url').toString()) as { sid: number }).sid);

/** The cookies a response set, as a Cookie header for the next request. */
export const cookiesOf = (answer: Answer) =>
  (answer.headers?.getSetCookie() ?? [])
    .map((line) => line.split(';')[0] ?? '')
    .filter((pair) => !pair.endsWith('='))
    .join('; ');

export const loggedIn = (answer: Answer): LoggedIn => ({
  access: answer.body.access as string,
  sessionId: sessionOf(answer.body.access as string),
  cookie: cookiesOf(answer),
});

export async function login(base: string, username: string, password = DEFAULT_PASSWORD): Promise<LoggedIn> {
  const answer = await request(base, 'POST', '/api/auth/login', { body: { username, password } });
  if (answer.status !== 200) throw new Error(`login of ${username} answered ${answer.status ?? answer.error}: ${JSON.stringify(answer.body)}`);
  return loggedIn(answer);
}

export interface Stack {
  build: ProductionBuild;
  database: TestDatabase;
  db: Database;
  /** The environment every server process of the file starts with (add overrides per process). */
  env: NodeJS.ProcessEnv;
  /** Starts a server process on a free port; it is SIGKILLed at the end of the file if still running. */
  start(overrides?: Record<string, string>): Promise<ServerProcess>;
  users(specs: UserOptions[]): Promise<TestUser[]>;
  close(): Promise<void>;
}

/**
 * The production build on this file's database. Rate limits stay off (productionEnv) unless a test
 * turns them on: these suites send far more requests a minute than the limits allow one client.
 */
export async function stack(env: Record<string, string> = {}): Promise<Stack> {
  const [build, database] = await Promise.all([productionBuild(), createTestDatabase()]);
  const baseEnv = productionEnv({ DATABASE_URL: database.url, ...env });
  const started: ServerProcess[] = [];
  return {
    build,
    database,
    db: database.handle.db,
    env: baseEnv,
    async start(overrides = {}) {
      const server = await startServer({ ...baseEnv, PORT: String(await freePort()), ...overrides }, 60_000, build.server);
      started.push(server);
      return server;
    },
    users: (specs) => Promise.all(specs.map((spec) => createUser({ db: database.handle.db }, spec))),
    async close() {
      await Promise.all(started.map((server) => server.stop('SIGKILL')));
      await database.cleanup();
    },
  };
}

/**
 * Lines of a server's output that show a crash or an error nobody handled: an uncaught exception or
 * rejection, a 500 (the error handler's "unhandled error"), a fatal log line. (PostgreSQL's own
 * severity "FATAL" in a logged database error is not one.)
 */
export const crashSigns = (output: string) =>
  output.split('\n').filter((line) => /unhandled|uncaught|Internal server error/i.test(line) || line.includes('"level":60'));

interface ForeignKey {
  child: string;
  column: string;
  parent: string;
  parentColumn: string;
}

/**
 * What is wrong with the database, or []: SQLite's own integrity and foreign-key checks; on
 * PostgreSQL (which enforces foreign keys itself) a count of rows whose reference is dangling, for
 * every foreign key of the schema — a check that the engine and our transactions agree.
 */
export async function integrityProblems(db: Database): Promise<string[]> {
  if (!onPostgres) {
    const integrity = (await sql<{ integrity_check: string }>`pragma integrity_check`.execute(db)).rows.map((r) => r.integrity_check);
    const foreign = (await sql<Record<string, unknown>>`pragma foreign_key_check`.execute(db)).rows;
    return [...integrity.filter((line) => line !== 'ok'), ...foreign.map((row) => `foreign key: ${JSON.stringify(row)}`)];
  }
  const keys = (
    await sql<ForeignKey>`
      select cl.relname as child, a.attname as column, pcl.relname as parent, pa.attname as "parentColumn"
      from pg_constraint c
      join pg_class cl on cl.oid = c.conrelid
      join pg_class pcl on pcl.oid = c.confrelid
      join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
      join pg_attribute pa on pa.attrelid = c.confrelid and pa.attnum = c.confkey[1]
      where c.contype = 'f' and cardinality(c.conkey) = 1 and cl.relnamespace = current_schema()::regnamespace`.execute(db)
  ).rows;
  if (keys.length === 0) return ['no foreign keys found in the schema'];
  const problems: string[] = [];
  for (const key of keys) {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from ${sql.table(key.child)} c
      where c.${sql.ref(key.column)} is not null
        and not exists (select 1 from ${sql.table(key.parent)} p where p.${sql.ref(key.parentColumn)} = c.${sql.ref(key.column)})`.execute(db);
    if (Number(rows[0]?.n) > 0) problems.push(`${rows[0]?.n} rows of ${key.child}.${key.column} point to no ${key.parent}`);
  }
  return problems;
}

export interface HistoryRow {
  id: number;
  task_id: number;
  user_id: number | null;
  action: string;
  from_status: string | null;
  to_status: string | null;
}

export async function historyOf(db: Database, taskIds: readonly number[]): Promise<HistoryRow[]> {
  if (taskIds.length === 0) return [];
  return (await db
    .selectFrom('task_history')
    .select(['id', 'task_id', 'user_id', 'action', 'from_status', 'to_status'])
    .where('task_id', 'in', [...taskIds])
    .orderBy('id')
    .execute()) as HistoryRow[];
}

/** Status changes recorded in history (from ≠ to) against status_change notifications, per task. */
export async function statusChangesWithoutNotification(db: Database, taskIds: readonly number[]): Promise<string[]> {
  const history = (await historyOf(db, taskIds)).filter((h) => h.from_status !== null && h.to_status !== null && h.from_status !== h.to_status);
  const notes = await db.selectFrom('notifications').select(['task_id']).where('notification_type', '=', 'status_change').where('task_id', 'in', [...taskIds]).execute();
  const problems: string[] = [];
  for (const id of taskIds) {
    const changes = history.filter((h) => h.task_id === id).length;
    const notified = notes.filter((n) => n.task_id === id).length;
    if (changes !== notified) problems.push(`task ${id}: ${changes} status changes in history, ${notified} status_change notifications`);
  }
  return problems;
}

/** Percentile of a list of numbers (p in 0…100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}
