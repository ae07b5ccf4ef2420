// Overdue over all tasks (analytics' team scope) adds up the unfinished tasks of every past day
// from task_deadline_counts (migration 0011), whose key begins with the assignee. On SQLite, with no
// statistics the planner reads the whole table for that, and with them (after `analyze`) it skips
// through the key per assignee: two plans, both reading more than the past days. An index by day,
// holding the count, reads the past days alone under either (1,000 tasks: 39 and 30 µs → 27 µs).
// Not on PostgreSQL: the table is read whole there in a few microseconds, and an index on `tasks`
// would make every count update a non-HOT one (the table is kept small by HOT updates, 0011).
import type { Kysely } from 'kysely';
import { columnKinds } from './column-types.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  if (columnKinds(db).isPostgres) return;
  await db.schema.createIndex('task_deadline_counts_day_idx').on('task_deadline_counts').columns(['deadline_day', 'tasks']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('task_deadline_counts_day_idx').ifExists().execute();
}
