// Comments on tasks (§12): who wrote what on which task, kept with the task (deleted with it) and
// read oldest first per task. Never imports application code.
import type { Kysely } from 'kysely';
import { columnKinds } from './column-types.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnKinds(db);
  await db.schema
    .createTable('task_comments')
    .addColumn('id', t.id, (c) => (t.isPostgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('task_id', 'integer', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('task_comments_task_id_idx').on('task_comments').columns(['task_id', 'id']).execute();
  await db.schema.createIndex('task_comments_user_id_idx').on('task_comments').column('user_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('task_comments').ifExists().execute();
}
