// The first manager of a fresh deployment, from ADMIN_USERNAME / ADMIN_EMAIL / ADMIN_PASSWORD: created
// at start (where the migrations run, once per start) as a verified, active manager when no manager
// exists yet. It never overwrites anyone: with a manager already there, or the name or address taken
// by another account, nothing is written. Instances starting together on one PostgreSQL database
// are serialized by the identity locks (the same username and e-mail): the second one then finds the
// first one's manager. The password is never logged.
import type { Config } from '../../config.js';
import { isUniqueViolation, type Database } from '../../db/database.js';
import { hashPassword } from '../../lib/hash.js';
import { normalizeTimeZone } from '../../lib/timezone.js';
import { claimIdentity, insertUser } from './users.repository.js';

export type AdminBootstrapOutcome =
  | { status: 'off' }
  | { status: 'created'; id: number }
  | { status: 'manager-exists' }
  | { status: 'identity-taken'; field: 'username' | 'email' };

async function anyManager(db: Database): Promise<boolean> {
  return (await db.selectFrom('users').select('id').where('role', '=', 'manager').limit(1).executeTakeFirst()) !== undefined;
}

export async function bootstrapAdmin(db: Database, config: Config, now: Date): Promise<AdminBootstrapOutcome> {
  const admin = config.admin;
  if (admin === null) return { status: 'off' };
  // The common case (every start after the first) answers without hashing anything.
  if (await anyManager(db)) return { status: 'manager-exists' };
  const identity = { username: admin.username, email: admin.email };
  const hashedPassword = await hashPassword(admin.password, config.bcryptRounds);
  try {
    return await db.transaction().execute(async (trx): Promise<AdminBootstrapOutcome> => {
      const taken = await claimIdentity(trx, identity);
      // Under the locks: a manager created meanwhile (by another instance) counts as existing.
      if (await anyManager(trx)) return { status: 'manager-exists' };
      if (taken.username || taken.email) return { status: 'identity-taken', field: taken.username ? 'username' : 'email' };
      const timezone = normalizeTimeZone(config.defaultTimezone) ?? 'UTC';
      const id = await insertUser(trx, { ...identity, hashedPassword, role: 'manager', timezone, emailVerified: true }, now.toISOString());
      return { status: 'created', id };
    });
  } catch (error) {
    // SQLite has no identity locks: a concurrent insert of the same name ends here instead.
    if (isUniqueViolation(error)) return (await anyManager(db)) ? { status: 'manager-exists' } : { status: 'identity-taken', field: 'username' };
    throw error;
  }
}

interface BootstrapLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/** Runs the bootstrap and says what it did (never the password). */
export async function runAdminBootstrap(db: Database, config: Config, now: Date, log: BootstrapLog): Promise<AdminBootstrapOutcome> {
  const outcome = await bootstrapAdmin(db, config, now);
  const username = config.admin?.username;
  if (outcome.status === 'created') {
    log.info({ userId: outcome.id, username, email: config.admin?.email }, `created the first manager "${username}" from ADMIN_USERNAME/ADMIN_EMAIL`);
  } else if (outcome.status === 'manager-exists') {
    log.info({ username }, 'ADMIN_USERNAME is set but a manager exists already: nothing created (ADMIN_PASSWORD can be removed)');
  } else if (outcome.status === 'identity-taken') {
    log.warn(
      { username, field: outcome.field },
      `no manager created: the ${outcome.field === 'username' ? 'ADMIN_USERNAME' : 'ADMIN_EMAIL'} belongs to an existing account, ` +
        'which is left as it is (make it a manager with: ctms set-role --username U --role manager)',
    );
  }
  return outcome;
}
