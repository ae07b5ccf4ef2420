// Test factories: users per role (inserted directly, with a real bcrypt hash at low cost) and
// logged-in sessions with access tokens, without going through the login endpoint.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Role } from '../../src/db/schema.js';
import { hashPassword, sha256 } from '../../src/lib/hash.js';
import { issueAccessToken, issueRefreshToken, refreshLifetimeSeconds } from '../../src/modules/auth/tokens.js';

export const DEFAULT_PASSWORD = 'Password123!';
let defaultHash: Promise<string> | undefined;
let counter = 0;

export interface UserOptions {
  role?: Role;
  username?: string;
  email?: string;
  password?: string;
  timezone?: string;
  verified?: boolean;
  active?: boolean;
}

export interface TestUser {
  id: number;
  username: string;
  email: string;
  role: Role;
  timezone: string;
  password: string;
}

export async function createUser(app: Pick<FastifyInstance, 'db'>, options: UserOptions = {}): Promise<TestUser> {
  counter += 1;
  const role = options.role ?? 'developer';
  const username = options.username ?? `${role}${counter}_${randomUUID().slice(0, 6)}`;
  const email = options.email ?? `${username}@example.com`;
  const password = options.password ?? DEFAULT_PASSWORD;
  const hashed =
    password === DEFAULT_PASSWORD ? await (defaultHash ??= hashPassword(DEFAULT_PASSWORD, 4)) : await hashPassword(password, 4);
  const now = new Date().toISOString();
  const row = await app.db
    .insertInto('users')
    .values({
      username,
      email,
      hashed_password: hashed,
      role,
      timezone: options.timezone ?? 'UTC',
      email_verified: options.verified ?? true,
      is_active: options.active ?? true,
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, username, email, role, timezone: options.timezone ?? 'UTC', password };
}

export interface TestSession {
  sessionId: number;
  accessToken: string;
  refreshToken: string;
  headers: { authorization: string };
}

/** A live session for `user`, as a login would create, with its tokens. */
export async function createSession(app: FastifyInstance, user: { id: number }, now = app.clock.now()): Promise<TestSession> {
  const iso = now.toISOString();
  const expires = new Date(now.getTime() + refreshLifetimeSeconds(app.config) * 1000).toISOString();
  const row = await app.db
    .insertInto('user_sessions')
    .values({
      user_id: user.id,
      refresh_token_hash: 'pending',
      device_id: randomUUID(),
      user_agent: 'vitest',
      ip: '127.0.0.1',
      created_at: iso,
      last_used: iso,
      expires_at: expires,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const refresh = issueRefreshToken(app.config, user.id, row.id, now);
  await app.db.updateTable('user_sessions').set({ refresh_token_hash: sha256(refresh.token) }).where('id', '=', row.id).execute();
  const access = issueAccessToken(app.config, user.id, row.id, now);
  return {
    sessionId: row.id,
    accessToken: access.token,
    refreshToken: refresh.token,
    headers: { authorization: `Bearer ${access.token}` },
  };
}

/** A user of `role` with a live session: the usual starting point of an API test. */
export async function createUserWithSession(app: FastifyInstance, options: UserOptions = {}) {
  const user = await createUser(app, options);
  const session = await createSession(app, user);
  return { user, ...session };
}
