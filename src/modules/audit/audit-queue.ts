// The audit trail's write path: rows are queued in memory and written in batches, off the request
// path, so a request never waits for — or fails because of — its audit row. The queue is bounded:
// when the store falls behind, new rows are dropped and counted instead of growing memory. Closing
// flushes what is queued.
import type { FastifyBaseLogger } from 'fastify';
import { InsertQueryNode, type CompiledQuery, type Insertable } from 'kysely';
import { prepareOnPostgres, type Database } from '../../db/database.js';
import type { ApiAuditLogsTable } from '../../db/schema.js';

export type AuditRow = Insertable<ApiAuditLogsTable>;

export interface AuditQueueOptions {
  db: Database;
  log: FastifyBaseLogger;
  /** Rows held at most; beyond it new rows are dropped. */
  maxQueued: number;
  /** Rows per INSERT. */
  batchSize: number;
  /** How long a row may wait for its batch. */
  flushIntervalMs: number;
}

export interface AuditStats {
  queued: number;
  written: number;
  /** Rows refused because the queue was full. */
  dropped: number;
  /** Rows lost because the store failed to write them. */
  failed: number;
}

/** The columns of a row as the plugin queues them (plugins/audit.ts), in that order. */
const COLUMNS = ['user_id', 'api_token_id', 'endpoint', 'method', 'status_code', 'request_body', 'response_body', 'ip', 'user_agent', 'duration_ms', 'timestamp'] as const;

/** The batch's values row by row, or null when a row has other columns or an undefined value. */
function flatValues(batch: readonly AuditRow[]): unknown[] | null {
  const values: unknown[] = [];
  for (const row of batch) {
    let columns = 0;
    for (const key in row) if (Object.hasOwn(row, key)) columns += 1;
    if (columns !== COLUMNS.length) return null;
    for (const column of COLUMNS) {
      const value = row[column];
      if (value === undefined) return null;
      values.push(value);
    }
  }
  return values;
}

export class AuditQueue {
  /**
   * The INSERT of a full batch as Kysely compiles it, kept to run again with the next full batch's
   * values: building and compiling 200 rows × 11 values again cost more per request than the rest
   * of the audit trail. Other batches (the timer's, odd rows) go through the query builder.
   */
  private fullBatchInsert: CompiledQuery | null = null;

  private rows: AuditRow[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly counts = { written: 0, dropped: 0, failed: 0 };
  private lastFailureLog = 0;

  constructor(private readonly options: AuditQueueOptions) {}

  stats(): AuditStats {
    return { queued: this.rows.length, ...this.counts };
  }

  enqueue(row: AuditRow): void {
    if (this.rows.length >= this.options.maxQueued) {
      this.counts.dropped += 1;
      return;
    }
    this.rows.push(row);
    if (this.rows.length >= this.options.batchSize) this.writeFullBatches();
    else this.armTimer();
  }

  /** Writes everything queued so far (waits for a write in progress first). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.rows.length === 0) return;
    this.startWriting(1);
    await this.flushing;
  }

  /**
   * Writes the full batches queued, unless a write is in progress (it takes them too). The rest
   * waits for the next full batch or the timer: under load, writing it at once too made most
   * batches odd-sized ones, which the query builder builds (and PostgreSQL plans) anew every time.
   */
  private writeFullBatches(): void {
    if (this.flushing === null) this.startWriting(this.options.batchSize);
  }

  private startWriting(leastRows: number): void {
    this.flushing = this.writeBatches(leastRows).finally(() => {
      this.flushing = null;
      // A batch that filled between the last write and this moment is written now, not by the timer.
      if (this.rows.length >= this.options.batchSize) this.writeFullBatches();
      else if (this.rows.length > 0) this.armTimer();
    });
  }

  /** No row waits longer than flushIntervalMs for its batch. */
  private armTimer(): void {
    this.timer ??= setTimeout(() => void this.flush(), this.options.flushIntervalMs).unref();
  }

  private async insert(batch: AuditRow[]): Promise<void> {
    const { db, batchSize } = this.options;
    const values = batch.length === batchSize ? flatValues(batch) : null;
    if (values === null) {
      await db.insertInto('api_audit_logs').values(batch).execute();
      return;
    }
    if (this.fullBatchInsert === null) {
      const compiled = db.insertInto('api_audit_logs').values(batch).compile();
      // Kept only when its columns are COLUMNS and its parameters exactly the values row by row
      // (what the next batch fills in).
      const columns = InsertQueryNode.is(compiled.query) ? compiled.query.columns?.map((node) => node.column.name) : undefined;
      const same =
        columns?.join() === COLUMNS.join() &&
        compiled.parameters.length === values.length &&
        compiled.parameters.every((parameter, i) => parameter === values[i]);
      if (same) {
        this.fullBatchInsert = compiled;
        // An INSERT returns no columns a migration could change: PostgreSQL parses and plans it
        // once per connection instead of for every batch.
        prepareOnPostgres(compiled.sql);
      }
      await db.executeQuery(compiled);
      return;
    }
    await db.executeQuery({ ...this.fullBatchInsert, parameters: values });
  }

  /** Writes batches while at least `leastRows` (≥ 1) rows are queued, rows queued meanwhile included. */
  private async writeBatches(leastRows: number): Promise<void> {
    while (this.rows.length >= leastRows) {
      const batch = this.rows.splice(0, this.options.batchSize);
      try {
        await this.insert(batch);
        this.counts.written += batch.length;
      } catch (error) {
        this.counts.failed += batch.length;
        // One line per minute at most: a broken store must not flood the log either.
        const now = Date.now();
        if (now - this.lastFailureLog > 60_000) {
          this.lastFailureLog = now;
          this.options.log.error({ err: error, lost: batch.length, ...this.counts }, 'could not write audit rows');
        }
      }
    }
  }
}
