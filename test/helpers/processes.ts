// Real server processes for the deployment tests: the production build (`node dist/server.js`)
// started on loopback ports with an environment of the test's choosing, and stopped by signal.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const DIST_SERVER = resolve(ROOT, 'dist/server.js');
export const DIST_CLI = resolve(ROOT, 'dist/cli.js');

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/** A production environment that passes the configuration checks. */
export function productionEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ENVIRONMENT: 'production',
    SECRET_KEY: randomBytes(32).toString('hex'),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    BCRYPT_ROUNDS: '4',
    JOBS_ENABLED: 'false',
    RATE_LIMIT_ENABLED: 'false',
    ALLOWED_ORIGINS: 'http://localhost:3000',
    ...overrides,
  };
}

/** The server from its sources through tsx (no build needed), for tests of what it does at start. */
export const SOURCE_SERVER = resolve(ROOT, 'src/server.ts');

/** productionEnv for SOURCE_SERVER. */
export function sourceServerEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return productionEnv({ NODE_OPTIONS: '--import tsx', ...overrides });
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  output(): string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startServer(env: NodeJS.ProcessEnv, timeoutMs = 20_000, script = DIST_SERVER): Promise<ServerProcess> {
  const port = Number(env.PORT);
  const child = spawn(process.execPath, [script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // 'exit' can come before the last of the output has been read from the pipes: wait for them to
  // end too (briefly: a worker of a cluster that outlives its primary would hold them open).
  const ended = (stream: NodeJS.ReadableStream | null) => new Promise<void>((done) => (stream === null ? done() : stream.once('end', done)));
  const outputEnded = Promise.all([ended(child.stdout), ended(child.stderr)]);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code))).then(async (code) => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([outputEnded, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    return code;
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilServing(`${url}/health`, () => child.exitCode !== null, timeoutMs, () => output);
  return {
    child,
    port,
    url,
    output: () => output,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function waitUntilServing(url: string, failed: () => boolean, timeoutMs: number, output: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (failed()) throw new Error(`process exited before serving ${url}:\n${output()}`);
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing served ${url} in time:\n${output()}`);
}

/**
 * Runs `node dist/cli.js …` (or `script`) to its end: `output` is standard output and error as they arrived, `stdout` the
 * former alone (what a command prints for scripts, such as a new user's id, without the warnings).
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv, script = DIST_CLI): Promise<{ code: number | null; output: string; stdout: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // 'close', not 'exit': the pipes may still hold output when the process has exited.
    child.once('close', (code) => done({ code, output, stdout }));
  });
}
