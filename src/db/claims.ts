// Claiming queue rows when several instances share one database. On PostgreSQL the candidate rows
// are locked FOR UPDATE SKIP LOCKED, so concurrent claimers take different rows without waiting for
// each other; SQLite runs one write statement at a time, so a claiming UPDATE is atomic as it is.
import { PostgresAdapter, type SelectQueryBuilder } from 'kysely';
import type { Database } from './database.js';

/** `query` (the candidates of a claiming UPDATE) with the dialect's row locking for queues. */
export function skipLockedRows<DB, TB extends keyof DB, O>(db: Database, query: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O> {
  return db.getExecutor().adapter instanceof PostgresAdapter ? query.forUpdate().skipLocked() : query;
}
