// The user-administration commands of `ctms`: create-user, set-role, list-users, deactivate and
// reset-password. Each applies pending migrations first, as every command does, so that it works
// on a fresh database.
import { isUniqueViolation, type Database } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import type { Role } from '../db/schema.js';
import { systemClock } from '../lib/clock.js';
import { hashPassword } from '../lib/hash.js';
import { normalizeTimeZone } from '../lib/timezone.js';
import { revokeUserSessions, type RevokedReason } from '../modules/auth/sessions.repository.js';
import {
  claimIdentity,
  findTakenIdentity,
  findUserByUsername,
  insertUser,
  listUsers as listAllUsers,
  updateUser,
  updateUserRole,
  type Identity,
  type UserChanges,
} from '../modules/users/users.repository.js';
import type { CurrentUser } from '../modules/users/users.types.js';
import { CliError, type CommandContext } from './command.js';

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

async function migratedUser(db: Database, username: string): Promise<CurrentUser> {
  await migrateToLatest(db);
  const user = await findUserByUsername(db, username);
  if (!user) throw new CliError(`User not found: ${username}`);
  return user;
}

/** The API's rule: no username equal to any account's e-mail, and no e-mail equal to any username. */
function refuseTaken(taken: { username: boolean; email: boolean }, identity: Required<Identity>): void {
  if (taken.username) throw new CliError(`Username already registered: ${identity.username}`);
  if (taken.email) throw new CliError(`Email already registered: ${identity.email}`);
}

export interface NewUserInput {
  username: string;
  email: string;
  role: Role;
  /** Already normalized; undefined: the configured DEFAULT_TIMEZONE. */
  timezone: string | undefined;
}

export async function createUser({ config, database: { db }, out, password }: CommandContext, input: NewUserInput): Promise<void> {
  const identity = { username: input.username, email: input.email };
  await migrateToLatest(db);
  // Checked before the password is asked, so nobody types one only to learn the name is taken;
  // claimIdentity below decides, under the identity locks.
  refuseTaken(await findTakenIdentity(db, identity), identity);
  const hashedPassword = await hashPassword(await password(), config.bcryptRounds);
  const timezone = input.timezone ?? normalizeTimeZone(config.defaultTimezone) ?? 'UTC';
  try {
    const id = await db.transaction().execute(async (trx) => {
      refuseTaken(await claimIdentity(trx, identity), identity);
      return insertUser(trx, { ...identity, hashedPassword, role: input.role, timezone, emailVerified: true }, systemClock.now().toISOString());
    });
    out(String(id));
  } catch (error) {
    if (isUniqueViolation(error)) throw new CliError('Username or email already registered');
    throw error;
  }
}

export async function setRole({ database: { db }, out, forgetSessions }: CommandContext, username: string, role: Role): Promise<void> {
  const user = await migratedUser(db, username);
  await updateUserRole(db, user.id, role, systemClock.now().toISOString());
  await forgetSessions([user.id]);
  out(`${user.username} is now ${role}`);
}

const yesNo = (flag: boolean) => (flag ? 'yes' : 'no');

/** Left-aligned columns, two spaces apart, without trailing blanks. */
function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}

export async function listUsers({ database: { db }, out }: CommandContext, role: Role | undefined): Promise<void> {
  await migrateToLatest(db);
  // Every user, filtered here: an operator's listing, never large enough to need the filter in SQL.
  const users = (await listAllUsers(db, { kind: 'all' })).filter((user) => role === undefined || user.role === role);
  if (users.length === 0) {
    out(role === undefined ? 'No users.' : `No users with the role ${role}.`);
    return;
  }
  const header = ['id', 'username', 'e-mail', 'role', 'active', 'verified'];
  const rows = users.map((u) => [String(u.id), u.username, u.email, u.role, yesNo(u.is_active), yesNo(u.email_verified)]);
  for (const line of table([header, ...rows])) out(line);
}

/**
 * Changes the user's row and revokes every session in one transaction. The row is written first,
 * as a password change through the API does: that waits for any login holding the row lock, so
 * the revocation also covers a session that login made, and a later login sees the change.
 */
async function changeAndRevoke(db: Database, user: CurrentUser, changes: UserChanges, reason: RevokedReason): Promise<number> {
  const now = systemClock.now().toISOString();
  return db.transaction().execute(async (trx) => {
    if (!(await updateUser(trx, user.id, changes, now))) throw new CliError(`User not found: ${user.username}`);
    return revokeUserSessions(trx, user.id, now, reason);
  });
}

export async function deactivate({ database: { db }, out, forgetSessions }: CommandContext, username: string): Promise<void> {
  const user = await migratedUser(db, username);
  const revoked = await changeAndRevoke(db, user, { isActive: false }, 'deactivated');
  await forgetSessions([user.id]);
  out(`${user.username} ${user.is_active ? 'is deactivated' : 'was already inactive'}; ${count(revoked, 'session')} revoked.`);
}

export async function resetPassword({ config, database: { db }, out, password, forgetSessions }: CommandContext, username: string): Promise<void> {
  // The user is looked up before the password is asked for.
  const user = await migratedUser(db, username);
  const hashedPassword = await hashPassword(await password(), config.bcryptRounds);
  const revoked = await changeAndRevoke(db, user, { hashedPassword }, 'password_reset');
  await forgetSessions([user.id]);
  out(`Password of ${user.username} changed; ${count(revoked, 'session')} revoked.`);
  if (!user.is_active) out(`Note: ${user.username} is inactive and cannot log in until a manager reactivates the account.`);
}
