// Read snapshots: reads spread over many statements, with other requests running between them (a
// whole task list read in pieces and written out in slices), that all see the database as of one
// moment, without holding up anyone else's statements. PostgreSQL: a read-only REPEATABLE READ
// transaction on a pooled connection of its own. SQLite: a read transaction on a read-only
// connection of its own (WAL: a reader keeps the snapshot of its first read until it commits, and
// neither blocks the writer nor is blocked by it).
//
// An open snapshot holds a connection (PostgreSQL: one of the pool's; SQLite: one more file
// handle) and keeps old row versions alive: PostgreSQL cannot vacuum what it may still see; SQLite's
// checkpoints copy into the database file only what was written before the oldest open snapshot
// began, so the WAL file keeps growing while writes go on, and is reused from its start only once
// no snapshot needs it (then cut back to SQLITE_WAL_SIZE_LIMIT_BYTES, database.ts). So snapshots are few at a
// time (SQLite: SQLITE_SNAPSHOTS in database.ts; PostgreSQL: maxSnapshots), more wait for one to
// end (their own requests only, and only as long as they ask to), and their users end them
// promptly, also on errors and aborted responses (a whole list: whole-list.ts).
import SqliteDatabase from 'better-sqlite3';
import { Kysely } from 'kysely';
import { UnprobedSqliteDialect } from './sqlite-dialect.js';
import type { DB } from './schema.js';
import { Slots, type SlotWait } from '../lib/slots.js';

/** How long to wait for a snapshot while all are taken; the wait ends with SlotWaitEnded. */
export type SnapshotWait = SlotWait;

type Database = Kysely<DB>;

export interface ReadSnapshot {
  /** Reads through this see the data as of the first of them, whatever is written meanwhile; it refuses writes. */
  readonly db: Database;
  /** Ends the snapshot and gives its connection back. Never throws; later calls do nothing. */
  release(): Promise<void>;
}

/** Snapshots open at once, per process: on PostgreSQL at most half the pool, so other requests keep connections. */
export const maxSnapshots = (poolSize: number): number => Math.max(1, Math.floor(poolSize / 2));

/** Runs `end` once, whoever asks first; errors are swallowed (the connection is given back regardless). */
function once(end: () => Promise<void>): () => Promise<void> {
  let ended: Promise<void> | undefined;
  return () => (ended ??= end().catch(() => undefined));
}

/** PostgreSQL: a read-only REPEATABLE READ transaction per snapshot, on its own pooled connection. */
export function postgresSnapshots(db: Database, max: number): (wait?: SnapshotWait) => Promise<ReadSnapshot> {
  const slots = new Slots(max);
  return async (wait) => {
    await slots.acquire(wait);
    try {
      // PostgreSQL takes the snapshot at the transaction's first statement, the caller's first read.
      const trx = await db.startTransaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute();
      return {
        db: trx,
        // Rolled back (nothing to commit); Kysely gives the connection back even when that fails.
        release: once(async () => {
          try {
            await trx.rollback().execute();
          } finally {
            slots.release();
          }
        }),
      };
    } catch (error) {
      slots.release();
      throw error;
    }
  };
}

interface Reader {
  raw: SqliteDatabase.Database;
  db: Database;
}

/** Closes a reader (its Kysely instance closes the connection); never throws. */
async function discard(reader: Reader): Promise<void> {
  await reader.db.destroy().catch(() => undefined);
  if (reader.raw.open) reader.raw.close();
}

export interface SqliteSnapshots {
  open(wait?: SnapshotWait): Promise<ReadSnapshot>;
  /** Closes the idle readers now and the others when their snapshots end. */
  close(): Promise<void>;
}

/**
 * SQLite: read transactions on connections of their own (`openReader` opens one, read-only and
 * configured like the main one), kept for reuse so that their cached statements are too.
 */
export function sqliteSnapshots(openReader: () => Reader, max: number): SqliteSnapshots {
  const slots = new Slots(max);
  const idle: Reader[] = [];
  let closed = false;
  return {
    async open(wait) {
      await slots.acquire(wait);
      let reader: Reader | undefined;
      try {
        if (closed) throw new Error('database is closed');
        reader = idle.pop() ?? openReader();
        // A deferred transaction: SQLite takes the snapshot at its first read, the caller's first read.
        reader.raw.exec('begin');
      } catch (error) {
        if (reader) await discard(reader);
        slots.release();
        throw error;
      }
      const own = reader;
      return {
        db: own.db,
        release: once(async () => {
          let reusable = false;
          try {
            if (own.raw.inTransaction) own.raw.exec('commit');
            reusable = !closed && own.raw.open;
          } finally {
            // A reader that could not end its transaction is not reused.
            if (reusable) idle.push(own);
            else await discard(own);
            slots.release();
          }
        }),
      };
    },
    async close() {
      closed = true;
      for (const reader of idle.splice(0)) await discard(reader);
    },
  };
}

/** A Kysely instance over one read-only better-sqlite3 connection (`database` is it, possibly wrapped). */
export function sqliteReader(raw: SqliteDatabase.Database, database: SqliteDatabase.Database, log?: (e: { query: { sql: string } }) => void): Reader {
  raw.pragma('query_only = ON');
  const db = new Kysely<DB>({ dialect: new UnprobedSqliteDialect({ database }), log: log ? (e) => void (e.level === 'query' && log(e)) : undefined });
  return { raw, db };
}
