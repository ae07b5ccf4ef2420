// Transaction-scoped locks for invariants that constraints alone cannot hold under concurrency.
// PostgreSQL takes row locks (or an advisory lock) released at commit; SQLite needs none, as it
// runs one write transaction at a time.
import { PostgresAdapter, sql } from 'kysely';
import type { Database } from './database.js';

const isPostgres = (trx: Database) => trx.getExecutor().adapter instanceof PostgresAdapter;

/** Lock keys, one per invariant. */
const TASK_HIERARCHY_LOCK = 0x7461736b; // "task"

/**
 * Serializes changes of task parents, so two concurrent moves (A under B, B under A) cannot each
 * pass the cycle check before the other commits. Take it first in the transaction, before row locks.
 */
export async function lockTaskHierarchy(trx: Database): Promise<void> {
  if (isPostgres(trx)) await sql`select pg_advisory_xact_lock(${TASK_HIERARCHY_LOCK})`.execute(trx);
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
