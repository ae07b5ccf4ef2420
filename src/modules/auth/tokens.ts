// Access and refresh JWTs. Both carry the session id (`sid`); the `type` claim keeps one kind from
// being used as the other.
import { createHmac, randomUUID } from 'node:crypto';
import type { Config } from '../../config.js';
import { JwtError, signJwt, verifyJwt, type JwtPayload } from '../../lib/jwt.js';

export type TokenType = 'access' | 'refresh';

export interface TokenClaims {
  userId: number;
  sessionId: number;
  jti: string;
  issuedAt: number;
  expiresAt: number;
}

export interface IssuedToken {
  token: string;
  jti: string;
  expiresAt: number;
  /** Lifetime in seconds. */
  expiresIn: number;
}

export const accessLifetimeSeconds = (config: Config) => config.accessTokenExpireMinutes * 60;
export const refreshLifetimeSeconds = (config: Config) => config.refreshTokenExpireDays * 24 * 60 * 60;

function issue(config: Config, type: TokenType, userId: number, sessionId: number, now: Date, jti: string = randomUUID()): IssuedToken {
  const issuedAt = Math.floor(now.getTime() / 1000);
  const expiresIn = type === 'access' ? accessLifetimeSeconds(config) : refreshLifetimeSeconds(config);
  const payload: JwtPayload = { sub: String(userId), sid: sessionId, jti, type, iat: issuedAt, exp: issuedAt + expiresIn };
  return { token: signJwt(payload, config.secretKey), jti, expiresAt: issuedAt + expiresIn, expiresIn };
}

export const issueAccessToken = (config: Config, userId: number, sessionId: number, now = new Date()) =>
  issue(config, 'access', userId, sessionId, now);

export const issueRefreshToken = (config: Config, userId: number, sessionId: number, now = new Date()) =>
  issue(config, 'refresh', userId, sessionId, now);

/**
 * The refresh token that replaces the one hashed `previousHash` in a rotation at `rotatedAt`. Its
 * `jti` is derived from the secret key and that rotation instead of drawn at random, so the same
 * rotation yields the same token again: a refresh repeating it within the reuse grace window hands
 * out the same token, which is never stored (only its hash is).
 */
export function rotatedRefreshToken(config: Config, userId: number, sessionId: number, previousHash: string, rotatedAt: Date): IssuedToken {
  const mac = createHmac('sha256', config.secretKey).update(`refresh-rotation:${sessionId}:${previousHash}`).digest('hex');
  const jti = `${mac.slice(0, 8)}-${mac.slice(8, 12)}-${mac.slice(12, 16)}-${mac.slice(16, 20)}-${mac.slice(20, 32)}`;
  return issue(config, 'refresh', userId, sessionId, rotatedAt, jti);
}

/** Returns the claims of a valid token of the expected type, or null for anything else. */
export function readToken(config: Config, token: string, expected: TokenType, now = new Date()): TokenClaims | null {
  let payload: JwtPayload;
  try {
    payload = verifyJwt(token, config.secretKey, Math.floor(now.getTime() / 1000));
  } catch (error) {
    if (error instanceof JwtError) return null;
    throw error;
  }
  const userId = typeof payload.sub === 'string' && /^[1-9]\d{0,9}$/.test(payload.sub) ? Number(payload.sub) : NaN;
  const sessionId = payload.sid;
  if (
    payload.type !== expected ||
    !Number.isSafeInteger(userId) ||
    typeof sessionId !== 'number' ||
    !Number.isSafeInteger(sessionId) ||
    sessionId <= 0 ||
    typeof payload.jti !== 'string' ||
    typeof payload.iat !== 'number' ||
    typeof payload.exp !== 'number'
  ) {
    return null;
  }
  return { userId, sessionId, jti: payload.jti, issuedAt: payload.iat, expiresAt: payload.exp };
}

/**
 * Whether a token readToken refused is one of ours, of the expected type, that has merely expired
 * (its signature verifies): such a token gets "Token has expired" instead of a generic refusal.
 */
export function isExpiredToken(config: Config, token: string, expected: TokenType, now = new Date()): boolean {
  try {
    verifyJwt(token, config.secretKey, Math.floor(now.getTime() / 1000));
    return false;
  } catch (error) {
    return error instanceof JwtError && error.reason === 'expired' && error.payload?.type === expected;
  }
}
