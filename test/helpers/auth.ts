// Helpers for the auth and users tests: log capture, cookie reading, token forging and a snapshot
// of every auth-related row (to prove a rejected request changed nothing).
import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../src/db/database.js';
import { sha256 } from '../../src/lib/hash.js';

export interface CapturedLogs {
  lines: string[];
  /** A Fastify logger option writing JSON lines into `lines`. */
  logger: { level: string; stream: Writable };
  text(): string;
}

export function captureLogs(level = 'info'): CapturedLogs {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { lines, logger: { level, stream }, text: () => lines.join('') };
}

/**
 * Whether `text` contains a token whose SHA-256 is one of `hashes`. Only hashes of verification
 * tokens are stored, so this is how a test looks for a token it was never shown: every
 * `length`-character window of the text is hashed (tokens are 32 random bytes in base64url: 43).
 */
export function containsTokenWithHash(text: string, hashes: readonly string[], length = 43): boolean {
  const wanted = new Set(hashes);
  for (let i = 0; i + length <= text.length; i += 1) {
    if (wanted.has(sha256(text.slice(i, i + length)))) return true;
  }
  return false;
}

/** The hashes of every verification token ever issued to the user with this username. */
export async function verificationTokenHashes(db: Database, username: string): Promise<string[]> {
  const rows = await db
    .selectFrom('email_verification_tokens')
    .innerJoin('users', 'users.id', 'email_verification_tokens.user_id')
    .select('email_verification_tokens.token_hash')
    .where('users.username', '=', username)
    .execute();
  return rows.map((r) => r.token_hash);
}

export interface CookieView {
  value: string;
  path?: string;
  maxAge?: number;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: string;
  expires?: Date;
}

/** The cookies a response sets, by name. */
export function responseCookies(res: { cookies: Array<{ name: string } & Record<string, unknown>> }): Record<string, CookieView> {
  const out: Record<string, CookieView> = {};
  for (const c of res.cookies) out[c.name] = c as unknown as CookieView;
  return out;
}

/** The raw Set-Cookie header lines of a response. */
export function setCookieLines(res: { headers: Record<string, unknown> }): string[] {
  const header = res.headers['set-cookie'];
  if (header === undefined) return [];
  return (Array.isArray(header) ? header : [header]).map(String);
}

/** Decodes a JWT's payload without verifying it. */
export function jwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Signs `payload` with an arbitrary header and secret (forged and `alg: none` tokens). */
export function craftJwt(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | null): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const data = `${enc(header)}.${enc(payload)}`;
  if (secret === null) return `${data}.`;
  return `${data}.${createHmac('sha256', secret).update(data).digest('base64url')}`;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Every row of the auth tables, ordered, for before/after comparisons. */
export async function authSnapshot(db: Database) {
  const [users, sessions, tokens] = await Promise.all([
    db.selectFrom('users').selectAll().orderBy('id').execute(),
    db.selectFrom('user_sessions').selectAll().orderBy('id').execute(),
    db.selectFrom('email_verification_tokens').selectAll().orderBy('id').execute(),
  ]);
  return { users, sessions, tokens };
}

/** Rows of the user's sessions that are neither revoked nor expired. */
export async function liveSessions(db: Database, userId: number, now = new Date()) {
  return db
    .selectFrom('user_sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now.toISOString())
    .orderBy('id')
    .execute();
}

export async function sessionRow(db: Database, id: number) {
  return db.selectFrom('user_sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Logs in through the real endpoint. */
export function loginRequest(app: FastifyInstance, username: string, password: string, cookies?: Record<string, string>) {
  return app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password }, cookies });
}

export function me(app: FastifyInstance, token: string) {
  return app.inject({ method: 'GET', url: '/api/auth/users/me', headers: bearer(token) });
}

/**
 * Records, for each request to `url`, the queries run between its arrival and its answer, keyed by
 * the body's `email` (call before app.ready()). Work an endpoint defers until after answering
 * is absent, so equal lists show that a known and an unknown address cost the same before the answer.
 */
export function recordQueriesBeforeAnswer(app: FastifyInstance, queries: readonly string[], url: string): Map<string, string[]> {
  const duringRequest = new Map<string, string[]>();
  const started = new WeakMap<object, number>();
  app.addHook('onRequest', async (request) => void started.set(request, queries.length));
  app.addHook('onSend', async (request, _reply, payload) => {
    if (request.url.startsWith(url)) duringRequest.set((request.body as { email: string }).email, queries.slice(started.get(request)));
    return payload;
  });
  return duringRequest;
}
