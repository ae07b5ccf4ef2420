// Two findings of the security review:
// - an e-mail change waits for the new address to be verified: the verification token names the
//   address it confirms (null: the account's own address, as at registration);
// - two tabs refreshing at once must not look like token theft: a session remembers the hash of the
//   refresh token it last rotated away and when, so that token may repeat that rotation for a few
//   seconds (REFRESH_REUSE_GRACE_SECONDS). The new token is derived again, never stored.
import type { Kysely } from 'kysely';
import { columnKinds } from './column-types.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnKinds(db);
  await db.schema.alterTable('email_verification_tokens').addColumn('email', 'varchar(254)').execute();
  await db.schema.alterTable('user_sessions').addColumn('previous_refresh_token_hash', 'varchar(64)').execute();
  await db.schema.alterTable('user_sessions').addColumn('refresh_rotated_at', t.timestamp).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('user_sessions').dropColumn('refresh_rotated_at').execute();
  await db.schema.alterTable('user_sessions').dropColumn('previous_refresh_token_hash').execute();
  await db.schema.alterTable('email_verification_tokens').dropColumn('email').execute();
}
