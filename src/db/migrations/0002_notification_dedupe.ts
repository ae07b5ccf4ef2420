// Notifications that must exist at most once (a deadline warning per task and deadline, say) carry a
// dedupe key under a unique index, so two overlapping job runs cannot both insert one. Other
// notifications leave it null; NULLs never collide in either dialect.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('notifications').addColumn('dedupe_key', 'varchar(128)').execute();
  await db.schema.createIndex('notifications_dedupe_key_key').on('notifications').unique().column('dedupe_key').execute();
  // Undelivered backlog per user, oldest first (the socket's connect-time replay).
  await db.schema.createIndex('notifications_user_undelivered_idx').on('notifications').columns(['user_id', 'is_delivered', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('notifications_user_undelivered_idx').ifExists().execute();
  await db.schema.dropIndex('notifications_dedupe_key_key').ifExists().execute();
  await db.schema.alterTable('notifications').dropColumn('dedupe_key').execute();
}
