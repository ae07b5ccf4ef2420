// Minimal JWT (JWS compact, HS256 only). The algorithm is pinned: a token whose header names any
// other algorithm ("none", RS256, …) is rejected before its signature is even looked at.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type JwtPayload = Record<string, unknown>;

export class JwtError extends Error {
  constructor(
    readonly reason: 'malformed' | 'algorithm' | 'signature' | 'expired' | 'not_yet_valid',
    /** The payload of a genuine (correctly signed) token that is expired or not yet valid. */
    readonly payload?: JwtPayload,
  ) {
    super(`Invalid token (${reason})`);
    this.name = 'JwtError';
  }
}

const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
const MAX_TOKEN_LENGTH = 4096;

function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

function sign(data: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

export function signJwt(payload: JwtPayload, secret: string): string {
  const body = base64url(JSON.stringify(payload));
  const signature = sign(`${HEADER}.${body}`, secret).toString('base64url');
  return `${HEADER}.${body}.${signature}`;
}

/**
 * Tokens whose signature verified lately, by their exact text, with the secret that verified them
 * and their (frozen) payload: the same access token comes with every request of a client, and the
 * HMAC and the two decodes cost more than the rest of the check. Only a token that passed every check
 * is kept; `exp` and `nbf` are still checked against `now` on each use, and a token presented with
 * another secret is verified in full. Bounded (oldest out), so made-up tokens cannot grow memory.
 */
const VERIFIED_KEPT = 4096;
const verified = new Map<string, { secret: string; payload: JwtPayload }>();

function timesAllow(payload: JwtPayload, now: number): boolean {
  return typeof payload.exp === 'number' && payload.exp > now && !(typeof payload.nbf === 'number' && payload.nbf > now);
}

/** Verifies signature, algorithm and `exp`/`nbf`; returns the payload (frozen). `now` is in seconds. */
export function verifyJwt(token: string, secret: string, now = Math.floor(Date.now() / 1000)): JwtPayload {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw new JwtError('malformed');
  const known = verified.get(token);
  // Expired or not yet valid: the full check below throws the error that says so.
  if (known !== undefined && known.secret === secret && timesAllow(known.payload, now)) return known.payload;
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtError('malformed');
  const [headerPart, bodyPart, signaturePart] = parts as [string, string, string];
  const header = decodeJson(headerPart);
  if (header.alg !== 'HS256') throw new JwtError('algorithm');
  // Compared as text, not as decoded bytes: Node's base64url decoder ignores the unused low bits of
  // the last character (and characters outside the alphabet), so other spellings decode to the
  // same signature; only the one encoding the service issues is accepted.
  const expected = Buffer.from(sign(`${headerPart}.${bodyPart}`, secret).toString('base64url'));
  const given = Buffer.from(signaturePart);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new JwtError('signature');
  const payload = decodeJson(bodyPart);
  if (typeof payload.exp !== 'number' || payload.exp <= now) throw new JwtError('expired', payload);
  if (typeof payload.nbf === 'number' && payload.nbf > now) throw new JwtError('not_yet_valid', payload);
  Object.freeze(payload);
  // Oldest first out: a Map iterates in insertion order.
  if (known === undefined && verified.size >= VERIFIED_KEPT) verified.delete(verified.keys().next().value as string);
  verified.set(token, { secret, payload });
  return payload;
}

/** How many verified tokens are kept (for tests). */
export const verifiedTokensKept = () => verified.size;

function decodeJson(part: string): JwtPayload {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) throw new JwtError('malformed');
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new JwtError('malformed');
    return value as JwtPayload;
  } catch {
    throw new JwtError('malformed');
  }
}
