// Transaction-scoped locks for invariants no row constraint can hold. PostgreSQL takes an advisory
// lock released at commit; SQLite needs none, as it runs one write transaction at a time.
import { PostgresAdapter, sql } from 'kysely';
import type { Database } from './database.js';

/** Lock keys, one per invariant. */
const TASK_HIERARCHY_LOCK = 0x7461736b; // "task"

/**
 * Serializes changes of task parents, so two concurrent moves (A under B, B under A) cannot each
 * pass the cycle check before the other commits. Call inside the transaction, before the check.
 */
export async function lockTaskHierarchy(trx: Database): Promise<void> {
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`select pg_advisory_xact_lock(${TASK_HIERARCHY_LOCK})`.execute(trx);
  }
}
