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
