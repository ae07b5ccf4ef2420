// `ctms <command> --help` prints the usage and does nothing else, and bad arguments are refused
// before the database is opened: checked with a SQLite file that must never be created, and with
// the test database (SQLite or PostgreSQL) whose tables and rows must not change.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, JOBS_HELP } from '../../src/cli/commands.js';
import { JOB_NAMES } from '../../src/jobs/runner.js';
import type { Database } from '../../src/db/database.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cliEnv, fakeTerminal, liveSession, pipedInput, runInProcess } from './harness.js';

const NAMES = ['migrate', 'create-user', 'set-role', 'list-users', 'deactivate', 'reset-password', 'seed-demo', 'cleanup', 'jobs'];
const HELP_FORMS = (name: string) => [[name, '--help'], [name, '-h'], ['help', name], ['--help', name]];

let scratch: string;
let absentDir: string;
let absentEnv: Record<string, string>;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'ctms-cli-help-'));
  absentDir = join(scratch, 'never');
  absentEnv = cliEnv(`sqlite:///${join(absentDir, 'ctms.db')}`);
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('ctms --help', () => {
  it('knows exactly the commands of the contract', () => {
    expect(COMMANDS.map((spec) => spec.name)).toEqual(NAMES);
  });

  it('names every job in the help of ctms jobs', async () => {
    expect(JOBS_HELP).toBe(`Jobs: ${JOB_NAMES.join(', ')}.`);
    expect((await runInProcess(absentEnv, ['jobs', '--help'])).out).toContain(JOBS_HELP);
  });

  it.each([['--help'], ['-h'], ['help']])('lists every command for %s and exits 0', async (flag) => {
    const res = await runInProcess(absentEnv, [flag]);
    expect(res).toMatchObject({ code: 0, err: '' });
    for (const name of NAMES) expect(res.out).toMatch(new RegExp(`^  ${name} `, 'm'));
    expect(existsSync(absentDir)).toBe(false);
  });

  it('prints the list on standard error and exits 1 without a command', async () => {
    const res = await runInProcess(absentEnv, []);
    expect(res.code).toBe(1);
    expect(res.err).toContain('Usage: ctms <command>');
  });
});

describe.each(NAMES)('ctms %s --help', (name) => {
  it.each(HELP_FORMS(name))('answers `ctms %s %s` with the usage, exit 0, and no database', async (...argv) => {
    const res = await runInProcess(absentEnv, argv);
    expect(res).toMatchObject({ code: 0, err: '' });
    expect(res.out).toMatch(new RegExp(`^Usage: ctms ${name}\\b`));
    expect(res.out).toContain('-h, --help');
    expect(existsSync(absentDir)).toBe(false);
  });

  it('prefers --help over other arguments, even wrong ones', async () => {
    for (const argv of [[name, '--username', 'x', '--help'], [name, '--bogus', '-h'], [name, 'extra', '--help']]) {
      const res = await runInProcess(absentEnv, argv);
      expect(res, argv.join(' ')).toMatchObject({ code: 0, err: '' });
      expect(res.out).toContain(`Usage: ctms ${name}`);
    }
    expect(existsSync(absentDir)).toBe(false);
  });

  it('refuses an unknown option with one line and exit 1, before any database work', async () => {
    const res = await runInProcess(absentEnv, [name, '--bogus']);
    expect(res.code).toBe(1);
    expect(res.out).toBe('');
    expect(res.err).toBe(`Error: Unknown option '--bogus'; run 'ctms ${name} --help' for usage`);
    expect(existsSync(absentDir)).toBe(false);
  });
});

describe('argument errors', () => {
  it.each([
    [['migrate', 'now'], "Unexpected argument 'now'"],
    [['cleanup', '--', 'all'], "Unexpected argument 'all'"],
    [['list-users', 'manager'], "Unexpected argument 'manager'"],
    [['list-users', '--role', 'king'], '--role must be one of manager, developer, auditor'],
    [['set-role', '--username'], "Option '--username <value>' argument missing"],
    [['set-role', '--username', 'a', '--username', 'b', '--role', 'manager'], "Option '--username' given more than once"],
    [['deactivate'], '--username is required'],
    [['reset-password', '--password', 'long-enough-1', '--password-stdin', '--username', 'a'], 'Use either --password or --password-stdin'],
    [['reset-password', '--username', 'a'], 'No password given'],
    [['create-user', '--username', 'a', '--email', 'a@example.com', '--role', 'developer'], '--username must be'],
    [['jobs'], 'Missing action'],
    [['jobs', 'start'], "Unknown action 'start'"],
    [['jobs', 'run', 'backup'], 'Unknown job: backup'],
    [['jobs', 'run', '--now'], "Unknown option '--now'"],
    [['frobnicate'], "Unknown command 'frobnicate'"],
    [['--frobnicate'], "Unknown option '--frobnicate'"],
    [['help', 'frobnicate'], "Unknown command 'frobnicate'"],
  ])('`ctms %j` exits 1 with one line, before any database work', async (argv, message) => {
    const res = await runInProcess(absentEnv, argv, pipedInput());
    expect(res.code).toBe(1);
    expect(res.out).toBe('');
    expect(res.err).toContain(message);
    expect(res.err).not.toContain('\n');
    expect(existsSync(absentDir)).toBe(false);
  });

  it('warns about --password, then refuses a password the API would refuse', async () => {
    const res = await runInProcess(absentEnv, ['reset-password', '--username', 'a', '--password', 'short']);
    expect(res.code).toBe(1);
    expect(res.err.split('\n')).toEqual([
      expect.stringContaining('Warning: --password may leak'),
      expect.stringContaining('--password must be 8-100 characters'),
    ]);
    expect(existsSync(absentDir)).toBe(false);
  });
});

// Every table's rows, to compare before and after.
async function snapshot(db: Database) {
  const tables = ['users', 'user_sessions', 'email_verification_tokens', 'api_audit_logs', 'notifications', 'tasks', 'tags'] as const;
  return Promise.all(tables.map((table) => db.selectFrom(table).selectAll().orderBy('id').execute()));
}

describe('--help against the test database', () => {
  let fresh: TestDatabase;
  let used: TestDatabase;

  beforeAll(async () => {
    [fresh, used] = await Promise.all([createTestDatabase({ migrate: false }), createTestDatabase()]);
    const env = cliEnv(used.url);
    const made = await runInProcess(env, ['create-user', '--username', 'keeper', '--email', 'keeper@example.com', '--role', 'developer', '--password-stdin'],
      pipedInput('keeper-password\n'));
    expect(made.code, made.err).toBe(0);
    const db = used.handle.db;
    const userId = Number(made.out);
    const long = new Date(Date.now() - 400 * 86_400_000).toISOString();
    // Rows `cleanup` would delete, and a live session `deactivate` and `reset-password` would revoke.
    await liveSession(db, userId);
    await db.insertInto('user_sessions').values({ user_id: userId, refresh_token_hash: 'h', device_id: 'old', created_at: long,
      last_used: long, expires_at: long }).execute();
    await db.insertInto('email_verification_tokens').values({ user_id: userId, token_hash: 't', created_at: long, expires_at: long }).execute();
    await db.insertInto('api_audit_logs').values({ user_id: null, endpoint: '/api/x', method: 'GET', status_code: 200, duration_ms: 1,
      timestamp: long }).execute();
    await db.insertInto('notifications').values({ user_id: userId, task_id: null, task_title: 't', message: 'm',
      notification_type: 'status_change', read: true, is_delivered: true, created_at: long }).execute();
  });
  afterAll(async () => {
    await Promise.all([fresh.cleanup(), used.cleanup()]);
  });

  it('migrates nothing: an empty database stays without tables after every command\'s --help', async () => {
    for (const name of NAMES) {
      const res = await runInProcess(cliEnv(fresh.url), [name, '--help']);
      expect(res.code, name).toBe(0);
    }
    await expect(fresh.handle.db.selectFrom('users').select('id').execute()).rejects.toThrow();
  });

  it('changes no row: cleanup, deactivate, reset-password, create-user, seed-demo, jobs and set-role with --help', async () => {
    const before = await snapshot(used.handle.db);
    const env = cliEnv(used.url);
    const keeper = ['--username', 'keeper'];
    for (const argv of [
      ['cleanup', '--help'],
      ['deactivate', ...keeper, '--help'],
      ['reset-password', ...keeper, '--password-stdin', '-h'],
      ['set-role', ...keeper, '--role', 'manager', '--help'],
      ['create-user', '--username', 'newbie', '--email', 'newbie@example.com', '--role', 'manager', '--help'],
      ['seed-demo', '-h'],
      ['jobs', 'run', '--help'],
      ['help', 'cleanup'],
    ]) {
      const res = await runInProcess(env, argv, fakeTerminal('should-never-be-read\r'));
      expect(res.code, argv.join(' ')).toBe(0);
    }
    expect(await snapshot(used.handle.db)).toEqual(before);
    // The same commands without --help do change it, so the comparison above means something.
    expect((await runInProcess(env, ['cleanup'])).out).toMatch(/^Removed 1 sessions?, 1 verification tokens?, 0 reset and invitation tokens, 1 audit rows?/);
  });
});
