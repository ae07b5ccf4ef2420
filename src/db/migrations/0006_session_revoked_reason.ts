// Why a session was revoked (logout, logout-all, the device cap, a password change or reset, …), so
// that a token of that session is refused with a message saying so instead of a generic one.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('user_sessions').addColumn('revoked_reason', 'varchar(32)').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('user_sessions').dropColumn('revoked_reason').execute();
}
