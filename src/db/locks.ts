// Transaction-scoped locks for invariants that constraints alone cannot hold under concurrency.
// PostgreSQL takes row locks (or an advisory lock) released at commit; SQLite needs none, as it
// runs one write transaction at a time. Advisory locks are shared by every schema of a database,
// so each key also names the schema in use: two datasets in one database never block each other.
import { PostgresAdapter, sql } from 'kysely';
import { lowerLikePostgres, type Database } from './database.js';

const isPostgres = (trx: Database) => trx.getExecutor().adapter instanceof PostgresAdapter;

/** Lock keys, one per invariant. */
const TASK_HIERARCHY_LOCK = 0x7461736b; // "task"
/** The class of the scheduled jobs' locks; the second key names the job. */
const JOB_LOCK_CLASS = 0x6a6f6273; // "jobs"
/** The class of the account identity locks; the second key is a hash of the lowercased identity. */
const IDENTITY_LOCK_CLASS = 0x69647479; // "idty"

/**
 * Serializes changes of task parents, so two concurrent moves (A under B, B under A) cannot each
 * pass the cycle check before the other commits. Take it first in the transaction, before row locks.
 */
export async function lockTaskHierarchy(trx: Database): Promise<void> {
  if (isPostgres(trx)) await sql`select pg_advisory_xact_lock(${TASK_HIERARCHY_LOCK}, hashtext(current_schema()))`.execute(trx);
}

/**
 * Serializes the claims of these usernames or e-mail addresses (case-insensitively) until the
 * transaction ends. Each unique index sees one column only, so without it a registration taking
 * "ann@example.com" as its username and another taking it as its e-mail could both commit.
 * Keys are taken in one order, so two claims never wait for each other in a circle.
 */
export async function lockIdentities(trx: Database, identities: readonly string[]): Promise<void> {
  if (!isPostgres(trx)) return;
  const keys = [...new Set(identities.map(lowerLikePostgres))].sort();
  for (const key of keys) {
    await sql`select pg_advisory_xact_lock(${IDENTITY_LOCK_CLASS}, hashtext(current_schema() || '/' || ${key}))`.execute(trx);
  }
}

/**
 * - `update`: the rows will be deleted (or their keys changed);
 * - `no key update`: the rows will be updated; others may still reference them;
 * - `key share`: the rows will be referenced (foreign keys); they must not be deleted meanwhile.
 */
export type RowLock = 'update' | 'no key update' | 'key share';

const LOCK_CLAUSES: Record<RowLock, string> = {
  update: 'for update',
  'no key update': 'for no key update',
  'key share': 'for key share',
};

/**
 * Locks the rows of `table` with these ids until the transaction ends, in id order (so two
 * transactions never wait for each other in a circle), and returns the ids that still exist.
 */
export async function lockRows(
  trx: Database,
  table: 'tasks' | 'tags' | 'users',
  ids: readonly number[],
  mode: RowLock,
): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const clause = isPostgres(trx) ? sql.raw(LOCK_CLAUSES[mode]) : sql``;
  const { rows } = await sql<{ id: number }>`select id from ${sql.table(table)} where id in (${sql.join([...ids])}) order by id ${clause}`.execute(trx);
  return new Set(rows.map((row) => Number(row.id)));
}

export type JobLockResult<T> = { acquired: true; value: T } | { acquired: false };

/**
 * Runs `work` in a transaction that holds the lock of job `name`, so that with several instances a
 * job runs on one of them at a time. On PostgreSQL the lock is an advisory lock released at commit;
 * when another instance holds it, nothing runs (`acquired: false`) — that run is doing the work.
 * SQLite takes no lock: its write transactions already run one at a time.
 */
export async function withJobLock<T>(db: Database, name: string, work: (trx: Database) => Promise<T>): Promise<JobLockResult<T>> {
  return db.transaction().execute(async (trx): Promise<JobLockResult<T>> => {
    if (isPostgres(trx)) {
      const { rows } = await sql<{ locked: boolean }>`
        select pg_try_advisory_xact_lock(${JOB_LOCK_CLASS}, hashtext(current_schema() || '/' || ${name})) as locked`.execute(trx);
      if (rows[0]?.locked !== true) return { acquired: false };
    }
    return { acquired: true, value: await work(trx) };
  });
}
