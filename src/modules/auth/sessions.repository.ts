// Sessions: one row per logged-in device. Access tokens are checked against their session on every
// request (a primary-key lookup), so revoking a session stops its tokens at once.
import type { Database } from '../../db/database.js';
import type { CurrentUser } from '../users/users.types.js';

export interface SessionWithUser {
  sessionId: number;
  revokedAt: string | null;
  expiresAt: string;
  lastUsed: string;
  user: CurrentUser;
}

export async function findSessionWithUser(db: Database, sessionId: number): Promise<SessionWithUser | undefined> {
  const row = await db
    .selectFrom('user_sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select([
      's.id as session_id',
      's.revoked_at',
      's.expires_at',
      's.last_used',
      'u.id',
      'u.username',
      'u.email',
      'u.role',
      'u.timezone',
      'u.email_verified',
      'u.is_active',
      'u.created_at',
    ])
    .where('s.id', '=', sessionId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    sessionId: row.session_id,
    revokedAt: row.revoked_at,
    expiresAt: row.expires_at,
    lastUsed: row.last_used,
    user: {
      id: row.id,
      username: row.username,
      email: row.email,
      role: row.role,
      timezone: row.timezone,
      email_verified: Boolean(row.email_verified),
      is_active: Boolean(row.is_active),
      created_at: row.created_at,
    },
  };
}

export async function touchSession(db: Database, sessionId: number, now: string): Promise<void> {
  await db.updateTable('user_sessions').set({ last_used: now }).where('id', '=', sessionId).execute();
}
