// The ctms command line against a real database (the test database of this file).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { verifyPassword } from '../../src/lib/hash.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let t: TestDatabase;
let env: Record<string, string>;

beforeAll(async () => {
  t = await createTestDatabase({ migrate: false });
  env = { DATABASE_URL: t.url, ENVIRONMENT: 'test', SECRET_KEY: 'cli-test-secret-0123456789abcdef0123', BCRYPT_ROUNDS: '4' };
});
afterAll(async () => {
  await t.cleanup();
});

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, env, (l) => out.push(l), (l) => err.push(l));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('ctms migrate', () => {
  it('applies the migrations, then says the database is up to date', async () => {
    const first = await run('migrate');
    expect(first.code).toBe(0);
    expect(first.out).toContain('Applied migration 0001_initial');
    const second = await run('migrate');
    expect(second).toMatchObject({ code: 0, out: 'Database is up to date.' });
  });
});

describe('ctms create-user', () => {
  it('creates a verified, active user with a bcrypt hash and prints its id', async () => {
    const res = await run('create-user', '--username', 'lead', '--email', 'lead@example.com', '--password', 'longpassword',
      '--role', 'manager', '--timezone', 'Asia/Kolkata');
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^\d+$/);
    const row = await t.handle.db
      .selectFrom('users')
      .select(['id', 'role', 'timezone', 'email_verified', 'is_active', 'hashed_password'])
      .where('username', '=', 'lead')
      .executeTakeFirstOrThrow();
    expect(row.id).toBe(Number(res.out));
    expect(row).toMatchObject({ role: 'manager', timezone: 'Asia/Kolkata' });
    expect(Boolean(row.email_verified)).toBe(true);
    expect(Boolean(row.is_active)).toBe(true);
    expect(row.hashed_password).not.toContain('longpassword');
    expect(await verifyPassword('longpassword', row.hashed_password)).toBe(true);
  });

  it.each([
    ['a duplicate username (any case)', ['--username', 'LEAD', '--email', 'x1@example.com'], /Username already registered/],
    ['a duplicate e-mail (any case)', ['--username', 'lead2', '--email', 'LEAD@example.com'], /Email already registered/],
  ])('exits 1 on %s', async (_label, args, message) => {
    const res = await run('create-user', ...args, '--password', 'longpassword', '--role', 'developer');
    expect(res.code).toBe(1);
    expect(res.err).toMatch(message);
  });

  it('exits 1 listing every bad value, creating nothing', async () => {
    const before = await t.handle.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const res = await run('create-user', '--username', 'x', '--email', 'not-an-email', '--password', 'short', '--role', 'king',
      '--timezone', 'Mars/Base');
    expect(res.code).toBe(1);
    for (const word of ['--username', '--email', '--password', '--role', '--timezone']) expect(res.err).toContain(word);
    const after = await t.handle.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });

  it('exits 1 on an unknown option', async () => {
    const res = await run('create-user', '--username', 'abc', '--admin', 'yes');
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/admin/);
  });
});

describe('ctms set-role', () => {
  it("changes a user's role", async () => {
    const res = await run('set-role', '--username', 'lead', '--role', 'auditor');
    expect(res.code).toBe(0);
    const row = await t.handle.db.selectFrom('users').select('role').where('username', '=', 'lead').executeTakeFirstOrThrow();
    expect(row.role).toBe('auditor');
  });

  it('exits 1 for an unknown user or role', async () => {
    expect((await run('set-role', '--username', 'ghost', '--role', 'manager')).code).toBe(1);
    const badRole = await run('set-role', '--username', 'lead', '--role', 'root');
    expect(badRole.code).toBe(1);
    expect(badRole.err).toMatch(/--role/);
  });
});

describe('ctms usage', () => {
  it('exits 1 for an unknown command or bad configuration', async () => {
    const unknown = await run('frobnicate');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toBe("Error: Unknown command 'frobnicate'; run 'ctms --help' for usage");
    const code = await runCli(['migrate'], { PORT: 'abc' }, () => undefined, () => undefined);
    expect(code).toBe(1);
  });
});

describe('ctms cleanup', () => {
  it('deletes expired sessions, spent verification, reset and invitation tokens, old audit rows and old read notifications only', async () => {
    const db = t.handle.db;
    const user = await db.selectFrom('users').select('id').where('username', '=', 'lead').executeTakeFirstOrThrow();
    const now = Date.now();
    const iso = (offsetDays: number) => new Date(now + offsetDays * 86_400_000).toISOString();
    const session = (expires: string, revoked: string | null) => ({
      user_id: user.id, refresh_token_hash: 'h', device_id: 'd', created_at: iso(-5), last_used: iso(-5),
      expires_at: expires, revoked_at: revoked,
    });
    await db.insertInto('user_sessions').values([session(iso(-1), null), session(iso(2), iso(-2)), session(iso(2), null)]).execute();
    const token = (hash: string, expires: string, used: string | null) => ({
      user_id: user.id, token_hash: hash, created_at: iso(-2), expires_at: expires, used_at: used,
    });
    await db.insertInto('email_verification_tokens').values([token('a', iso(-1), null), token('b', iso(1), iso(-1)), token('c', iso(1), null)]).execute();
    await db.insertInto('password_reset_tokens').values([token('r1', iso(-1), null), token('r2', iso(1), null)]).execute();
    const invitation = (hash: string, expires: string, used: string | null) => ({
      email: `${hash}@example.com`, token_hash: hash, invited_by: user.id, created_at: iso(-2), expires_at: expires, used_at: used,
    });
    await db.insertInto('invitations').values([invitation('i1', iso(5), iso(-1)), invitation('i2', iso(5), null)]).execute();
    const audit = (timestamp: string) => ({
      user_id: null, endpoint: '/api/x', method: 'GET', status_code: 200, duration_ms: 1, timestamp,
    });
    await db.insertInto('api_audit_logs').values([audit(iso(-91)), audit(iso(-1))]).execute();
    const notification = (read: boolean, created: string) => ({
      user_id: user.id, task_id: null, task_title: 't', message: 'm', notification_type: 'status_change' as const,
      read, is_delivered: true, created_at: created,
    });
    await db.insertInto('notifications').values([notification(true, iso(-40)), notification(false, iso(-40)), notification(true, iso(-1))]).execute();

    const res = await run('cleanup');
    expect(res.code).toBe(0);
    expect(res.out).toBe('Removed 2 sessions, 2 verification tokens, 2 reset and invitation tokens, 1 audit rows, 1 read notifications, 0 webhook deliveries.');
    const left = async (table: 'password_reset_tokens' | 'invitations') =>
      (await db.selectFrom(table).select('token_hash').execute()).map((row) => row.token_hash);
    expect(await left('password_reset_tokens')).toEqual(['r2']);
    expect(await left('invitations')).toEqual(['i2']);
    const count = async (table: 'user_sessions' | 'email_verification_tokens' | 'api_audit_logs' | 'notifications') =>
      (await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
    expect(await count('user_sessions')).toBe(1);
    expect(await count('email_verification_tokens')).toBe(1);
    expect(await count('api_audit_logs')).toBe(1);
    expect(await count('notifications')).toBe(2);
  });
});

describe('ctms jobs run', () => {
  it('runs every job once, prints one line per job, and a second run finds nothing left to do', async () => {
    const db = t.handle.db;
    const user = await db.selectFrom('users').select('id').where('username', '=', 'lead').executeTakeFirstOrThrow();
    const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
    const task = (title: string, deadline: string) => ({
      title, description: '', status: 'pending' as const, priority: 'low' as const, estimated_hours: 1, deadline,
      priority_escalated: false, assigned_to: user.id, created_by: user.id, created_at: inMinutes(-60), updated_at: inMinutes(-60),
    });
    const [soon, today] = await db.insertInto('tasks').values([task('due soon', inMinutes(30)), task('due today', inMinutes(600))])
      .returning('id').execute();

    const first = await run('jobs', 'run');
    expect(first).toMatchObject({ code: 0, err: '' });
    expect(first.out.split('\n')).toEqual([
      'deadline_warnings: 1 deadline warning sent',
      'priority_escalation: 2 tasks escalated',
      expect.stringMatching(/^retention: removed \d+ sessions, \d+ verification tokens, \d+ reset and invitation tokens, \d+ audit rows, \d+ read notifications, \d+ webhook deliveries$/),
    ]);
    const notifications = await db.selectFrom('notifications').select(['task_id', 'notification_type'])
      .where('task_id', 'in', [soon!.id, today!.id]).orderBy('id').execute();
    expect(notifications).toEqual([
      { task_id: soon!.id, notification_type: 'deadline_warning' },
      { task_id: soon!.id, notification_type: 'priority_escalated' },
      { task_id: today!.id, notification_type: 'priority_escalated' },
    ]);
    const priorities = await db.selectFrom('tasks').select('priority').where('id', 'in', [soon!.id, today!.id]).orderBy('id').execute();
    expect(priorities.map((p) => p.priority)).toEqual(['medium', 'medium']);

    const second = await run('jobs', 'run', 'deadline_warnings', 'priority_escalation');
    expect(second.out).toBe('deadline_warnings: 0 deadline warnings sent\npriority_escalation: 0 tasks escalated');
  });

  it('exits 1 for an unknown job or action', async () => {
    const unknownJob = await run('jobs', 'run', 'backup');
    expect(unknownJob.code).toBe(1);
    expect(unknownJob.err).toMatch(/Unknown job: backup/);
    expect((await run('jobs', 'start')).code).toBe(1);
  });
});

describe('ctms seed-demo', () => {
  it('creates one user per role with tasks, prints the logins, and does nothing the second time', async () => {
    const first = await run('seed-demo');
    expect(first.code).toBe(0);
    expect(first.out).toContain('Demo team created');
    for (const role of ['manager', 'developer', 'auditor']) expect(first.out).toContain(role);
    const tasks = await t.handle.db.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(tasks.n).toBeGreaterThan(0);
    const second = await run('seed-demo');
    expect(second.code).toBe(0);
    expect(second.out).toContain('already exists');
    const again = await t.handle.db.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(again.n).toBe(tasks.n);
  });

  it('refuses to run in production', async () => {
    const code = await runCli(['seed-demo'], { ...env, ENVIRONMENT: 'production', SECRET_KEY: 'x'.repeat(40) }, () => undefined, () => undefined);
    expect(code).toBe(1);
  });
});
