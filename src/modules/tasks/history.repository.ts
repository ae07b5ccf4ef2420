// Task history rows: written by the task service inside its transaction, read oldest first.
// `changes` is stored as JSON text (a list of field names) and parsed back on read.
import type { Database } from '../../db/database.js';
import type { TaskStatus } from '../../db/schema.js';
import { formatTimestamp } from './task-input.js';
import type { TaskHistoryEntry } from './tasks.schemas.js';

export type HistoryAction = 'created' | 'status_changed' | 'updated' | 'bulk_update' | 'comment_added' | 'comment_edited' | 'comment_deleted';

export interface NewHistoryEntry {
  taskId: number;
  userId: number;
  action: HistoryAction;
  fromStatus?: TaskStatus | null;
  toStatus?: TaskStatus | null;
  changes?: string[] | null;
}

export async function insertHistory(db: Database, entries: readonly NewHistoryEntry[], now: string): Promise<void> {
  if (entries.length === 0) return;
  await db
    .insertInto('task_history')
    .values(
      entries.map((e) => ({
        task_id: e.taskId,
        user_id: e.userId,
        action: e.action,
        from_status: e.fromStatus ?? null,
        to_status: e.toStatus ?? null,
        changes: e.changes ? JSON.stringify(e.changes) : null,
        timestamp: now,
      })),
    )
    .execute();
}

export async function listHistory(db: Database, taskId: number): Promise<TaskHistoryEntry[]> {
  const rows = await db
    .selectFrom('task_history')
    .select(['id', 'task_id', 'action', 'from_status', 'to_status', 'changes', 'user_id', 'timestamp'])
    .where('task_id', '=', taskId)
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ ...row, changes: parseChanges(row.changes), timestamp: formatTimestamp(row.timestamp) }));
}

function parseChanges(text: string | null): string[] | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.map(String) : null;
  } catch {
    return null;
  }
}
