// The `ctms` command line: database migrations and user administration, reading the same
// configuration as the server. Every failure prints one clear line and exits with code 1.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, readEnvironment, type Config } from './config.js';
import { createDatabase, isUniqueViolation, type DatabaseHandle } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import type { Role } from './db/schema.js';
import { describeRetention, runRetention } from './jobs/retention.js';
import { isJobName, JOB_NAMES, runJobs, type JobName } from './jobs/runner.js';
import { systemClock } from './lib/clock.js';
import { hashPassword } from './lib/hash.js';
import { normalizeTimeZone } from './lib/timezone.js';
import { seedDemo } from './modules/tasks/seed-demo.js';
import { claimIdentity, findUserByUsername, insertUser, updateUserRole } from './modules/users/users.repository.js';

export class CliError extends Error {}

const ROLES: Role[] = ['manager', 'developer', 'auditor'];
const USERNAME_PATTERN = /^[A-Za-z0-9._@+-]{3,150}$/;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const USAGE = `Usage: ctms <command> [options]

Commands:
  migrate                                   apply pending database migrations
  create-user --username U --email E --password P --role manager|developer|auditor [--timezone Z]
                                            create a verified, active user and print its id
  set-role --username U --role R            change a user's role
  seed-demo                                 create a demo team with tags, tasks and subtasks; print the logins
  cleanup                                   delete expired sessions and verification tokens, old audit
                                            rows and old read notifications
  jobs run [JOB ...]                        run the scheduled jobs once (all, or the named ones:
                                            ${JOB_NAMES.join(', ')}); one line per job
  help                                      show this message`;

type Output = (line: string) => void;

export interface CliContext {
  config: Config;
  database: DatabaseHandle;
  out: Output;
}

type Command = (args: string[], ctx: CliContext) => Promise<void>;

function requireRole(value: string | undefined): Role {
  if (!value || !ROLES.includes(value as Role)) throw new CliError(`--role must be one of ${ROLES.join(', ')}`);
  return value as Role;
}

function options(args: string[], names: string[]): Record<string, string | undefined> {
  try {
    const { values } = parseArgs({
      args,
      options: Object.fromEntries(names.map((n) => [n, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    });
    return values as Record<string, string | undefined>;
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error));
  }
}

const commands: Record<string, Command> = {
  async migrate(_args, { database, out }) {
    const results = await migrateToLatest(database.db);
    if (results.length === 0) out('Database is up to date.');
    for (const r of results) out(`Applied migration ${r.migrationName}`);
  },

  async 'create-user'(args, { config, database, out }) {
    const o = options(args, ['username', 'email', 'password', 'role', 'timezone']);
    const problems: string[] = [];
    if (!o.username || !USERNAME_PATTERN.test(o.username)) {
      problems.push('--username must be 3-150 characters: letters, digits and ._@+-');
    }
    if (!o.email || o.email.length > 254 || !EMAIL_PATTERN.test(o.email)) problems.push('--email must be a valid e-mail address');
    if (!o.password || o.password.length < 8 || o.password.length > 100) problems.push('--password must be 8-100 characters');
    if (!o.role || !ROLES.includes(o.role as Role)) problems.push(`--role must be one of ${ROLES.join(', ')}`);
    const timezone = normalizeTimeZone(o.timezone ?? config.defaultTimezone);
    if (timezone === undefined) problems.push(`--timezone "${o.timezone}" is not a known IANA time zone`);
    if (problems.length > 0) throw new CliError(problems.join('; '));

    await migrateToLatest(database.db);
    const username = o.username as string;
    const email = o.email as string;
    const hashedPassword = await hashPassword(o.password as string, config.bcryptRounds);
    try {
      const id = await database.db.transaction().execute(async (trx) => {
        // The API's rule: no username equal to any account's e-mail, and no e-mail equal to any username.
        const taken = await claimIdentity(trx, { username, email });
        if (taken.username) throw new CliError(`Username already registered: ${username}`);
        if (taken.email) throw new CliError(`Email already registered: ${email}`);
        return insertUser(
          trx,
          { username, email, hashedPassword, role: requireRole(o.role), timezone: timezone ?? 'UTC', emailVerified: true },
          new Date().toISOString(),
        );
      });
      out(String(id));
    } catch (error) {
      if (isUniqueViolation(error)) throw new CliError('Username or email already registered');
      throw error;
    }
  },

  async 'set-role'(args, { database, out }) {
    const o = options(args, ['username', 'role']);
    if (!o.username) throw new CliError('--username is required');
    const role = requireRole(o.role);
    await migrateToLatest(database.db);
    const user = await findUserByUsername(database.db, o.username);
    if (!user) throw new CliError(`User not found: ${o.username}`);
    await updateUserRole(database.db, user.id, role, new Date().toISOString());
    out(`${user.username} is now ${role}`);
  },

  async 'seed-demo'(_args, { config, database, out }) {
    // The demo logins have published passwords: never plant them in a production database.
    if (config.environment === 'production') throw new CliError('seed-demo is not available in production');
    await migrateToLatest(database.db);
    const result = await seedDemo(database.db, config, systemClock);
    out(result.created ? 'Demo team created. Logins:' : 'The demo team already exists. Logins:');
    for (const user of result.users) out(`  ${user.role.padEnd(9)}  username: ${user.username}  password: ${user.password}`);
  },

  async cleanup(_args, { config, database, out }) {
    await migrateToLatest(database.db);
    const removed = await runRetention(database.db, config, new Date());
    out(`Removed ${describeRetention(removed)}.`);
  },

  async jobs(args, { config, database, out }) {
    const [action, ...names] = args;
    if (action !== 'run') throw new CliError('Usage: ctms jobs run [JOB ...]');
    const unknown = names.filter((name) => !isJobName(name));
    if (unknown.length > 0) throw new CliError(`Unknown job: ${unknown.join(', ')} (jobs: ${JOB_NAMES.join(', ')})`);
    await migrateToLatest(database.db);
    // No notifier in this process: the new notifications wait, undelivered, for the recipients' next socket.
    const quiet = { debug: () => undefined, error: () => undefined };
    const which = names.length > 0 ? (names as JobName[]) : JOB_NAMES;
    const outcomes = await runJobs({ db: database.db, config, log: quiet, deliver: () => undefined }, new Date(), which);
    for (const o of outcomes) out(`${o.job}: ${o.status === 'done' ? o.summary : `${o.status} (${o.summary})`}`);
    const failed = outcomes.filter((o) => o.status === 'failed').map((o) => o.job);
    if (failed.length > 0) throw new CliError(`${failed.length === 1 ? 'A job' : 'Jobs'} failed: ${failed.join(', ')}`);
  },
};

/** Runs one CLI invocation; returns the exit code. */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined> = readEnvironment(),
  out: Output = (l) => console.log(l),
  err: Output = (l) => console.error(l),
): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    out(USAGE);
    return name ? 0 : 1;
  }
  const command = commands[name];
  if (!command) {
    err(`Unknown command: ${name}\n\n${USAGE}`);
    return 1;
  }
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    err(error instanceof ConfigError ? error.message : String(error));
    return 1;
  }
  const database = createDatabase(config.databaseUrl);
  try {
    await command(args, { config, database, out });
    return 0;
  } catch (error) {
    err(`Error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await database.close();
  }
}

const invokedDirectly = process.argv[1] !== undefined && /(?:cli\.[jt]s|ctms(?:\.js)?)$/.test(process.argv[1]);
if (invokedDirectly) {
  runCli(process.argv.slice(2)).then((code) => process.exit(code));
}
