// The audit trail's write path: rows are queued in memory and written in batches, off the request
// path, so a request never waits for — or fails because of — its audit row. The queue is bounded:
// when the store falls behind, new rows are dropped and counted instead of growing memory. Closing
// flushes what is queued.
import type { FastifyBaseLogger } from 'fastify';
import type { Insertable } from 'kysely';
import type { Database } from '../../db/database.js';
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

export class AuditQueue {
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
    if (this.rows.length >= this.options.batchSize) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.flushIntervalMs).unref();
  }

  /** Writes everything queued so far (waits for a flush in progress first). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.rows.length === 0) return;
    this.flushing = this.writeAll().finally(() => {
      this.flushing = null;
    });
    await this.flushing;
  }

  private async writeAll(): Promise<void> {
    while (this.rows.length > 0) {
      const batch = this.rows.splice(0, this.options.batchSize);
      try {
        await this.options.db.insertInto('api_audit_logs').values(batch).execute();
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
