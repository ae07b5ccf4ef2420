// Every `ctms` command: its usage, its options and the checks on them. The work itself lives in
// user-commands.ts and maintenance-commands.ts, loaded only when a command really runs, so that
// `--help` and argument errors answer without loading the database drivers.
import type { Role } from '../db/schema.js';
import type { JobName } from '../jobs/runner.js';
import { CliError, type CommandContext, type CommandSpec, type Invocation, type Runner, type Values } from './command.js';
import { passwordProblem } from './password.js';

const ROLES: readonly Role[] = ['manager', 'developer', 'auditor'];
const USERNAME_PATTERN = /^[A-Za-z0-9._@+-]{3,150}$/;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const users = () => import('./user-commands.js');
const maintenance = () => import('./maintenance-commands.js');
// The job list lives with the jobs, whose module loads the query builder: only when a command
// names jobs. The help lists them by heart (a test compares the list with JOB_NAMES), so that
// `ctms jobs --help` stays as quick as every other --help.
const jobs = () => import('../jobs/runner.js');
export const JOBS_HELP = 'Jobs: deadline_warnings, priority_escalation, retention.';

const text = (values: Values, name: string): string | undefined => {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
};

const isRole = (value: string | undefined): value is Role => value !== undefined && ROLES.includes(value as Role);
const roleProblem = `--role must be one of ${ROLES.join(', ')}`;

function requiredUsername(values: Values): string {
  const username = text(values, 'username');
  if (!username) throw new CliError('--username is required');
  return username;
}

function requiredRole(values: Values): Role {
  const role = text(values, 'role');
  if (!isRole(role)) throw new CliError(roleProblem);
  return role;
}

type UserCommands = Awaited<ReturnType<typeof users>>;

/** The prepare() of a command on one existing user, named by --username. */
const onUser =
  (act: (commands: UserCommands, ctx: CommandContext, username: string) => Promise<void>) =>
  ({ values }: Invocation): Runner => {
    const username = requiredUsername(values);
    return async (ctx) => act(await users(), ctx, username);
  };

const USERNAME_OPTION = { type: 'string', value: 'U', description: 'the username (any letter case)' } as const;
const ROLE_OPTION = { type: 'string', value: 'R', description: ROLES.join(' | ') } as const;

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'migrate',
    synopsis: 'migrate',
    summary: 'apply pending database migrations (the server also applies them at start)',
    options: {},
    prepare: () => async (ctx) => (await maintenance()).migrate(ctx),
  },
  {
    name: 'create-user',
    synopsis: `create-user --username U --email E --role ${ROLES.join('|')} [--timezone Z] [--password-stdin]`,
    summary: 'create a verified, active user and print its id',
    details: ['Exits with code 1, creating nothing, on a duplicate username or e-mail (any letter case) or a bad value.'],
    options: {
      username: { type: 'string', value: 'U', description: '3-150 letters, digits or . _ @ + -' },
      email: { type: 'string', value: 'E', description: 'the e-mail address (counts as verified)' },
      role: ROLE_OPTION,
      timezone: { type: 'string', value: 'Z', description: 'IANA time zone (default: DEFAULT_TIMEZONE)' },
    },
    password: { prompt: 'Password for the new user: ' },
    async prepare({ values }) {
      const problems: string[] = [];
      const username = text(values, 'username');
      const email = text(values, 'email');
      const role = text(values, 'role');
      const zone = text(values, 'timezone');
      if (!username || !USERNAME_PATTERN.test(username)) problems.push('--username must be 3-150 characters: letters, digits and ._@+-');
      if (!email || email.length > 254 || !EMAIL_PATTERN.test(email)) problems.push('--email must be a valid e-mail address');
      const password = text(values, 'password');
      const weak = password === undefined ? undefined : passwordProblem(password, '--password');
      if (weak) problems.push(weak);
      if (!isRole(role)) problems.push(roleProblem);
      const timezone = zone === undefined ? undefined : (await import('../lib/timezone.js')).normalizeTimeZone(zone);
      if (zone !== undefined && timezone === undefined) problems.push(`--timezone "${zone}" is not a known IANA time zone`);
      if (problems.length > 0 || !username || !email || !isRole(role)) throw new CliError(problems.join('; '));
      return async (ctx) => (await users()).createUser(ctx, { username, email, role, timezone });
    },
  },
  {
    name: 'set-role',
    synopsis: 'set-role --username U --role R',
    summary: "change a user's role",
    options: { username: USERNAME_OPTION, role: ROLE_OPTION },
    prepare({ values }) {
      const username = requiredUsername(values);
      const role = requiredRole(values);
      return async (ctx) => (await users()).setRole(ctx, username, role);
    },
  },
  {
    name: 'list-users',
    synopsis: 'list-users [--role R]',
    summary: 'print a table of users: id, username, e-mail, role, active, verified',
    options: { role: { type: 'string', value: 'R', description: `only users of this role (${ROLES.join(' | ')})` } },
    prepare({ values }) {
      const role = values.role === undefined ? undefined : requiredRole(values);
      return async (ctx) => (await users()).listUsers(ctx, role);
    },
  },
  {
    name: 'deactivate',
    synopsis: 'deactivate --username U',
    summary: 'deactivate a user and revoke every session of theirs',
    details: ['The user can no longer log in; their access and refresh tokens stop working at once.'],
    options: { username: USERNAME_OPTION },
    prepare: onUser((commands, ctx, username) => commands.deactivate(ctx, username)),
  },
  {
    name: 'reset-password',
    synopsis: 'reset-password --username U [--password-stdin]',
    summary: "set a user's password and revoke every session of theirs",
    details: ['The password must be 8-100 characters, as through the API; it is hashed with BCRYPT_ROUNDS.'],
    options: { username: USERNAME_OPTION },
    password: { prompt: 'New password: ' },
    prepare: onUser((commands, ctx, username) => commands.resetPassword(ctx, username)),
  },
  {
    name: 'seed-demo',
    synopsis: 'seed-demo',
    summary: 'create a demo team (one user per role) with tags, tasks and subtasks; print the logins',
    details: ['Refused in production: the demo passwords are published. Does nothing when the team exists.'],
    options: {},
    prepare: () => async (ctx) => (await maintenance()).seedDemo(ctx),
  },
  {
    name: 'cleanup',
    synopsis: 'cleanup',
    summary: 'delete expired sessions, spent verification, reset and invitation tokens, old audit rows, old read notifications and old webhook deliveries',
    details: ['Audit rows go after AUDIT_RETENTION_DAYS, read notifications and finished webhook deliveries after 30 days.'],
    options: {},
    prepare: () => async (ctx) => (await maintenance()).cleanup(ctx),
  },
  {
    name: 'jobs',
    synopsis: 'jobs run [JOB ...]',
    summary: 'run the scheduled jobs once (all, or the named ones); print one line per job',
    details: [JOBS_HELP],
    options: {},
    positionals: true,
    async prepare({ positionals }) {
      const [action, ...names] = positionals;
      const { isJobName, JOB_NAMES } = await jobs();
      if (action !== 'run') throw new CliError(action === undefined ? "Missing action: 'ctms jobs run [JOB ...]'" : `Unknown action '${action}': 'ctms jobs run [JOB ...]'`);
      const unknown = names.filter((name) => !isJobName(name));
      if (unknown.length > 0) throw new CliError(`Unknown job: ${unknown.join(', ')} (jobs: ${JOB_NAMES.join(', ')})`);
      const which: readonly JobName[] = names.length > 0 ? (names as JobName[]) : JOB_NAMES;
      return async (ctx) => (await maintenance()).runJobs(ctx, which);
    },
  },
];

export const findCommand = (name: string): CommandSpec | undefined => COMMANDS.find((spec) => spec.name === name);
