// The real server process: starts on a fresh SQLite file (created and migrated), answers /health,
// and exits cleanly on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort } from '../helpers/processes.js';

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited early with ${child.exitCode}`);
    try {
      return await fetch(url);
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('server did not start in time');
}

describe('server process', () => {
  it('serves on a fresh SQLite file and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctms-server-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: `sqlite:///${join(dir, 'fresh.db')}`,
        ENVIRONMENT: 'development',
        LOG_LEVEL: 'warn',
        SECRET_KEY: 'process-test-secret-0123456789abcdef0123',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const res = await waitForHealth(`http://127.0.0.1:${port}/health`, child, 40_000);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'healthy', database: 'ok', environment: 'development' });
      expect(existsSync(join(dir, 'fresh.db'))).toBe(true);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const code = await exited;
      expect(code, stderr).toBe(0);
    }
  }, 60_000);

  it('refuses to start in production without a SECRET_KEY, naming the problem', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { ...process.env, ENVIRONMENT: 'production', SECRET_KEY: '', DATABASE_URL: 'sqlite:///:memory:' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(stderr).toContain('SECRET_KEY');
  }, 30_000);
});
