// E-mail verification tokens. Only the SHA-256 of a token is stored; a token is single-use and
// expires after VERIFICATION_TOKEN_EXPIRE_HOURS. A token confirms either the account's own address
// (`email` null: registration, resend) or the new address of a pending e-mail change.
import type { Database } from '../../db/database.js';

export async function insertVerificationToken(
  db: Database,
  token: { userId: number; tokenHash: string; now: string; expiresAt: string; newEmail?: string },
): Promise<void> {
  await db
    .insertInto('email_verification_tokens')
    .values({
      user_id: token.userId,
      token_hash: token.tokenHash,
      email: token.newEmail ?? null,
      created_at: token.now,
      expires_at: token.expiresAt,
    })
    .execute();
}

/**
 * Marks the token used if it is unused and unexpired, in one statement (two concurrent uses cannot
 * both succeed); returns its user and the new address it confirms (null: the account's own), or
 * undefined when the token cannot be used.
 */
export async function consumeVerificationToken(
  db: Database,
  tokenHash: string,
  now: string,
): Promise<{ userId: number; newEmail: string | null } | undefined> {
  const row = await db
    .updateTable('email_verification_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning(['user_id', 'email'])
    .executeTakeFirst();
  return row ? { userId: row.user_id, newEmail: row.email } : undefined;
}

export async function findVerificationToken(
  db: Database,
  tokenHash: string,
): Promise<{ userId: number; usedAt: string | null; expiresAt: string } | undefined> {
  const row = await db
    .selectFrom('email_verification_tokens')
    .select(['user_id', 'used_at', 'expires_at'])
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst();
  return row ? { userId: row.user_id, usedAt: row.used_at, expiresAt: row.expires_at } : undefined;
}

/**
 * Removes the user's unused tokens of one purpose: a resend supersedes the earlier tokens for the
 * account's own address, a new e-mail change the pending one (and a completed change the others).
 */
export async function deleteUnusedVerificationTokens(db: Database, userId: number, purpose: 'own address' | 'e-mail change'): Promise<void> {
  await db
    .deleteFrom('email_verification_tokens')
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .where('email', purpose === 'own address' ? 'is' : 'is not', null)
    .execute();
}
