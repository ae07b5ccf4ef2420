// Load benchmark: starts the real app on a loopback port over a fresh database (SQLite by default,
// BENCH_DATABASE_URL for PostgreSQL), seeds a team and tasks, then drives a few typical requests
// with a fixed number of concurrent keep-alive clients for a fixed time, and prints throughput and
// latency percentiles. Bounded in time and traffic; loopback only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { hashPassword } from '../src/lib/hash.js';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const TASKS = Number(process.env.BENCH_TASKS ?? 2000);

interface Scenario {
  name: string;
  request: (i: number) => { method: string; path: string; body?: unknown };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'ctms-bench-'));
  const url = process.env.BENCH_DATABASE_URL ?? `sqlite:///${join(dir, 'bench.db')}`;
  const config = loadConfig({ ENVIRONMENT: 'test', DATABASE_URL: url, LOG_LEVEL: 'silent', BCRYPT_ROUNDS: '10' }, { dataDir: null });
  const database = createDatabase(url);
  await migrateToLatest(database.db);
  const app = await buildApp(config, { database });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });

  // Seed: a manager and a developer, TASKS tasks split between them.
  const now = new Date().toISOString();
  const hash = await hashPassword('BenchPassword1', config.bcryptRounds);
  const ids: number[] = [];
  for (const [username, role] of [['bench_manager', 'manager'], ['bench_dev', 'developer']] as const) {
    const row = await database.db
      .insertInto('users')
      .values({ username, email: `${username}@bench.local`, hashed_password: hash, role, timezone: 'UTC', email_verified: true, is_active: true, created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids.push(row.id);
  }
  const [managerId = 0, devId = 0] = ids;
  const statuses = ['pending', 'in_progress', 'blocked', 'completed'] as const;
  for (let start = 0; start < TASKS; start += 500) {
    const batch = Array.from({ length: Math.min(500, TASKS - start) }, (_, k) => {
      const n = start + k;
      return {
        title: `Task ${n}`, description: `Benchmark task number ${n}`, status: statuses[n % 4] ?? 'pending',
        priority: 'medium' as const, estimated_hours: 4, actual_hours: n % 4 === 3 ? 3 : null,
        deadline: new Date(Date.now() + (n - TASKS / 2) * 3_600_000).toISOString(), priority_escalated: false,
        assigned_to: n % 2 === 0 ? managerId : devId, created_by: managerId, created_at: now, updated_at: now,
      };
    });
    await database.db.insertInto('tasks').values(batch).execute();
  }

  const login = await fetch(`${address}/api/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bench_manager', password: 'BenchPassword1' }),
  });
  const { access } = (await login.json()) as { access: string };
  const auth = { authorization: `Bearer ${access}`, 'content-type': 'application/json' };

  const scenarios: Scenario[] = [
    { name: 'GET /health', request: () => ({ method: 'GET', path: '/health' }) },
    { name: 'GET /api/tasks (page of 100)', request: () => ({ method: 'GET', path: '/api/tasks?limit=100' }) },
    { name: 'GET /api/tasks?search=…&ordering=-deadline', request: (i) => ({ method: 'GET', path: `/api/tasks?search=${i % 100}&ordering=-deadline&limit=50` }) },
    { name: 'GET /api/tasks/{id}', request: (i) => ({ method: 'GET', path: `/api/tasks/${(i % TASKS) + 1}` }) },
    { name: 'GET /api/analytics', request: () => ({ method: 'GET', path: '/api/analytics' }) },
    { name: 'PATCH /api/tasks/{id}', request: (i) => ({ method: 'PATCH', path: `/api/tasks/${(i % TASKS) + 1}`, body: { actual_hours: (i % 50) + 1 } }) },
    { name: 'POST /api/tasks', request: (i) => ({ method: 'POST', path: '/api/tasks', body: { title: `New ${i}`, estimated_hours: 2, deadline: '2030-01-01T00:00:00Z' } }) },
  ];

  console.log(`CTMS benchmark — ${database.dialect}, ${TASKS} tasks, ${CONCURRENCY} clients, ${DURATION_MS} ms per scenario\n`);
  console.log('scenario'.padEnd(46) + 'req/s'.padStart(9) + 'p50 ms'.padStart(9) + 'p99 ms'.padStart(9) + 'errors'.padStart(8));
  for (const scenario of scenarios) {
    const latencies: number[] = [];
    let errors = 0;
    let counter = 0;
    const deadline = performance.now() + DURATION_MS;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          const { method, path, body } = scenario.request(counter++);
          const t0 = performance.now();
          const res = await fetch(`${address}${path}`, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) });
          await res.arrayBuffer();
          latencies.push(performance.now() - t0);
          if (res.status >= 400) errors++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0;
    console.log(
      scenario.name.padEnd(46) + (latencies.length / elapsed).toFixed(0).padStart(9) + pct(50).toFixed(2).padStart(9) +
        pct(99).toFixed(2).padStart(9) + String(errors).padStart(8),
    );
  }
  await app.close();
  await database.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
