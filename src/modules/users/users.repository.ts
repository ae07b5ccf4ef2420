// Users table access. Usernames and e-mails are unique case-insensitively (lower() indexes), so
// lookups compare lowercased values.
import { sql } from 'kysely';
import type { Database } from '../../db/database.js';
import { lockIdentities } from '../../db/locks.js';
import type { Role } from '../../db/schema.js';
import type { CurrentUser } from './users.types.js';

export const USER_PUBLIC_COLUMNS = [
  'id',
  'username',
  'email',
  'role',
  'timezone',
  'email_verified',
  'is_active',
  'created_at',
] as const;

/** The same columns of the users table joined as `u`, for lookups that authenticate a request. */
export const JOINED_USER_COLUMNS = USER_PUBLIC_COLUMNS.map((column) => `u.${column}` as const);

type UserRow = {
  id: number;
  username: string;
  email: string;
  role: Role;
  timezone: string;
  email_verified: boolean | 0 | 1;
  is_active: boolean | 0 | 1;
  created_at: string;
};

export function toCurrentUser(row: UserRow): CurrentUser {
  return { ...row, email_verified: Boolean(row.email_verified), is_active: Boolean(row.is_active) };
}

export interface NewUser {
  username: string;
  email: string;
  hashedPassword: string;
  role: Role;
  timezone: string;
  emailVerified: boolean;
  isActive?: boolean;
}

export async function insertUser(db: Database, user: NewUser, now: string): Promise<number> {
  const row = await db
    .insertInto('users')
    .values({
      username: user.username,
      email: user.email,
      hashed_password: user.hashedPassword,
      role: user.role,
      timezone: user.timezone,
      email_verified: user.emailVerified,
      is_active: user.isActive ?? true,
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function findUserById(db: Database, id: number): Promise<CurrentUser | undefined> {
  const row = await db.selectFrom('users').select(USER_PUBLIC_COLUMNS).where('id', '=', id).executeTakeFirst();
  return row ? toCurrentUser(row) : undefined;
}

export async function findUserByUsername(db: Database, username: string): Promise<CurrentUser | undefined> {
  const row = await db
    .selectFrom('users')
    .select(USER_PUBLIC_COLUMNS)
    .where(sql`lower(username)`, '=', username.toLowerCase())
    .executeTakeFirst();
  return row ? toCurrentUser(row) : undefined;
}

export interface Identity {
  username?: string;
  email?: string;
}

/**
 * Which of these identities another account (any but `exceptId`) already holds, case-insensitively.
 * Usernames and e-mails share one namespace, since login accepts either: a username is taken by
 * another account's username or e-mail, and an e-mail by another account's e-mail or username.
 */
export async function findTakenIdentity(db: Database, identity: Identity, exceptId?: number): Promise<{ username: boolean; email: boolean }> {
  const username = identity.username?.toLowerCase();
  const email = identity.email?.toLowerCase();
  const wanted = [username, email].filter((value): value is string => value !== undefined);
  if (wanted.length === 0) return { username: false, email: false };
  let query = db
    .selectFrom('users')
    .select(['username', 'email'])
    .where((eb) => eb.or([eb(sql`lower(username)`, 'in', wanted), eb(sql`lower(email)`, 'in', wanted)]));
  if (exceptId !== undefined) query = query.where('id', '<>', exceptId);
  const held = new Set((await query.execute()).flatMap((row) => [row.username.toLowerCase(), row.email.toLowerCase()]));
  return { username: username !== undefined && held.has(username), email: email !== undefined && held.has(email) };
}

/**
 * findTakenIdentity under the identity locks (see lockIdentities), which are held until the
 * transaction ends: a check that stays true until the caller's insert or update commits.
 */
export async function claimIdentity(trx: Database, identity: Identity, exceptId?: number): Promise<{ username: boolean; email: boolean }> {
  await lockIdentities(trx, [identity.username, identity.email].filter((value): value is string => value !== undefined));
  return findTakenIdentity(trx, identity, exceptId);
}

export async function updateUserRole(db: Database, id: number, role: Role, now: string): Promise<void> {
  await db.updateTable('users').set({ role, updated_at: now }).where('id', '=', id).execute();
}

export async function findUserByEmail(db: Database, email: string): Promise<CurrentUser | undefined> {
  const row = await db
    .selectFrom('users')
    .select(USER_PUBLIC_COLUMNS)
    .where(sql`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirst();
  return row ? toCurrentUser(row) : undefined;
}

export interface LoginCandidate {
  id: number;
  username: string;
  email: string;
  hashedPassword: string;
  isActive: boolean;
  emailVerified: boolean;
}

/**
 * The account a login identifier designates. Identities never collide any more (findTakenIdentity),
 * but older rows may hold one user's username as another user's e-mail: then a verified account
 * wins over an unverified one (registering someone's username as one's e-mail locks nobody out),
 * and between equals the e-mail's owner (nobody captures an address by taking it as a username).
 */
export async function findLoginCandidate(db: Database, identifier: string): Promise<LoginCandidate | undefined> {
  const wanted = identifier.toLowerCase();
  const rows = await db
    .selectFrom('users')
    .select(['id', 'username', 'email', 'hashed_password', 'is_active', 'email_verified'])
    .where((eb) => eb.or([eb(sql`lower(username)`, '=', wanted), eb(sql`lower(email)`, '=', wanted)]))
    .execute();
  const matches = [rows.find((r) => r.email.toLowerCase() === wanted), rows.find((r) => r.username.toLowerCase() === wanted)];
  const row = matches.find((r) => r !== undefined && Boolean(r.email_verified)) ?? matches.find((r) => r !== undefined);
  if (!row) return undefined;
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    hashedPassword: row.hashed_password,
    isActive: Boolean(row.is_active),
    emailVerified: Boolean(row.email_verified),
  };
}

/**
 * Records the login on the user's row and returns the user's current flags and password hash. In
 * PostgreSQL the UPDATE holds the row lock until the transaction ends, which serializes concurrent
 * logins of one user (the session cap relies on it) and a login with a password change (which
 * writes this row first); SQLite serializes all writes anyway.
 */
export async function lockUserForLogin(
  db: Database,
  id: number,
  now: string,
): Promise<{ isActive: boolean; emailVerified: boolean; hashedPassword: string } | undefined> {
  const row = await db
    .updateTable('users')
    .set({ last_login: now })
    .where('id', '=', id)
    .returning(['is_active', 'email_verified', 'hashed_password'])
    .executeTakeFirst();
  return row
    ? { isActive: Boolean(row.is_active), emailVerified: Boolean(row.email_verified), hashedPassword: row.hashed_password }
    : undefined;
}

/**
 * Locks the user's row until the transaction ends (a no-op UPDATE) and returns the current flags.
 * Work on a user's verification tokens takes this lock first, so that it runs one at a time per
 * user and always in the same order (user row, then token rows).
 */
export async function lockUser(db: Database, id: number): Promise<{ isActive: boolean; emailVerified: boolean } | undefined> {
  const row = await db
    .updateTable('users')
    .set((eb) => ({ updated_at: eb.ref('updated_at') }))
    .where('id', '=', id)
    .returning(['is_active', 'email_verified'])
    .executeTakeFirst();
  return row ? { isActive: Boolean(row.is_active), emailVerified: Boolean(row.email_verified) } : undefined;
}

export async function findPasswordHash(db: Database, id: number): Promise<string | undefined> {
  const row = await db.selectFrom('users').select('hashed_password').where('id', '=', id).executeTakeFirst();
  return row?.hashed_password;
}

export async function markEmailVerified(db: Database, id: number, now: string): Promise<void> {
  await db.updateTable('users').set({ email_verified: true, updated_at: now }).where('id', '=', id).execute();
}

export interface UserChanges {
  email?: string;
  emailVerified?: boolean;
  timezone?: string;
  role?: Role;
  isActive?: boolean;
  hashedPassword?: string;
}

/** Applies `changes` (and updated_at); returns the updated user, or undefined when it does not exist. */
export async function updateUser(db: Database, id: number, changes: UserChanges, now: string): Promise<CurrentUser | undefined> {
  const row = await db
    .updateTable('users')
    .set({
      updated_at: now,
      ...(changes.email !== undefined && { email: changes.email }),
      ...(changes.emailVerified !== undefined && { email_verified: changes.emailVerified }),
      ...(changes.timezone !== undefined && { timezone: changes.timezone }),
      ...(changes.role !== undefined && { role: changes.role }),
      ...(changes.isActive !== undefined && { is_active: changes.isActive }),
      ...(changes.hashedPassword !== undefined && { hashed_password: changes.hashedPassword }),
    })
    .where('id', '=', id)
    .returning(USER_PUBLIC_COLUMNS)
    .executeTakeFirst();
  return row ? toCurrentUser(row) : undefined;
}

/** Which users a list shows (see users.policy.ts userListScope). */
export type UserListScope = { kind: 'all' } | { kind: 'self'; userId: number } | { kind: 'role_or_self'; role: Role; userId: number };

export async function listUsers(db: Database, scope: UserListScope): Promise<CurrentUser[]> {
  let query = db.selectFrom('users').select(USER_PUBLIC_COLUMNS).orderBy('id', 'asc');
  if (scope.kind === 'self') query = query.where('id', '=', scope.userId);
  if (scope.kind === 'role_or_self') {
    query = query.where((eb) => eb.or([eb('role', '=', scope.role), eb('id', '=', scope.userId)]));
  }
  const rows = await query.execute();
  return rows.map(toCurrentUser);
}
