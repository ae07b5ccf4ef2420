// Personal API tokens: creation (the token is returned once, only its hash kept), and the check a
// request bearing one goes through. A token acts as its user with the user's current role; a
// `read` token may only read. Account management (sessions, logout, profile, tokens) needs a
// signed-in session, so a leaked token cannot change the e-mail address or mint more tokens.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiTokenScope } from '../../db/schema.js';
import { conflict, forbidden, invalid, unauthorized } from '../../errors.js';
import { randomToken, sha256 } from '../../lib/hash.js';
import type { CurrentUser } from '../users/users.types.js';
import { countApiTokens, findApiTokenWithUser, insertApiToken, touchApiToken, type ApiTokenRow } from './api-tokens.repository.js';
import type { ApiTokenCreate } from './api-tokens.schemas.js';

/** Every personal API token starts with this, which tells it apart from a JWT access token. */
export const API_TOKEN_PREFIX = 'ctms_';
export const MAX_API_TOKENS_PER_USER = 50;
/** last_used_at is rewritten at most this often per token, to keep reads write-free. */
const TOUCH_INTERVAL_MS = 60_000;
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const isApiToken = (token: string) => token.startsWith(API_TOKEN_PREFIX);

export interface ApiTokenAuth {
  user: CurrentUser;
  apiToken: { id: number; scope: ApiTokenScope };
}

export async function createApiToken(
  app: FastifyInstance,
  user: CurrentUser,
  input: ApiTokenCreate,
): Promise<ApiTokenRow & { token: string }> {
  const name = input.name.trim();
  if (name === '') throw invalid(['body', 'name'], 'must not be blank');
  const now = app.clock.now();
  const expiresAt = input.expires_at ?? null;
  if (expiresAt !== null && Date.parse(expiresAt) <= now.getTime()) throw invalid(['body', 'expires_at'], 'must be in the future');

  const token = API_TOKEN_PREFIX + randomToken(32);
  const row = await app.db.transaction().execute(async (trx) => {
    if ((await countApiTokens(trx, user.id)) >= MAX_API_TOKENS_PER_USER) {
      throw conflict(`A user can have at most ${MAX_API_TOKENS_PER_USER} API tokens; revoke one first`);
    }
    return insertApiToken(trx, {
      userId: user.id,
      name,
      scope: input.scope,
      tokenHash: sha256(token),
      now: now.toISOString(),
      expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString(),
    });
  });
  return { ...row, token };
}

/** Checks a personal API token against its row (every request, so a revocation is immediate). */
export async function authenticateApiToken(app: FastifyInstance, token: string, request: FastifyRequest): Promise<ApiTokenAuth> {
  const found = await findApiTokenWithUser(app.db, sha256(token));
  if (!found) throw unauthorized('Could not validate credentials');
  const now = app.clock.now();
  if (found.revokedAt !== null) throw unauthorized('API token has been revoked');
  if (found.expiresAt !== null && Date.parse(found.expiresAt) <= now.getTime()) throw unauthorized('API token has expired');
  if (!found.user.is_active) throw forbidden('Inactive user');
  if (!found.user.email_verified) throw forbidden('Email not verified');
  if (found.scope === 'read' && !READ_METHODS.has(request.method)) throw forbidden('This API token is read-only');

  if (found.lastUsedAt === null || now.getTime() - Date.parse(found.lastUsedAt) > TOUCH_INTERVAL_MS) {
    await touchApiToken(app.db, found.id, now.toISOString());
  }
  return { user: found.user, apiToken: { id: found.id, scope: found.scope } };
}
