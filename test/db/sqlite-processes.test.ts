// Several processes on one SQLite file, as cluster workers are: transactions that read before they
// write must wait for one another (BEGIN IMMEDIATE and the busy timeout), never fail with SQLITE_BUSY
// because another process committed in between.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDatabaseUrl, type TestDatabase } from '../helpers/database.js';

const WRITER = join(import.meta.dirname, 'fixtures/sqlite-writer.ts');
const TRANSACTIONS = 300;

interface Writer {
  ready: Promise<void>;
  go(): void;
  result: Promise<{ committed: number; failures: string[] }>;
}

function startWriter(url: string): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, url, String(TRANSACTIONS)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.startsWith('ready')) resolve();
    });
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const result = new Promise<{ committed: number; failures: string[] }>((resolve, reject) => {
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(output.trim().split('\n').pop() ?? '') as { committed: number; failures: string[] });
      } catch {
        reject(new Error(`writer exited with ${code}:\n${output}`));
      }
    });
  });
  return { ready, go: () => child.stdin.end('go\n'), result };
}

describe.skipIf(testDatabaseUrl() !== undefined)('SQLite shared by several processes', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('commits every read-then-write transaction of two processes writing at once', async () => {
    const writers = [startWriter(t.url), startWriter(t.url)];
    // Both start at the same moment, once both are loaded.
    await Promise.all(writers.map((w) => w.ready));
    for (const writer of writers) writer.go();
    const results = await Promise.all(writers.map((w) => w.result));
    expect(results.flatMap((r) => r.failures)).toEqual([]);
    expect(results.map((r) => r.committed)).toEqual([TRANSACTIONS, TRANSACTIONS]);
    const tags = await t.handle.db.selectFrom('tags').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(tags.n)).toBe(2 * TRANSACTIONS);
  }, 60_000);
});
