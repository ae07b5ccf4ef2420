// Notifications table access, always scoped to one user: a notification is only ever read or
// changed by its recipient. Inserts return the public rows, so they can be pushed after commit.
import type { Selectable } from 'kysely';
import type { Database } from '../../db/database.js';
import type { NotificationsTable, NotificationType } from '../../db/schema.js';
import type { NotificationPublic } from './notifications.schemas.js';

export interface NewNotification {
  userId: number;
  taskId: number | null;
  taskTitle: string;
  message: string;
  type: NotificationType;
  /** Set for notifications that may exist only once; a second insert with the same key is skipped. */
  dedupeKey?: string;
}

const COLUMNS = [
  'id',
  'user_id',
  'task_id',
  'task_title',
  'message',
  'notification_type',
  'read',
  'is_delivered',
  'created_at',
] as const;

type NotificationRow = Pick<Selectable<NotificationsTable>, (typeof COLUMNS)[number]>;

export function toNotificationPublic(row: NotificationRow): NotificationPublic {
  return {
    id: row.id,
    user_id: row.user_id,
    task_id: row.task_id,
    task: row.task_id,
    task_title: row.task_title,
    message: row.message,
    notification_type: row.notification_type,
    read: Boolean(row.read),
    is_delivered: Boolean(row.is_delivered),
    created_at: row.created_at,
  };
}

/**
 * Inserts the notifications (in the caller's transaction) and returns those actually written:
 * a row whose dedupe key already exists is skipped, not an error.
 */
export async function insertNotifications(db: Database, rows: readonly NewNotification[], now: string): Promise<NotificationPublic[]> {
  if (rows.length === 0) return [];
  const inserted = await db
    .insertInto('notifications')
    .values(
      rows.map((n) => ({
        user_id: n.userId,
        task_id: n.taskId,
        task_title: n.taskTitle.slice(0, 255),
        message: n.message,
        notification_type: n.type,
        read: false,
        is_delivered: false,
        created_at: now,
        dedupe_key: n.dedupeKey ?? null,
      })),
    )
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .returning(COLUMNS)
    .execute();
  return inserted.map(toNotificationPublic).sort((a, b) => a.id - b.id);
}

export interface NotificationListOptions {
  unreadOnly: boolean;
  limit: number;
  offset: number;
}

/** The user's notifications, newest first. */
export async function listNotifications(db: Database, userId: number, options: NotificationListOptions): Promise<NotificationPublic[]> {
  let query = db.selectFrom('notifications').select(COLUMNS).where('user_id', '=', userId);
  if (options.unreadOnly) query = query.where('read', '=', false);
  const rows = await query.orderBy('id', 'desc').limit(options.limit).offset(options.offset).execute();
  return rows.map(toNotificationPublic);
}

export async function countNotifications(db: Database, userId: number, options: { unreadOnly: boolean }): Promise<number> {
  let query = db.selectFrom('notifications').select((eb) => eb.fn.countAll<number>().as('count')).where('user_id', '=', userId);
  if (options.unreadOnly) query = query.where('read', '=', false);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function findNotification(db: Database, userId: number, id: number): Promise<NotificationPublic | undefined> {
  const row = await db.selectFrom('notifications').select(COLUMNS).where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return row ? toNotificationPublic(row) : undefined;
}

/** Marks one of the user's notifications read; false when the user has no such notification. */
export async function markNotificationRead(db: Database, userId: number, id: number): Promise<boolean> {
  const result = await db
    .updateTable('notifications')
    .set({ read: true })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Marks every unread notification of the user read; returns how many changed. */
export async function markAllNotificationsRead(db: Database, userId: number): Promise<number> {
  const result = await db
    .updateTable('notifications')
    .set({ read: true })
    .where('user_id', '=', userId)
    .where('read', '=', false)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Claims up to `limit` of the user's undelivered notifications, oldest first: marks them delivered
 * and returns them. Claiming is a conditional update, so two sockets connecting at once never
 * replay the same notification twice.
 */
export const claimUndelivered = (db: Database, userId: number, limit: number): Promise<NotificationPublic[]> =>
  claimUndeliveredForUsers(db, [userId], limit);

/** Marks claimed notifications undelivered again: no socket wrote them out after all. */
export async function releaseDelivery(db: Database, ids: readonly number[]): Promise<void> {
  for (const chunk of chunks(ids)) await db.updateTable('notifications').set({ is_delivered: false }).where('id', 'in', chunk).execute();
}

const ID_CHUNK = 1000;
const chunks = (ids: readonly number[]) => Array.from({ length: Math.ceil(ids.length / ID_CHUNK) }, (_, i) => ids.slice(i * ID_CHUNK, (i + 1) * ID_CHUNK));

/** Marks these notifications delivered (after a live push reached a socket). */
export async function markDelivered(db: Database, ids: readonly number[]): Promise<void> {
  for (const chunk of chunks(ids)) {
    await db.updateTable('notifications').set({ is_delivered: true }).where('id', 'in', chunk).where('is_delivered', '=', false).execute();
  }
}

/**
 * Claims the oldest undelivered notifications of any of these users (at most `limit` in all), for
 * the sockets' periodic catch-up: whatever was committed but never pushed (a publish lost to a
 * Redis outage, a notification made by the command line) still reaches the open sockets.
 */
export async function claimUndeliveredForUsers(db: Database, userIds: readonly number[], limit: number): Promise<NotificationPublic[]> {
  if (userIds.length === 0) return [];
  const candidates = await db
    .selectFrom('notifications')
    .select('id')
    .where('user_id', 'in', [...userIds])
    .where('is_delivered', '=', false)
    .orderBy('id', 'asc')
    .limit(limit)
    .execute();
  if (candidates.length === 0) return [];
  const claimed = await db
    .updateTable('notifications')
    .set({ is_delivered: true })
    .where('id', 'in', candidates.map((c) => c.id))
    .where('is_delivered', '=', false)
    .returning(COLUMNS)
    .execute();
  return claimed.map(toNotificationPublic).sort((a, b) => a.id - b.id);
}
