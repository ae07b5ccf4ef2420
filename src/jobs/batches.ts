// Multi-row writes in bounded batches: a job may touch many tasks at once (the first run after a
// downtime, say), and one statement must stay under the bound-parameter limits (SQLite 32 766,
// PostgreSQL 65 535).
import type { Database } from '../db/database.js';
import { insertNotifications, type NewNotification } from '../modules/notifications/notifications.repository.js';
import type { NotificationPublic } from '../modules/notifications/notifications.schemas.js';

export const BATCH_SIZE = 500;

/** Consecutive slices of `rows`, at most `size` long. */
export function* batches<T>(rows: readonly T[], size = BATCH_SIZE): Generator<readonly T[]> {
  for (let start = 0; start < rows.length; start += size) yield rows.slice(start, start + size);
}

/** insertNotifications, batch by batch: the notifications written (a duplicate dedupe key is skipped). */
export async function insertNotificationsInBatches(
  trx: Database,
  rows: readonly NewNotification[],
  now: string,
): Promise<NotificationPublic[]> {
  const written: NotificationPublic[] = [];
  for (const batch of batches(rows)) written.push(...(await insertNotifications(trx, batch, now)));
  return written;
}
