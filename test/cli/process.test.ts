// ctms as a real process: the password from standard input (--password-stdin), the warning for
// --password, the prompt on a real terminal (a pseudo-terminal made by util-linux `script`), the
// refusal to wait for a password that no terminal can type, and bin/ctms.js.
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyPassword } from '../../src/lib/hash.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cliEnv, liveSession, ROOT, sessionsOf, spawnCli, userRow } from './harness.js';

// Each process compiles the sources with tsx on start: seconds on a busy machine.
vi.setConfig({ testTimeout: 60_000 });

let t: TestDatabase;
let env: Record<string, string>;

beforeAll(async () => {
  t = await createTestDatabase();
  env = cliEnv(t.url);
});
afterAll(async () => {
  await t.cleanup();
});

const newUser = (username: string, ...password: string[]) =>
  ['create-user', '--username', username, '--email', `${username}@example.com`, '--role', 'developer', ...password];

describe('--password-stdin', () => {
  it('create-user reads the first line of standard input; only the id is printed', async () => {
    const res = await spawnCli(env, newUser('piped', '--password-stdin'), 'piped-secret-1\nnot the password\n');
    expect(res).toMatchObject({ code: 0, err: '' });
    expect(res.out).toMatch(/^\d+\n$/);
    const row = await userRow(t.handle.db, 'piped');
    expect(row.id).toBe(Number(res.out));
    expect(await verifyPassword('piped-secret-1', row.hashed_password)).toBe(true);
  });

  it('reset-password reads it too (a CRLF line ending is no part of it) and revokes every session', async () => {
    const { id } = await userRow(t.handle.db, 'piped');
    const session = await liveSession(t.handle.db, id);
    const res = await spawnCli(env, ['reset-password', '--username', 'piped', '--password-stdin'], 'piped-secret-2\r\n');
    expect(res).toMatchObject({ code: 0, err: '', out: 'Password of piped changed; 1 session revoked.\n' });
    expect(await verifyPassword('piped-secret-2', (await userRow(t.handle.db, 'piped')).hashed_password)).toBe(true);
    expect(await sessionsOf(t.handle.db, id)).toEqual([{ id: session, revoked_at: expect.any(String) }]);
  });

  it('exits 1 on an empty standard input, changing nothing', async () => {
    const before = (await userRow(t.handle.db, 'piped')).hashed_password;
    const res = await spawnCli(env, ['reset-password', '--username', 'piped', '--password-stdin'], '');
    expect(res.code).toBe(1);
    expect(res.err).toBe('Error: --password-stdin: standard input is empty\n');
    expect((await userRow(t.handle.db, 'piped')).hashed_password).toBe(before);
  });
});

describe('--password', () => {
  it('still works, with a warning on standard error; standard output keeps only the id', async () => {
    const res = await spawnCli(env, newUser('flagged', '--password', 'flag-secret-1'));
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^\d+\n$/);
    expect(res.err).toBe('Warning: --password may leak into shell history and process lists; prefer the prompt or --password-stdin.\n');
    expect(await verifyPassword('flag-secret-1', (await userRow(t.handle.db, 'flagged')).hashed_password)).toBe(true);
  });
});

const hasScript = spawnSync('script', ['--version']).status === 0;

/**
 * Runs the command on a pseudo-terminal, typing each answer once its prompt has appeared (typed
 * earlier, the terminal itself would echo it); resolves with everything the terminal showed.
 */
function onTerminal(argv: string[], answers: [prompt: string, typed: string][]): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, '--import', 'tsx', 'src/cli.ts', ...argv].map((arg) => `'${arg}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: { PATH: process.env.PATH, ...env } });
  let screen = '';
  child.stdout.on('data', (chunk: Buffer) => {
    screen += chunk.toString();
    const next = answers[0];
    if (next && screen.endsWith(next[0])) {
      answers.shift();
      child.stdin.write(next[1]);
    }
  });
  return new Promise((done) => child.once('close', (code) => done({ code, screen })));
}

describe.skipIf(!hasScript)('the prompt on a terminal', () => {
  it('asks twice and shows nothing of what is typed', async () => {
    const { code, screen } = await onTerminal(newUser('typist'), [
      ['Password for the new user: ', 'typed-secret-1\r'],
      ['Repeat it: ', 'typed-secret-1\r'],
    ]);
    expect(code, screen).toBe(0);
    expect(screen).not.toContain('typed-secret');
    expect(screen.replace(/\r/g, '')).toMatch(/^Password for the new user: \nRepeat it: \n\d+\n$/);
    expect(await verifyPassword('typed-secret-1', (await userRow(t.handle.db, 'typist')).hashed_password)).toBe(true);
  });
});

describe('without a password option', () => {
  it('exits 1 at once when standard input is no terminal, creating nothing', async () => {
    const res = await spawnCli(env, newUser('promptless'), 'would-be-password\n');
    expect(res.code).toBe(1);
    expect(res.err).toBe(
      "Error: No password given: run this in a terminal to be asked for it, or pipe it with --password-stdin; run 'ctms create-user --help' for usage\n",
    );
    expect(await t.handle.db.selectFrom('users').select('id').where('username', '=', 'promptless').executeTakeFirst()).toBeUndefined();
  });
});

describe('bin/ctms.js', () => {
  it('runs the command line (compiled or from the sources, whichever is current)', async () => {
    const res = await spawnCli(env, ['--help'], '', ['bin/ctms.js']);
    expect(res).toMatchObject({ code: 0, err: '' });
    expect(res.out).toContain('reset-password');
    const listed = await spawnCli(env, ['list-users', '--role', 'developer'], '', ['bin/ctms.js']);
    expect(listed.code, listed.err).toBe(0);
    expect(listed.out).toMatch(/^\d+\s+flagged\s+flagged@example\.com\s+developer\s+yes\s+yes$/m);
  });
});
