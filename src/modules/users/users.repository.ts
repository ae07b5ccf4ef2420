// Users table access. Usernames and e-mails are unique case-insensitively (lower() indexes), so
// lookups compare lowercased values.
import { sql } from 'kysely';
import type { Database } from '../../db/database.js';
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

/** Which of the two unique identities are already taken (case-insensitive). */
export async function findTakenIdentity(
  db: Database,
  username: string,
  email: string,
): Promise<{ username: boolean; email: boolean }> {
  const rows = await db
    .selectFrom('users')
    .select(['username', 'email'])
    .where((eb) =>
      eb.or([eb(sql`lower(username)`, '=', username.toLowerCase()), eb(sql`lower(email)`, '=', email.toLowerCase())]),
    )
    .execute();
  return {
    username: rows.some((r) => r.username.toLowerCase() === username.toLowerCase()),
    email: rows.some((r) => r.email.toLowerCase() === email.toLowerCase()),
  };
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
 * The account a login identifier designates. A username may contain "@", so an identifier can
 * match one user's username and another user's e-mail: an identifier with "@" designates the
 * e-mail's owner first (nobody can capture someone's address by registering it as a username).
 */
export async function findLoginCandidate(db: Database, identifier: string): Promise<LoginCandidate | undefined> {
  const wanted = identifier.toLowerCase();
  const rows = await db
    .selectFrom('users')
    .select(['id', 'username', 'email', 'hashed_password', 'is_active', 'email_verified'])
    .where((eb) => eb.or([eb(sql`lower(username)`, '=', wanted), eb(sql`lower(email)`, '=', wanted)]))
    .execute();
  const byEmail = rows.find((r) => r.email.toLowerCase() === wanted);
  const byUsername = rows.find((r) => r.username.toLowerCase() === wanted);
  const row = wanted.includes('@') ? (byEmail ?? byUsername) : byUsername;
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

/** True when another user (not `exceptId`) has this e-mail, case-insensitively. */
export async function isEmailTaken(db: Database, email: string, exceptId?: number): Promise<boolean> {
  let query = db.selectFrom('users').select('id').where(sql`lower(email)`, '=', email.toLowerCase());
  if (exceptId !== undefined) query = query.where('id', '<>', exceptId);
  return (await query.executeTakeFirst()) !== undefined;
}

export async function markEmailVerified(db: Database, id: number, now: string): Promise<void> {
  await db.updateTable('users').set({ email_verified: true, updated_at: now }).where('id', '=', id).execute();
}

export interface UserChanges {
  email?: string;
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
