// The database connection: the only module that knows which SQL dialect is in use.
// Both dialects are normalised to one shape: timestamps as ISO-8601 UTC strings, NUMERIC and
// BIGINT as JS numbers, booleans accepted as JS booleans (better-sqlite3 only binds 0/1).
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  sql,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Driver,
  type TableMetadata,
} from 'kysely';
import pg from 'pg';
import { withDeadline } from '../lib/deadline.js';
import { UnprobedSqliteDialect } from './sqlite-dialect.js';
import { maxSnapshots, postgresSnapshots, sqliteReader, sqliteSnapshots, type ReadSnapshot, type SnapshotWait } from './read-snapshot.js';
import type { DB } from './schema.js';

export type { ReadSnapshot, SnapshotWait } from './read-snapshot.js';

export type DialectName = 'sqlite' | 'postgres';

export type Database = Kysely<DB>;

export interface DatabaseHandle {
  db: Database;
  dialect: DialectName;
  /**
   * Cheap liveness probe (/health, /health/ready): rejects when the database does not answer within
   * `timeoutMs`. SQLite's runs synchronously on the connection, so it cannot outlast the call and
   * sets no timer (on a busy instance /health would otherwise arm and clear one per probe).
   */
  ping(timeoutMs: number): Promise<void>;
  /**
   * Opens a read snapshot (read-snapshot.ts): every read through its `db` sees the data as of the
   * first of them, whatever is written meanwhile, and other requests' statements go on unhindered.
   * The caller must release it, also on errors and aborted responses; a few are open at once
   * (`snapshots`), later ones wait for one to end — as long as `wait` allows, or they reject with
   * SlotWaitEnded (lib/slots.ts).
   */
  openSnapshot(wait?: SnapshotWait): Promise<ReadSnapshot>;
  /** How many snapshots may be open at once (SQLite: 4; PostgreSQL: half the pool). */
  snapshots: number;
  /** Connections of the PostgreSQL pool (for metrics); absent on SQLite, which has one connection. */
  poolStats?(): PoolStats;
  close(): Promise<void>;
}

export interface PoolStats {
  total: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
}

export interface ParsedDatabaseUrl {
  dialect: DialectName;
  /** File path (or ":memory:") for SQLite, a connection string for PostgreSQL. */
  target: string;
}

/**
 * Accepts the original service's forms: sqlite:///relative/path, sqlite:////absolute/path,
 * sqlite+aiosqlite:///…, postgresql://…, postgresql+asyncpg://…, postgres://….
 */
export function parseDatabaseUrl(url: string): ParsedDatabaseUrl {
  const sqliteMatch = /^sqlite(?:\+aiosqlite)?:\/\/\/(.+)$/.exec(url);
  if (sqliteMatch?.[1]) {
    const path = sqliteMatch[1].split('?')[0] ?? '';
    return { dialect: 'sqlite', target: path === ':memory:' ? ':memory:' : path };
  }
  const pgMatch = /^postgres(?:ql)?(?:\+asyncpg)?:\/\/(.+)$/.exec(url);
  if (pgMatch?.[1]) return { dialect: 'postgres', target: `postgresql://${pgMatch[1]}` };
  throw new Error(`Unsupported DATABASE_URL: ${redactUrl(url)}`);
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
}

export interface CreateDbOptions {
  /** Upper bound of PostgreSQL connections. */
  poolSize?: number;
  /** Called with the SQL of every executed query (tests count queries with it). */
  onQuery?: (sql: string) => void;
  /**
   * DB_STATEMENT_TIMEOUT_MS: PostgreSQL cancels a statement running longer (statement_timeout, set
   * on every connection); SQLite gives up waiting for another connection's write lock after it
   * (busy_timeout). Either way the request ends with a 503 instead of waiting on. Default 5000 ms
   * on SQLite, none on PostgreSQL.
   */
  statementTimeoutMs?: number;
  /**
   * DB_PREPARED_STATEMENTS (PostgreSQL; default true): the texts asked for by prepareOnPostgres run as
   * named prepared statements. Off behind a pooler in transaction mode that does not track them.
   */
  preparedStatements?: boolean;
}

/**
 * How long a PostgreSQL query waits for a connection (a free one in the pool, or a new one to
 * open) before it fails: a database that is down or saturated gets a quick 503, not a hung request.
 */
export const CONNECT_TIMEOUT_MS = 3000;

export function createDatabase(url: string, options: CreateDbOptions = {}): DatabaseHandle {
  const parsed = parseDatabaseUrl(url);
  const log = options.onQuery ? (event: { query: { sql: string } }) => options.onQuery?.(event.query.sql) : undefined;
  if (parsed.dialect === 'sqlite') return createSqlite(parsed.target, log, options.statementTimeoutMs);
  return createPostgres(parsed.target, options.poolSize ?? 10, log, options.statementTimeoutMs, options.preparedStatements ?? true);
}

/**
 * What SQLite's WAL file is cut back to once it starts over. While a read snapshot is open (a whole
 * list being written out) checkpoints cannot reach the writes after it, so under writes the file
 * grows (a minute of audited requests: hundreds of megabytes), and without a limit it keeps that
 * size for good.
 */
export const SQLITE_WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** A better-sqlite3 connection set up as the service needs every connection to the file. */
function openSqliteConnection(path: string, busyTimeoutMs: number): SqliteDatabase.Database {
  const raw = new SqliteDatabase(path);
  raw.pragma('journal_mode = WAL');
  raw.pragma(`journal_size_limit = ${SQLITE_WAL_SIZE_LIMIT_BYTES}`);
  raw.pragma('foreign_keys = ON');
  raw.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
  raw.pragma('synchronous = NORMAL');
  // SQLite's own lower() folds ASCII only; PostgreSQL's folds every letter. Case-insensitive
  // uniqueness (usernames, e-mails, tag names) and search must agree, so lower() is JavaScript's
  // here — registered on every connection, before any index on lower(...) is built or used.
  raw.function('lower', { deterministic: true }, (value: unknown) => (typeof value === 'string' ? lowerLikePostgres(value) : value));
  return raw;
}

/** Read snapshots (and their connections) open at once on SQLite. */
const SQLITE_SNAPSHOTS = 4;

function createSqlite(path: string, log?: (e: { query: { sql: string } }) => void, busyTimeoutMs = 5000): DatabaseHandle {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const raw = openSqliteConnection(path, busyTimeoutMs);
  const statements = cachingStatements(raw);
  const dialect = new ImmediateSqliteDialect({ database: statements }, () => raw.inTransaction);
  const db = new Kysely<DB>({ dialect, log: log ? (e) => void (e.level === 'query' && log(e)) : undefined });
  directReaders.set(db, (query) => {
    // Inside a transaction the connection belongs to it: Kysely queues the statement until it ends.
    if (raw.inTransaction || !raw.open) return undefined;
    const statement = statements.prepare(query.sql) as unknown as DriverStatement;
    if (!statement.reader) return undefined;
    const rows = statement.all(query.parameters);
    // As Kysely logs: a statement that ran, once it has.
    log?.({ query });
    return rows;
  });
  // A private in-memory database has no second connection: there a snapshot is the shared
  // connection itself, not isolated from writes made meanwhile (tests and demos only).
  const snapshots =
    path === ':memory:'
      ? { open: async (): Promise<ReadSnapshot> => ({ db, release: async () => undefined }), close: async () => undefined }
      : sqliteSnapshots(() => {
          const reader = openSqliteConnection(path, busyTimeoutMs);
          return sqliteReader(reader, cachingStatements(reader), log);
        }, SQLITE_SNAPSHOTS);
  let closed = false;
  const selectOne = raw.prepare('select 1');
  return {
    db,
    dialect: 'sqlite',
    // On the connection itself, not through Kysely: the statement is synchronous and needs no
    // query building; a transaction in progress on it does not hold a liveness probe back.
    ping: async () => {
      if (closed || !raw.open) throw new Error('database is closed');
      selectOne.get();
    },
    openSnapshot: (wait) => snapshots.open(wait),
    snapshots: SQLITE_SNAPSHOTS,
    close: async () => {
      closed = true;
      await snapshots.close();
      await db.destroy();
      if (raw.open) raw.close();
    },
  };
}

function createPostgres(
  connectionString: string,
  poolSize: number,
  log?: (e: { query: { sql: string } }) => void,
  statementTimeoutMs?: number,
  preparedStatements = true,
): DatabaseHandle {
  const parseTimestamp = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ);
  const types = {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      if (oid === pg.types.builtins.TIMESTAMPTZ) {
        return (value: string) => isoFromPostgresUtc(value) ?? (parseTimestamp(value) as Date).toISOString();
      }
      if (oid === pg.types.builtins.NUMERIC || oid === pg.types.builtins.INT8) {
        return (value: string) => Number(value);
      }
      return pg.types.getTypeParser(oid, format);
    },
  };
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    types: types as pg.CustomTypesConfig,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ...(statementTimeoutMs === undefined ? {} : { statement_timeout: statementTimeoutMs }),
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // Nor one losing it while checked out (the server stopped between two statements of a
  // transaction): its statement fails on its own, and the pool drops the client when it is released.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    if (preparedStatements) namingPreparedStatements(client);
  });
  const db = new Kysely<DB>({
    dialect: new CurrentSchemaPostgresDialect({ pool }),
    log: log ? (e) => void (e.level === 'query' && log(e)) : undefined,
  });
  // What Kysely's driver does for a statement outside a transaction, without its executor: a pooled
  // connection, the query (named when prepareOnPostgres asked for it), the connection back.
  directReaders.set(db, async (query) => {
    const client = await pool.connect();
    try {
      const { rows } = await client.query(query.sql, query.parameters as unknown[]);
      log?.({ query });
      return rows as unknown[];
    } finally {
      client.release();
    }
  });
  return {
    db,
    dialect: 'postgres',
    ping: (timeoutMs) => withDeadline(sql`select 1`.execute(db), timeoutMs).then(() => undefined),
    openSnapshot: postgresSnapshots(db, maxSnapshots(poolSize)),
    snapshots: maxSnapshots(poolSize),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => db.destroy(),
  };
}

type DirectReader = (query: CompiledQuery) => unknown[] | Promise<unknown[]> | undefined;

/** Per database handle's `db` (never a transaction's or a snapshot's): how to run a read without Kysely's executor. */
const directReaders = new WeakMap<Database, DirectReader>();

/**
 * The rows of a compiled read run straight on the driver, or undefined when that cannot be done (a
 * transaction's or a snapshot's `db`, a transaction open on SQLite's connection, a statement that is
 * not a read): then the caller runs it through Kysely. Kysely's executor, connection provider and
 * (on SQLite) connection mutex add promises and bookkeeping around each statement: a sixth of the
 * CPU of analytics' two cheap statements on both databases, measured (compiled-query.ts runs the
 * hot reads this way). SQLite runs the statement synchronously on its one connection; PostgreSQL
 * takes a pooled connection for it, as Kysely would.
 */
export function readDirectly(db: Database, query: CompiledQuery): unknown[] | Promise<unknown[]> | undefined {
  return directReaders.get(db)?.(query);
}

/** SQL texts run as named prepared statements on PostgreSQL, and their names. */
const preparedStatements = new Map<string, string>();
/** A bound on the texts: each one is parsed and kept once per pooled connection. */
const MAX_PREPARED_STATEMENTS = 200;

/**
 * Asks that this SQL run as a named prepared statement on PostgreSQL (nothing on SQLite, whose
 * statements are all reused): each connection parses and plans it once, instead of on every run,
 * which cost the server as much as executing the hot statements. Only for a bounded set of texts
 * with explicit result columns (compiledOnce's), so that a migration adding columns cannot change
 * a prepared statement's result.
 */
export function prepareOnPostgres(sqlText: string): void {
  if (!preparedStatements.has(sqlText) && preparedStatements.size < MAX_PREPARED_STATEMENTS) {
    preparedStatements.set(sqlText, `ctms_${preparedStatements.size + 1}`);
  }
}

/** PostgreSQL's error when a migration changed the columns of a statement prepared before it. */
const STALE_PLAN = 'cached plan must not change result type';

/**
 * Kysely's PostgreSQL driver runs `client.query(sql, parameters)`: texts asked for by
 * prepareOnPostgres go out named instead. A statement prepared before a migration changed its
 * result columns is parsed anew under a new name rather than failing every time: at once outside a
 * transaction; inside one, whose every later statement the error has made fail, from the next run
 * on (this one fails with the error, which the error handler answers as a 503 to retry).
 */
function namingPreparedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((text: unknown, values?: unknown, ...rest: unknown[]) => {
    const name = typeof text === 'string' && Array.isArray(values) && rest.length === 0 ? preparedStatements.get(text) : undefined;
    if (name === undefined) return query(text, values, ...rest);
    const inTransaction = client.getTransactionStatus() !== 'I';
    return (query({ name, text, values }) as Promise<pg.QueryResult>).catch((error: unknown) => {
      if ((error as { message?: unknown }).message !== STALE_PLAN) throw error;
      if (preparedStatements.get(text as string) === name) preparedStatements.set(text as string, `${name}_${Date.now()}`);
      if (inTransaction) throw error;
      return query({ name: preparedStatements.get(text as string), text, values });
    });
  }) as typeof client.query;
}

/** timestamptz as PostgreSQL writes it in a UTC session: `2026-12-01 17:00:00.123456+00`. */
const POSTGRES_UTC_TIMESTAMP = /^([1-9]\d{3}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?\+00$/;

/**
 * The ISO form of a timestamptz in PostgreSQL's UTC text, rearranged without a Date (fractions
 * beyond milliseconds truncated, as Date does); undefined for any other form (another session time
 * zone, BC, infinity), which goes through node-postgres's parser.
 */
export function isoFromPostgresUtc(text: string): string | undefined {
  const match = POSTGRES_UTC_TIMESTAMP.exec(text);
  if (!match) return undefined;
  return `${match[1]}T${match[2]}.${(match[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
}

/**
 * SQLite transactions that take the write lock when they begin (BEGIN IMMEDIATE). Several processes
 * (cluster workers) share the file: a deferred transaction that read before writing fails with
 * SQLITE_BUSY when another process wrote meanwhile (its snapshot is stale; the busy timeout cannot
 * help). An immediate one waits for the lock (busy_timeout) and then reads the latest data.
 *
 * Some errors (SQLITE_FULL, SQLITE_IOERR, …) make SQLite roll the transaction back by itself; a
 * ROLLBACK then fails with "no transaction is active", and Kysely would throw that instead of the
 * error that mattered. So the rollback is skipped when there is no transaction left to roll back.
 */
class ImmediateSqliteDialect extends UnprobedSqliteDialect {
  constructor(
    config: ConstructorParameters<typeof UnprobedSqliteDialect>[0],
    private readonly inTransaction: () => boolean,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    const driver = super.createDriver();
    const rollback = driver.rollbackTransaction.bind(driver);
    driver.beginTransaction = async (connection: DatabaseConnection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    // See the class comment: nothing to roll back when SQLite already did.
    driver.rollbackTransaction = async (connection: DatabaseConnection) => {
      if (this.inTransaction()) await rollback(connection);
    };
    return driver;
  }
}

/**
 * Kysely's PostgreSQL introspector (used by the migrator to find its own tables) reads every schema
 * of the database and asks for privileges on each, which fails when another schema is dropped at
 * that moment. This one looks at the connection's own schema only: all the migrator needs.
 */
class CurrentSchemaPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    const getTables = async (): Promise<TableMetadata[]> => {
      const { rows } = await sql<{ table: string; schema: string; kind: string; column: string; type: string; not_null: boolean; has_default: boolean; default_text: string | null }>`
        select c.relname as table, n.nspname as schema, c.relkind as kind, a.attname as column, t.typname as type,
               a.attnotnull as not_null, a.atthasdef as has_default, pg_get_expr(d.adbin, d.adrelid) as default_text
        from pg_catalog.pg_class c
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        join pg_catalog.pg_type t on t.oid = a.atttypid
        left join pg_catalog.pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
        where n.nspname = current_schema() and c.relkind in ('r', 'p', 'v', 'm')
        order by c.relname, a.attnum`.execute(db);
      const tables = new Map<string, TableMetadata>();
      for (const row of rows) {
        const table = tables.get(row.table) ?? { name: row.table, schema: row.schema, isView: row.kind === 'v' || row.kind === 'm', columns: [] };
        tables.set(row.table, table);
        (table.columns as TableMetadata['columns'][number][]).push({
          name: row.column,
          dataType: row.type,
          isNullable: !row.not_null,
          hasDefaultValue: row.has_default,
          isAutoIncrementing: row.default_text?.startsWith('nextval(') ?? false,
        });
      }
      return [...tables.values()];
    };
    return {
      getSchemas: async () => (await sql<{ name: string }>`select current_schema() as name`.execute(db)).rows,
      getTables,
      getMetadata: async () => ({ tables: await getTables() }),
    };
  }
}

/**
 * Lowercases letter by letter, as PostgreSQL's lower() does: no context rules (a final Σ becomes σ,
 * not ς) and one letter for one letter (İ becomes i).
 */
export function lowerLikePostgres(text: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return text.toLowerCase();
  let out = '';
  for (const letter of text) {
    const lower = letter.toLowerCase();
    out += lower.length > letter.length ? String.fromCodePoint(lower.codePointAt(0) ?? 0) : lower;
  }
  return out;
}

/** Prepared statements kept per connection (the distinct SQL texts of the app number a few hundred). */
const STATEMENT_CACHE_SIZE = 500;

type Statement = SqliteDatabase.Statement<unknown[]>;

/** JS booleans bound as 1/0, like pg does; the parameters are copied only when one is found. */
function bindableParameters(params: readonly unknown[]): unknown[] {
  for (let i = 0; i < params.length; i++) {
    if (typeof params[i] === 'boolean') return params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
  }
  return params as unknown[];
}

/** What Kysely's SQLite driver uses of a statement. */
interface DriverStatement {
  readonly reader: boolean;
  all(params: readonly unknown[]): unknown[];
  run(params: readonly unknown[]): SqliteDatabase.RunResult;
  iterate(params: readonly unknown[]): IterableIterator<unknown>;
}

type RowBuilder = (values: unknown[]) => Record<string, unknown>;

/**
 * A function that turns one row's values into the row object, compiled for the statement's column
 * names: an object literal of fixed shape is built several times faster than better-sqlite3 builds
 * its row objects (a property at a time), and the objects are faster to read afterwards. Repeated
 * names behave alike (the last one wins). Undefined when a name cannot be a literal's key.
 */
function compileRowBuilder(names: readonly string[]): RowBuilder | undefined {
  if (names.includes('__proto__')) return undefined;
  const properties = names.map((name, i) => `${JSON.stringify(name)}: values[${i}]`).join(', ');
  return new Function('values', `return { ${properties} };`) as RowBuilder;
}

/**
 * A statement that accepts JS booleans (Kysely passes its parameters as one array argument). A
 * reader returns its rows as arrays of values, turned into objects by a compiled RowBuilder.
 */
function driverStatement(statement: Statement): DriverStatement {
  const run = (params: readonly unknown[]) => statement.run(bindableParameters(params));
  const objects = {
    reader: statement.reader,
    all: (params: readonly unknown[]) => statement.all(bindableParameters(params)),
    run,
    iterate: (params: readonly unknown[]) => statement.iterate(bindableParameters(params)),
  };
  if (!statement.reader) return objects;
  let names = statement.columns().map((column) => column.name);
  let build = compileRowBuilder(names);
  if (!build) return objects;
  statement.raw(true);
  const toObject = (values: unknown[]) => {
    // Another process may have changed the schema under a "select *": then the columns are read again.
    if (values.length !== names.length) {
      names = statement.columns().map((column) => column.name);
      build = compileRowBuilder(names) ?? ((row) => Object.fromEntries(names.map((name, i) => [name, row[i]])));
    }
    return (build as RowBuilder)(values);
  };
  return {
    reader: true,
    all(params) {
      const rows = statement.all(bindableParameters(params)) as unknown[][];
      const objectRows: unknown[] = rows;
      for (let i = 0; i < rows.length; i++) objectRows[i] = toObject(rows[i] as unknown[]);
      return objectRows;
    },
    run,
    *iterate(params) {
      for (const values of statement.iterate(bindableParameters(params)) as IterableIterator<unknown[]>) yield toObject(values);
    },
  };
}

/** Statements that change the schema: the cache is emptied before one runs (result columns may change). */
const SCHEMA_CHANGE = /^\s*(?:create|alter|drop)\s/i;

/**
 * better-sqlite3 as Kysely's SQLite driver sees it, with three changes: statements accept JS booleans,
 * rows are built by compiled functions (driverStatement), and `prepare` reuses a statement compiled earlier for the same SQL text (least recently used
 * evicted beyond STATEMENT_CACHE_SIZE) instead of compiling it for every query — compiling cost
 * about as much as running the queries of a page. SQLite recompiles a cached statement by itself
 * when a migration changes the schema; the cache is emptied then too. A statement still being iterated is busy and cannot run a
 * second time meanwhile: then a fresh one is compiled for that query.
 */
export function cachingStatements(raw: SqliteDatabase.Database): SqliteDatabase.Database {
  const cache = new Map<string, { statement: Statement; wrapped: DriverStatement }>();
  const prepare = (source: string): DriverStatement => {
    if (SCHEMA_CHANGE.test(source)) cache.clear();
    const cached = cache.get(source);
    if (cached && !cached.statement.busy) {
      // Most recently used last: Map keeps insertion order, so the first key is the eviction victim.
      cache.delete(source);
      cache.set(source, cached);
      return cached.wrapped;
    }
    const statement = raw.prepare(source) as Statement;
    const wrapped = driverStatement(statement);
    if (cached) return wrapped;
    cache.set(source, { statement, wrapped });
    if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    return wrapped;
  };
  return new Proxy(raw, {
    get(target, prop) {
      if (prop === 'prepare') return prepare;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** True when `error` is a unique-constraint violation, in either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** True when `error` is a foreign-key violation, in either dialect. */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/**
 * True for failures caused by a concurrent transaction rather than by the request itself: deadlock,
 * serialization failure, lock timeout, or a constraint that a racing write broke after our checks.
 */
export function isConcurrencyConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    code === '40P01' ||
    code === '40001' ||
    code === '55P03' ||
    code === 'SQLITE_BUSY_SNAPSHOT' ||
    isUniqueViolation(error) ||
    isForeignKeyViolation(error)
  );
}

/** Node's codes for a connection that could not be made or was cut. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** node-postgres's own messages for a pool that gave no connection in time or a connection that died. */
const PG_CONNECTION_MESSAGES = /^(timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error|Client was closed)/;

/**
 * Why the database could not serve the statement, when the fault is the database's and not the
 * request's: unreachable, shutting down, out of connections or space, or too slow
 * (DB_STATEMENT_TIMEOUT_MS). Undefined for every other error. The text is for clients (a 503).
 */
export function databaseUnavailableReason(error: unknown): string | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code === '57014') return 'The database did not answer in time; please retry';
  if (message === STALE_PLAN) return 'The database schema changed during the request; please retry';
  if (code === 'SQLITE_BUSY') return 'The database is busy; please retry';
  if (code === 'SQLITE_FULL' || code === '53100') return 'The database is out of storage space';
  if (typeof code === 'string' && (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN')) {
    return 'The database storage failed';
  }
  if (
    (typeof code === 'string' && (CONNECTION_ERRORS.has(code) || code.startsWith('08') || code.startsWith('57P') || code.startsWith('53'))) ||
    (typeof message === 'string' && PG_CONNECTION_MESSAGES.test(message))
  ) {
    return 'The database is unavailable; please retry';
  }
  return undefined;
}
