// Manager invitations: POST /api/auth/invitations e-mails a single-use token (7 days) for one
// address; registering with it creates a verified developer, even with REGISTRATION_ENABLED=false.
// There is no user yet, so the token names its address instead; only its SHA-256 is stored.
import type { Kysely } from 'kysely';
import { columnKinds } from './column-types.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnKinds(db);
  await db.schema
    .createTable('invitations')
    .addColumn('id', t.id, (c) => (t.isPostgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('email', 'varchar(254)', (c) => c.notNull())
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('invited_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('expires_at', t.timestamp, (c) => c.notNull())
    .addColumn('used_at', t.timestamp)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('invitations').ifExists().execute();
}
