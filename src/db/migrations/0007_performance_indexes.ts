// Covering indexes for the analytics aggregates (docs/performance.md): counting a user's tasks by
// status, the overdue ones and the hours of the completed ones reads the index alone instead of
// one table row per task. (assigned_to, status, …) also serves a developer's list filtered by status.
import type { Kysely } from 'kysely';

const COVERED = ['deadline', 'estimated_hours', 'actual_hours'];

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('tasks_assigned_to_status_cover_idx').on('tasks').columns(['assigned_to', 'status', ...COVERED]).execute();
  await db.schema.createIndex('tasks_status_cover_idx').on('tasks').columns(['status', ...COVERED]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('tasks_status_cover_idx').ifExists().execute();
  await db.schema.dropIndex('tasks_assigned_to_status_cover_idx').ifExists().execute();
}
