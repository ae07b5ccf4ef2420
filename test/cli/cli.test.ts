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
  it('exits 1 with the usage for an unknown command or bad configuration', async () => {
    const unknown = await run('frobnicate');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('Usage: ctms');
    const code = await runCli(['migrate'], { PORT: 'abc' }, () => undefined, () => undefined);
    expect(code).toBe(1);
  });
});
