// A large CSV export streams in constant memory: 100,000 tasks (generated in bulk straight in the
// database) are downloaded over a real HTTP connection while the retained heap is measured after
// forced garbage collections. It must stay far below the size of the file. A memory check, not a
// timing one.
import { request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { listen } from '../helpers/sockets.js';
import { signIn } from '../helpers/tasks.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const TASKS = 100_000;
const MiB = 1024 * 1024;
/** What the export may keep alive while streaming: a batch or two and the socket buffers, nothing like the file. */
const RETAINED_BOUND = 16 * MiB;
/** A full garbage collection and a measurement after every this many bytes received. */
const SAMPLE_EVERY = 2 * MiB;

const retained = () => {
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
};

describe('large CSV export', () => {
  let t: TestApp;
  let address: string;
  let headers: { authorization: string };

  beforeAll(async () => {
    t = await buildTestApp();
    const manager = await signIn(t.app, { role: 'manager' });
    headers = manager.headers;
    const description = 'A description long enough to make the file large, with a comma, and "quotes". '.repeat(4);
    const now = new Date().toISOString();
    // One statement generates every row (a recursive CTE both dialects run): quick even on PostgreSQL.
    await sql`
      insert into tasks (title, description, status, priority, estimated_hours, deadline, priority_escalated, assigned_to, created_by, created_at, updated_at)
      with recursive n (i) as (select 1 union all select i + 1 from n where i < ${TASKS})
      select 'Bulk task ' || i, ${description}, 'pending', 'medium', 3, ${'2026-12-31T17:00:00.000Z'}, ${false}, ${manager.user.id}, ${manager.user.id}, ${now}, ${now}
      from n`.execute(t.db);
    address = await listen(t.app);
  }, 300_000);
  afterAll(async () => {
    await t.close();
  });

  it('streams 100,000 rows while the retained memory stays far below the file size', async () => {
    const baseline = retained();
    let peak = 0;
    let bytes = 0;
    let lines = 0;
    let nextSample = SAMPLE_EVERY;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`http://${address}/api/tasks/export.csv`, { headers }, (res) => {
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
          if (bytes >= nextSample) {
            nextSample += SAMPLE_EVERY;
            peak = Math.max(peak, retained() - baseline);
          }
        });
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    expect(lines).toBe(TASKS + 1);
    // The file is tens of MiB; what stayed alive while it streamed is a small fraction of it.
    expect(bytes).toBeGreaterThan(40 * MiB);
    expect(peak).toBeLessThan(RETAINED_BOUND);
    expect(peak).toBeLessThan(bytes / 4);
  }, 300_000);
});
