// Running `ctms` in tests: in this process through runCli (output collected, standard input
// injectable, a fake terminal for the prompt), or as a real process on the TypeScript sources
// (real standard input and exit code), against the test database of the calling file.
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { resolve } from 'node:path';
import { runCli } from '../../src/cli.js';
import { insertSession } from '../../src/modules/auth/sessions.repository.js';
import type { Database } from '../../src/db/database.js';
import type { PasswordInput } from '../../src/cli/password.js';

export const ROOT = resolve(import.meta.dirname, '../..');

export const cliEnv = (databaseUrl: string): Record<string, string> => ({
  DATABASE_URL: databaseUrl,
  ENVIRONMENT: 'test',
  SECRET_KEY: 'cli-test-secret-0123456789abcdef0123',
  BCRYPT_ROUNDS: '4',
});

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

/** A terminal whose keys are typed as given, one chunk each; it records what was shown on it. */
export function fakeTerminal(...chunks: string[]) {
  const stdin = Object.assign(new PassThrough(), {
    isTTY: true,
    rawModes: [] as boolean[],
    setRawMode(mode: boolean) {
      stdin.rawModes.push(mode);
      return stdin;
    },
  });
  let shown = '';
  // Each chunk waits for the prompt that reads it, as a person would.
  const typeNext = () => {
    const chunk = chunks.shift();
    if (chunk !== undefined) setImmediate(() => stdin.write(chunk));
  };
  return {
    stdin: stdin as PasswordInput & { rawModes: boolean[] },
    prompt(text: string) {
      shown += text;
      if (text.endsWith(': ')) typeNext();
    },
    shown: () => shown,
  };
}

/** Standard input that is a pipe (not a terminal) holding `text`. */
export function pipedInput(text = '') {
  const stdin = new PassThrough();
  stdin.end(text);
  return { stdin: stdin as PasswordInput, prompt: () => undefined };
}

export async function runInProcess(
  env: Record<string, string>,
  argv: string[],
  terminal: Parameters<typeof runCli>[4] = pipedInput(),
): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, env, (l) => out.push(l), (l) => err.push(l), terminal);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** `ctms …` as its own process (node + tsx on src/cli.ts), `input` piped to its standard input. */
export function spawnCli(env: Record<string, string>, argv: string[], input = '', script = ['--import', 'tsx', 'src/cli.ts']): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...script, ...argv], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('error', fail);
    child.once('close', (code) => done({ code, out, err }));
    // The child may exit before reading everything (an error): that is no failure of the test.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** A live session of the user, as a login makes (refresh token hash left as a placeholder). */
export async function liveSession(db: Database, userId: number): Promise<number> {
  const now = new Date();
  return insertSession(db, {
    userId,
    deviceId: `device-${Math.random().toString(36).slice(2)}`,
    userAgent: 'vitest',
    ip: '127.0.0.1',
    now: now.toISOString(),
    expiresAt: new Date(now.getTime() + 86_400_000).toISOString(),
  });
}

export async function userRow(db: Database, username: string) {
  return db
    .selectFrom('users')
    .select(['id', 'role', 'is_active', 'email_verified', 'hashed_password', 'timezone'])
    .where('username', '=', username)
    .executeTakeFirstOrThrow();
}

export async function sessionsOf(db: Database, userId: number) {
  return db.selectFrom('user_sessions').select(['id', 'revoked_at']).where('user_id', '=', userId).orderBy('id').execute();
}
