// Invitations: a single-use token for one e-mail address, of which only the SHA-256 is stored.
import { sql } from 'kysely';
import type { Database } from '../../db/database.js';

export async function insertInvitation(
  db: Database,
  invitation: { email: string; tokenHash: string; invitedBy: number; now: string; expiresAt: string },
): Promise<void> {
  await db
    .insertInto('invitations')
    .values({
      email: invitation.email,
      token_hash: invitation.tokenHash,
      invited_by: invitation.invitedBy,
      created_at: invitation.now,
      expires_at: invitation.expiresAt,
    })
    .execute();
}

export async function findInvitation(
  db: Database,
  tokenHash: string,
): Promise<{ email: string; usedAt: string | null; expiresAt: string } | undefined> {
  const row = await db.selectFrom('invitations').select(['email', 'used_at', 'expires_at']).where('token_hash', '=', tokenHash).executeTakeFirst();
  return row ? { email: row.email, usedAt: row.used_at, expiresAt: row.expires_at } : undefined;
}

/** Marks the invitation used if it is unused, unexpired and for `email`, in one statement; true when it did. */
export async function consumeInvitation(db: Database, tokenHash: string, email: string, now: string): Promise<boolean> {
  const result = await db
    .updateTable('invitations')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .where(sql`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
