// Personal API tokens (§12): a user's long-lived credentials for scripts, `read` or `write`, shown
// once and stored as a SHA-256 only. Audit rows name the token a request used (api_token_id; no
// foreign key, so the trail outlives a deleted token or user).
import type { Kysely } from 'kysely';
import { columnKinds } from './column-types.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnKinds(db);
  await db.schema
    .createTable('api_tokens')
    .addColumn('id', t.id, (c) => (t.isPostgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('scope', 'varchar(8)', (c) => c.notNull())
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('last_used_at', t.timestamp)
    .addColumn('expires_at', t.timestamp)
    .addColumn('revoked_at', t.timestamp)
    .execute();
  await db.schema.createIndex('ix_api_tokens_user_id').on('api_tokens').column('user_id').execute();
  await db.schema.alterTable('api_audit_logs').addColumn('api_token_id', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_audit_logs').dropColumn('api_token_id').execute();
  await db.schema.dropTable('api_tokens').ifExists().execute();
}
