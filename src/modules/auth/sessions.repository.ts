// Sessions: one row per logged-in device. Access tokens are checked against their session on every
// request (a primary-key lookup), so revoking a session stops its tokens at once.
import type { ExpressionBuilder } from 'kysely';
import { compiledOnce } from '../../db/compiled-query.js';
import type { Database } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import { JOINED_USER_COLUMNS, toCurrentUser } from '../users/users.repository.js';
import type { CurrentUser } from '../users/users.types.js';

/** Why a session was revoked; stored in user_sessions.revoked_reason. */
export type RevokedReason =
  | 'logout'
  | 'logout_all'
  | 'device_limit'
  | 'device_replaced'
  | 'session_revoked'
  | 'refresh_reuse'
  | 'password_changed'
  | 'password_reset'
  | 'deactivated';

export interface SessionWithUser {
  sessionId: number;
  revokedAt: string | null;
  revokedReason: string | null;
  expiresAt: string;
  lastUsed: string;
  user: CurrentUser;
}

const sessionWithUser = compiledOnce((db, sessionId: number) =>
  db
    .selectFrom('user_sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['s.id as session_id', 's.revoked_at', 's.revoked_reason', 's.expires_at', 's.last_used', ...JOINED_USER_COLUMNS])
    .where('s.id', '=', sessionId),
);

export async function findSessionWithUser(db: Database, sessionId: number): Promise<SessionWithUser | undefined> {
  const row = await sessionWithUser.executeTakeFirst(db, sessionId);
  if (!row) return undefined;
  const { session_id, revoked_at, revoked_reason, expires_at, last_used, ...user } = row;
  return {
    sessionId: session_id,
    revokedAt: revoked_at,
    revokedReason: revoked_reason,
    expiresAt: expires_at,
    lastUsed: last_used,
    user: toCurrentUser(user),
  };
}

export async function touchSession(db: Database, sessionId: number, now: string): Promise<void> {
  await db.updateTable('user_sessions').set({ last_used: now }).where('id', '=', sessionId).execute();
}

// A live session is neither revoked nor expired; only live sessions count, list or authenticate.
const isLive = (now: string) => (eb: ExpressionBuilder<DB, 'user_sessions'>) =>
  eb.and([eb('revoked_at', 'is', null), eb('expires_at', '>', now)]);

/** The user's live sessions, most recently used first. */
const liveSessionsByRecency = (db: Database, userId: number, now: string) =>
  db
    .selectFrom('user_sessions')
    .where('user_id', '=', userId)
    .where(isLive(now))
    .orderBy('last_used', 'desc')
    .orderBy('id', 'desc');

export interface NewSession {
  userId: number;
  deviceId: string;
  userAgent: string | null;
  ip: string | null;
  now: string;
  expiresAt: string;
}

/**
 * Inserts a session. Its refresh token carries the session id, so the row is created with a
 * placeholder hash (never the SHA-256 of anything) and completed with setRefreshTokenHash.
 */
export async function insertSession(db: Database, session: NewSession): Promise<number> {
  const row = await db
    .insertInto('user_sessions')
    .values({
      user_id: session.userId,
      refresh_token_hash: 'pending',
      device_id: session.deviceId,
      user_agent: session.userAgent,
      ip: session.ip,
      created_at: session.now,
      last_used: session.now,
      expires_at: session.expiresAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function setRefreshTokenHash(db: Database, sessionId: number, hash: string): Promise<void> {
  await db.updateTable('user_sessions').set({ refresh_token_hash: hash }).where('id', '=', sessionId).execute();
}

export interface Rotation {
  sessionId: number;
  userId: number;
  presentedHash: string;
  nextHash: string;
  now: string;
  expiresAt: string;
}

/**
 * Compare-and-swap of the refresh token: succeeds only when the presented token is the session's
 * current one and the session is live, so two uses of one token can never both succeed.
 */
export async function rotateRefreshToken(db: Database, r: Rotation): Promise<{ deviceId: string } | undefined> {
  return db
    .updateTable('user_sessions')
    .set({
      refresh_token_hash: r.nextHash,
      previous_refresh_token_hash: r.presentedHash,
      refresh_rotated_at: r.now,
      last_used: r.now,
      expires_at: r.expiresAt,
    })
    .where('id', '=', r.sessionId)
    .where('user_id', '=', r.userId)
    .where('refresh_token_hash', '=', r.presentedHash)
    .where(isLive(r.now))
    .returning('device_id as deviceId')
    .executeTakeFirst();
}

export interface SessionState {
  id: number;
  userId: number;
  deviceId: string;
  refreshTokenHash: string;
  /** The refresh token the last rotation replaced, and when that rotation happened. */
  previousRefreshTokenHash: string | null;
  refreshRotatedAt: string | null;
  revokedAt: string | null;
  expiresAt: string;
}

export async function findSessionState(db: Database, sessionId: number): Promise<SessionState | undefined> {
  const row = await db
    .selectFrom('user_sessions')
    .select([
      'id',
      'user_id',
      'device_id',
      'refresh_token_hash',
      'previous_refresh_token_hash',
      'refresh_rotated_at',
      'revoked_at',
      'expires_at',
    ])
    .where('id', '=', sessionId)
    .executeTakeFirst();
  return row
    ? {
        id: row.id,
        userId: row.user_id,
        deviceId: row.device_id,
        refreshTokenHash: row.refresh_token_hash,
        previousRefreshTokenHash: row.previous_refresh_token_hash,
        refreshRotatedAt: row.refresh_rotated_at,
        revokedAt: row.revoked_at,
        expiresAt: row.expires_at,
      }
    : undefined;
}

/** Revokes one session if it is not revoked yet; true when this call revoked it. */
export async function revokeSession(db: Database, sessionId: number, now: string, reason: RevokedReason): Promise<boolean> {
  const result = await db
    .updateTable('user_sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Revokes one of the user's live sessions; false when it is not theirs or not live. */
export async function revokeLiveSessionOfUser(db: Database, userId: number, sessionId: number, now: string): Promise<boolean> {
  const result = await db
    .updateTable('user_sessions')
    .set({ revoked_at: now, revoked_reason: 'session_revoked' satisfies RevokedReason })
    .where('id', '=', sessionId)
    .where('user_id', '=', userId)
    .where(isLive(now))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Revokes every unrevoked session of the user, optionally keeping one; returns how many. */
export async function revokeUserSessions(
  db: Database,
  userId: number,
  now: string,
  reason: RevokedReason,
  options: { exceptSessionId?: number; deviceId?: string } = {},
): Promise<number> {
  let query = db
    .updateTable('user_sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (options.exceptSessionId !== undefined) query = query.where('id', '<>', options.exceptSessionId);
  if (options.deviceId !== undefined) query = query.where('device_id', '=', options.deviceId);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Deletes the user's sessions that can never be used again (expired or revoked). */
export async function deleteDeadSessions(db: Database, userId: number, now: string): Promise<number> {
  const result = await db
    .deleteFrom('user_sessions')
    .where('user_id', '=', userId)
    .where((eb) => eb.or([eb('expires_at', '<=', now), eb('revoked_at', 'is not', null)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Revokes the least recently used live sessions so that at most `keep` remain. Callers serialize
 * logins of one user (lockUserForLogin) so the count cannot change underneath.
 */
export async function trimLiveSessions(db: Database, userId: number, keep: number, now: string): Promise<number[]> {
  const live = await liveSessionsByRecency(db, userId, now).select('id').execute();
  const evicted = live.slice(Math.max(keep, 0)).map((r) => r.id);
  if (evicted.length > 0) {
    await db
      .updateTable('user_sessions')
      .set({ revoked_at: now, revoked_reason: 'device_limit' satisfies RevokedReason })
      .where('id', 'in', evicted)
      .execute();
  }
  return evicted;
}

export interface SessionPublicRow {
  id: number;
  device_id: string;
  user_agent: string | null;
  ip: string | null;
  created_at: string;
  last_used: string;
  expires_at: string;
}

export async function listLiveSessions(db: Database, userId: number, now: string): Promise<SessionPublicRow[]> {
  return liveSessionsByRecency(db, userId, now)
    .select(['id', 'device_id', 'user_agent', 'ip', 'created_at', 'last_used', 'expires_at'])
    .execute();
}

/** Which of these sessions are live (open sockets re-check theirs with it, many at once). */
export async function findLiveSessionIds(db: Database, sessionIds: readonly number[], now: string): Promise<Set<number>> {
  if (sessionIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('user_sessions')
    .select('id')
    .where('id', 'in', [...sessionIds])
    .where(isLive(now))
    .execute();
  return new Set(rows.map((row) => row.id));
}
