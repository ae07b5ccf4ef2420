// Account recovery: POST /api/auth/password-reset/request e-mails a single-use token (1 hour), of
// which only the SHA-256 is stored here; /password-reset/confirm uses it to set a new password.
import type { Kysely } from 'kysely';
import { columnKinds } from './column-types.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnKinds(db);
  await db.schema
    .createTable('password_reset_tokens')
    .addColumn('id', t.id, (c) => (t.isPostgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('expires_at', t.timestamp, (c) => c.notNull())
    .addColumn('used_at', t.timestamp)
    .execute();
  await db.schema.createIndex('password_reset_tokens_user_id_idx').on('password_reset_tokens').column('user_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('password_reset_tokens').ifExists().execute();
}
