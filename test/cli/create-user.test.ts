// `ctms create-user` keeps the same rules as the API: time zones in their official IANA spelling,
// and identities that cannot be confused (no username equal to any account's e-mail, and no e-mail
// equal to any account's username).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let env: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase();
  env = { ENVIRONMENT: 'test', DATABASE_URL: database.url, SECRET_KEY: 'cli-test-secret-0123456789abcdef0123', BCRYPT_ROUNDS: '4' };
});
afterAll(async () => {
  await database.cleanup();
});

async function createUser(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['create-user', ...args], env, (l) => out.push(l), (l) => err.push(l));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const user = (username: string, email: string, ...more: string[]) =>
  createUser('--username', username, '--email', email, '--password', 'cli-passw0rd', '--role', 'developer', ...more);

describe('ctms create-user', () => {
  it.each([
    ['asia/kolkata', 'Asia/Kolkata'],
    ['etc/gmt-8', 'Etc/GMT-8'],
  ])('stores the time zone %s as %s', async (typed, stored) => {
    const name = `tz_${stored.replace(/\W/g, '_').toLowerCase()}`;
    const res = await user(name, `${name}@example.com`, '--timezone', typed);
    expect(res.code).toBe(0);
    const row = await database.handle.db.selectFrom('users').select('timezone').where('username', '=', name).executeTakeFirstOrThrow();
    expect(row.timezone).toBe(stored);
  });

  it('refuses a SystemV time zone with exit code 1', async () => {
    const res = await user('tz_systemv', 'tz_systemv@example.com', '--timezone', 'SystemV/AST4');
    expect(res.code).toBe(1);
    expect(res.err).toContain('--timezone');
  });

  it("refuses a username equal to another account's e-mail, or an e-mail equal to another's username, creating nothing", async () => {
    expect((await user('third.owner@example.com', 'first.owner@example.com')).code).toBe(0);
    const before = await database.handle.db.selectFrom('users').select('id').execute();
    const collisions: [() => ReturnType<typeof user>, string][] = [
      [() => user('FIRST.owner@example.com', 'second@example.com'), 'Username already registered'],
      [() => user('second_owner', 'THIRD.OWNER@example.com'), 'Email already registered'],
    ];
    for (const [run, message] of collisions) {
      const res = await run();
      expect(res.code).toBe(1);
      expect(res.err).toContain(message);
    }
    expect(await database.handle.db.selectFrom('users').select('id').execute()).toEqual(before);
  });
});
