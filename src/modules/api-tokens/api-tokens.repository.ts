// Personal API tokens. Only the SHA-256 of a token is stored; a request that presents one is
// checked against its row every time (one unique-index lookup), so a revocation takes effect on the
// next request on every instance.
import type { Database } from '../../db/database.js';
import type { ApiTokenScope } from '../../db/schema.js';
import { JOINED_USER_COLUMNS, toCurrentUser } from '../users/users.repository.js';
import type { CurrentUser } from '../users/users.types.js';

export interface ApiTokenRow {
  id: number;
  name: string;
  scope: ApiTokenScope;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
}

export interface ApiTokenWithUser {
  id: number;
  scope: ApiTokenScope;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  user: CurrentUser;
}

const publicColumns = ['id', 'name', 'scope', 'created_at', 'last_used_at', 'expires_at'] as const;

export async function insertApiToken(
  db: Database,
  token: { userId: number; name: string; scope: ApiTokenScope; tokenHash: string; now: string; expiresAt: string | null },
): Promise<ApiTokenRow> {
  return db
    .insertInto('api_tokens')
    .values({
      user_id: token.userId,
      name: token.name,
      scope: token.scope,
      token_hash: token.tokenHash,
      created_at: token.now,
      expires_at: token.expiresAt,
    })
    .returning(publicColumns)
    .executeTakeFirstOrThrow();
}

/** The user's tokens that are not revoked (expired ones included, so they can be seen and removed), newest first. */
export async function listApiTokens(db: Database, userId: number): Promise<ApiTokenRow[]> {
  return db
    .selectFrom('api_tokens')
    .select(publicColumns)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .orderBy('id', 'desc')
    .execute();
}

export async function countApiTokens(db: Database, userId: number): Promise<number> {
  const row = await db
    .selectFrom('api_tokens')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Revokes one of the user's tokens; false when it is not theirs or already revoked. */
export async function revokeApiToken(db: Database, userId: number, tokenId: number, now: string): Promise<boolean> {
  const result = await db
    .updateTable('api_tokens')
    .set({ revoked_at: now })
    .where('id', '=', tokenId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Revokes every token of the user (account recovery); returns how many. */
export async function revokeAllApiTokens(db: Database, userId: number, now: string): Promise<number> {
  const result = await db
    .updateTable('api_tokens')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function findApiTokenWithUser(db: Database, tokenHash: string): Promise<ApiTokenWithUser | undefined> {
  const row = await db
    .selectFrom('api_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select([
      't.id as token_id',
      't.scope',
      't.expires_at',
      't.revoked_at',
      't.last_used_at',
      ...JOINED_USER_COLUMNS,
    ])
    .where('t.token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!row) return undefined;
  const { token_id, scope, expires_at, revoked_at, last_used_at, ...user } = row;
  return { id: token_id, scope, expiresAt: expires_at, revokedAt: revoked_at, lastUsedAt: last_used_at, user: toCurrentUser(user) };
}

export async function touchApiToken(db: Database, tokenId: number, now: string): Promise<void> {
  await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', tokenId).execute();
}
