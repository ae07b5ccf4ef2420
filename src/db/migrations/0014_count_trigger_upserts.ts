// SQLite only: migration 0011's triggers on tasks upserted into task_status_counts with
// `tasks = tasks + excluded.tasks`. Renaming that table (SQLite changes a table's columns by building a
// new one and renaming it into place) rewrites `excluded.x` in a trigger into the table's own column,
// so from then on every counted write would double its row instead of adding to it, with no error.
// 0011 now creates triggers that write the change out instead; this migration replaces the ones that
// databases migrated before it still have. They count exactly the same, so down keeps them.
// PostgreSQL keeps its triggers' SQL as written: nothing to do there.
// Never imports application code.
import { sql, type Kysely } from 'kysely';
import { sqliteStatusCountTriggers } from './0011_task_counts.js';
import { columnKinds } from './column-types.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  if (columnKinds(db).isPostgres) return;
  // Migrations run outside a transaction on SQLite: no write of another process may fall between
  // dropping a trigger and creating its replacement.
  await sql`begin immediate`.execute(db);
  try {
    for (const trigger of sqliteStatusCountTriggers()) {
      await sql.raw(`drop trigger if exists ${trigger.name}`).execute(db);
      await sql.raw(trigger.sql).execute(db);
    }
    await sql`commit`.execute(db);
  } catch (error) {
    await sql`rollback`.execute(db);
    throw error;
  }
}

export async function down(): Promise<void> {
  // The replaced triggers count as the ones they replaced, without the defect: kept.
}
