// Authentication guards. `app.requireUser` (and `app.requireRole(...)`, `app.requireSession`) run as
// a route's onRequest hook (before the body is parsed, so an anonymous request is a 401 whatever it
// sends): they read the Bearer access token, check its session with one primary-key lookup (so a revoked
// session's tokens stop working at once), then the active and verified flags, then the role. With
// Redis, the session may come from the session cache instead (session-cache.ts), which every change
// to sessions or users empties on every instance before it answers.
// A personal API token (`ctms_…`) is checked against its own row instead (api-tokens.service.ts);
// account management declares `app.requireSession`, which refuses such a token (403).
// A token close to expiry gets a successor in `X-New-Access-Token` on successful responses.
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Role } from '../db/schema.js';
import { forbidden, unauthorized } from '../errors.js';
import { sha256 } from '../lib/hash.js';
import { disabledSessionCache, redisSessionCache, type SessionCache } from '../modules/auth/session-cache.js';
import { findSessionWithUser, touchSession, type RevokedReason, type SessionWithUser } from '../modules/auth/sessions.repository.js';
import { authenticateApiToken, isApiToken, type ApiTokenAuth } from '../modules/api-tokens/api-tokens.service.js';
import { isExpiredToken, issueAccessToken, readToken, type TokenClaims } from '../modules/auth/tokens.js';
import type { CurrentUser } from '../modules/users/users.types.js';

/** Signed in with a login session's access token. */
export interface SessionAuth {
  user: CurrentUser;
  sessionId: number;
  apiToken: null;
}

/** Authenticated with a personal API token (§12): no session. */
export interface ApiTokenContext {
  user: CurrentUser;
  sessionId: null;
  apiToken: ApiTokenAuth['apiToken'];
}

export type AuthContext = SessionAuth | ApiTokenContext;

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
    renewedAccessToken: string | null;
    /** The Bearer access token's claims once verified (null: none or invalid); see accessTokenClaims. */
    accessClaims: TokenClaims | null | undefined;
    /** SHA-256 of the Bearer personal API token once computed (null: none); see apiTokenHash. */
    apiTokenHash: string | null | undefined;
  }
  interface FastifyInstance {
    /** Route hook: an authenticated, active user with a verified e-mail. */
    requireUser: preHandlerAsyncHookHandler;
    /** Route hook: as requireUser, and the user's role is one of `roles`. */
    requireRole: (...roles: Role[]) => preHandlerAsyncHookHandler;
    /** Route hook for account management: as requireUser, and signed in with a login session, not an API token (403). */
    requireSession: preHandlerAsyncHookHandler;
    /**
     * Sessions read lately (session-cache.ts). Whatever revokes a session or changes a user awaits
     * `sessionCache.forget([userId])` after its commit and before it answers.
     */
    sessionCache: SessionCache;
  }
}

/** Seconds before expiry from which a fresh access token is sent along. */
export const RENEWAL_WINDOW_SECONDS = 120;
/** last_used is rewritten at most this often per session, to keep reads write-free. */
const TOUCH_INTERVAL_MS = 60_000;

/** Personal API tokens this instance has accepted lately, by hash, kept for the rate limit (see rateLimitCaller). */
const ACCEPTED_API_TOKENS_KEPT = 10_000;
const acceptedApiTokens = new WeakMap<FastifyInstance, Set<string>>();

/** The user of an authenticated request; only valid behind requireUser/requireRole/requireSession. */
export function currentUser(request: FastifyRequest): CurrentUser {
  if (!request.auth) throw unauthorized();
  return request.auth.user;
}

const sessionRequired = () => forbidden('This action needs a signed-in session, not an API token');

/** The caller's login session; only valid behind requireSession. */
export function currentSessionId(request: FastifyRequest): number {
  if (!request.auth) throw unauthorized();
  if (request.auth.sessionId === null) throw sessionRequired();
  return request.auth.sessionId;
}

export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
  return match?.[1] ?? null;
}

/**
 * The claims of the request's Bearer access token, or null when it has none or an invalid one
 * (a personal API token is no JWT: null without trying). The signature is verified once per
 * request: the rate limit (which keys on the user) and the guard share the result.
 */
export function accessTokenClaims(app: FastifyInstance, request: FastifyRequest): TokenClaims | null {
  if (request.accessClaims === undefined) {
    const token = bearerToken(request);
    request.accessClaims = token && !isApiToken(token) ? readToken(app.config, token, 'access', app.clock.now()) : null;
  }
  return request.accessClaims;
}

/** The SHA-256 of the request's Bearer personal API token (null without one), computed once per request. */
export function apiTokenHash(request: FastifyRequest): string | null {
  if (request.apiTokenHash === undefined) {
    const token = bearerToken(request);
    request.apiTokenHash = token && isApiToken(token) ? sha256(token) : null;
  }
  return request.apiTokenHash;
}

/**
 * Whom the per-caller rate limit counts a request against, from its Bearer token alone (no
 * database query): `user:<id>` for a valid access token, `token:<sha256>` for a personal API
 * token, null for the client address. Only a token's row says whether it is real, so a token this
 * instance has not accepted lately is `unproven`: it counts against the address as well, and
 * made-up tokens cannot each get an allowance of their own.
 */
export function rateLimitCaller(app: FastifyInstance, request: FastifyRequest): { key: string; unproven: boolean } | null {
  const hash = apiTokenHash(request);
  if (hash !== null) return { key: `token:${hash}`, unproven: !acceptedApiTokens.get(app)?.has(hash) };
  const claims = accessTokenClaims(app, request);
  return claims ? { key: `user:${claims.userId}`, unproven: false } : null;
}

function rememberAcceptedApiToken(app: FastifyInstance, request: FastifyRequest): void {
  const accepted = acceptedApiTokens.get(app);
  const hash = accepted ? apiTokenHash(request) : null;
  if (!accepted || hash === null || accepted.has(hash)) return;
  // Oldest first out: a Set iterates in insertion order.
  if (accepted.size >= ACCEPTED_API_TOKENS_KEPT) accepted.delete(accepted.values().next().value as string);
  accepted.add(hash);
}

async function authenticate(app: FastifyInstance, request: FastifyRequest): Promise<AuthContext> {
  const token = bearerToken(request);
  if (!token) throw unauthorized('Not authenticated');
  if (!isApiToken(token)) return authenticateToken(app, token, request);
  const auth = await authenticateApiToken(app, token, request);
  rememberAcceptedApiToken(app, request);
  return { ...auth, sessionId: null };
}

/** Validates an access token and its session; shared with the WebSocket endpoint. */
export async function authenticateToken(app: FastifyInstance, token: string, request?: FastifyRequest): Promise<SessionAuth> {
  const now = app.clock.now();
  const claims = request ? accessTokenClaims(app, request) : readToken(app.config, token, 'access', now);
  if (!claims) throw unauthorized(isExpiredToken(app.config, token, 'access', now) ? 'Token has expired' : 'Could not validate credentials');
  const nowIso = now.toISOString();
  const session = await checkedSession(app, claims.sessionId, nowIso);
  if (!session || session.user.id !== claims.userId) throw unauthorized('Session has been revoked or has expired');
  if (session.revokedAt !== null) throw unauthorized(revokedSessionMessage(session.revokedReason));
  if (session.expiresAt <= nowIso) throw unauthorized('Session has expired');
  if (!session.user.is_active) throw forbidden('Inactive user');
  if (!session.user.email_verified) throw forbidden('Email not verified');

  if (now.getTime() - Date.parse(session.lastUsed) > TOUCH_INTERVAL_MS) {
    await touchSession(app.db, session.sessionId, nowIso);
    // A cached entry shares this object: its next uses must not touch the row again.
    session.lastUsed = nowIso;
  }
  if (request && claims.expiresAt - now.getTime() / 1000 <= RENEWAL_WINDOW_SECONDS) {
    request.renewedAccessToken = issueAccessToken(app.config, claims.userId, claims.sessionId, now).token;
  }
  return { user: session.user, sessionId: session.sessionId, apiToken: null };
}

/** The session from the cache when it holds it, else from the database (and then kept). */
async function checkedSession(app: FastifyInstance, sessionId: number, nowIso: string): Promise<SessionWithUser | undefined> {
  const cached = app.sessionCache.get(sessionId, nowIso);
  if (cached) return cached;
  const ticket = app.sessionCache.readStarted();
  const session = await findSessionWithUser(app.db, sessionId);
  if (session) app.sessionCache.remember(session, ticket);
  return session;
}

/** What a token of a revoked session is told, by the revocation's reason (see RevokedReason). */
const REVOKED_MESSAGES: Record<RevokedReason, string> = {
  logout: 'Session ended: logged out',
  logout_all: 'Session ended: logged out from all devices',
  device_limit: 'Session ended: signed in on too many devices',
  device_replaced: 'Session ended: signed in again on this device',
  session_revoked: 'Session ended: revoked from another session',
  refresh_reuse: 'Session ended: its refresh token was used twice',
  password_changed: 'Session ended: password changed',
  password_reset: 'Session ended: password reset',
  deactivated: 'Session ended: account deactivated',
};

export function revokedSessionMessage(reason: string | null): string {
  return (reason !== null && Object.hasOwn(REVOKED_MESSAGES, reason) ? REVOKED_MESSAGES[reason as RevokedReason] : undefined) ?? 'Session has been revoked';
}

export const authPlugin = fp(
  async (app: FastifyInstance) => {
    app.decorateRequest('auth', null);
    app.decorateRequest('renewedAccessToken', null);
    app.decorateRequest('accessClaims', undefined);
    app.decorateRequest('apiTokenHash', undefined);
    if (app.config.rateLimitEnabled) acceptedApiTokens.set(app, new Set());
    const { redisUrl, redisKeyPrefix, sessionCacheMs } = app.config;
    const sessionCache =
      redisUrl !== null && sessionCacheMs > 0
        ? redisSessionCache({ redisUrl, keyPrefix: redisKeyPrefix, lifetimeMs: sessionCacheMs, log: app.log })
        : disabledSessionCache;
    app.decorate('sessionCache', sessionCache);
    app.addHook('onClose', () => sessionCache.close());

    const requireUser: preHandlerAsyncHookHandler = async function (request) {
      request.auth = await authenticate(app, request);
    };
    app.decorate('requireUser', requireUser);
    const requireSession: preHandlerAsyncHookHandler = async function (request) {
      request.auth = await authenticate(app, request);
      if (request.auth.sessionId === null) throw sessionRequired();
    };
    app.decorate('requireSession', requireSession);
    app.decorate('requireRole', (...roles: Role[]): preHandlerAsyncHookHandler => {
      return async function (request) {
        const auth = await authenticate(app, request);
        request.auth = auth;
        if (!roles.includes(auth.user.role)) {
          throw forbidden(`This action requires the ${roles.join(' or ')} role`);
        }
      };
    });

    // Callback style: every response runs it (an async hook costs a promise and a microtask turn).
    app.addHook('onSend', (request, reply, payload, done) => {
      if (request.renewedAccessToken && reply.statusCode < 400) {
        reply.header('x-new-access-token', request.renewedAccessToken);
      }
      done(null, payload);
    });
  },
  { name: 'auth' },
);
