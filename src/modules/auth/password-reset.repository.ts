// Password reset tokens. Only the SHA-256 of a token is stored; a token is single-use and expires
// an hour after it was issued. Asking again replaces the user's unused tokens.
import type { Database } from '../../db/database.js';

export async function insertPasswordResetToken(
  db: Database,
  token: { userId: number; tokenHash: string; now: string; expiresAt: string },
): Promise<void> {
  await db
    .insertInto('password_reset_tokens')
    .values({ user_id: token.userId, token_hash: token.tokenHash, created_at: token.now, expires_at: token.expiresAt })
    .execute();
}

/**
 * Marks the token used if it is unused and unexpired, in one statement (two concurrent uses cannot
 * both succeed); returns its user, or undefined when the token cannot be used.
 */
export async function consumePasswordResetToken(db: Database, tokenHash: string, now: string): Promise<number | undefined> {
  const row = await db
    .updateTable('password_reset_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('user_id')
    .executeTakeFirst();
  return row?.user_id;
}

export async function deleteUnusedPasswordResetTokens(db: Database, userId: number): Promise<void> {
  await db.deleteFrom('password_reset_tokens').where('user_id', '=', userId).where('used_at', 'is', null).execute();
}

/** The user a token was issued to, whether or not it can still be used. */
export async function findPasswordResetTokenUser(db: Database, tokenHash: string): Promise<number | undefined> {
  const row = await db.selectFrom('password_reset_tokens').select('user_id').where('token_hash', '=', tokenHash).executeTakeFirst();
  return row?.user_id;
}
