// Dependency faults, against real server processes: PostgreSQL stopped under load (a private
// cluster: the shared one is never touched), Redis stopped under two instances (a private
// redis-server), a lock held for seconds (DB_STATEMENT_TIMEOUT_MS), and a full disk under SQLite (a
// small tmpfs). Each must end requests cleanly — a quick 503 with a string `detail`, never a 500, a
// hang or a crash — lose no acknowledged write, and recover by itself once the dependency is back.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, parseDatabaseUrl, type DatabaseHandle } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from '../helpers/private-services.js';
import type { ServerProcess } from '../helpers/processes.js';
import { eventually, openSocket, socketUrl } from '../helpers/sockets.js';
import { createTask } from '../helpers/tasks.js';
import { crashSigns, integrityProblems, login, onPostgres, percentile, request, stack, type Answer, type Stack } from './harness.js';

let s: Stack;
let developer: TestUser;
let manager: TestUser;

beforeAll(async () => {
  s = await stack();
  [developer, manager] = (await s.users([{ role: 'developer' }, { role: 'manager' }])) as [TestUser, TestUser];
}, 600_000);

afterAll(async () => {
  await s?.close();
});

const newTask = (title: string, assignee: number, description = '') => ({ title, description, estimated_hours: 1, deadline: '2030-01-15T12:00:00Z', assigned_to: assignee });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Timed extends Answer {
  sentAt: number;
  doneAt: number;
  kind: 'read' | 'write';
  title?: string;
}

/** `clients` clients alternating list reads and task creations until `stop()`; every answer timed. */
function load(base: string, token: string, assignee: number, clients: number) {
  const answers: Timed[] = [];
  let running = true;
  let n = 0;
  const done = Promise.all(
    Array.from({ length: clients }, async () => {
      while (running) {
        n += 1;
        const sentAt = Date.now();
        const title = `load ${n}`;
        const answer =
          n % 2 === 0
            ? { ...(await request(base, 'POST', '/api/tasks', { token, body: newTask(title, assignee), timeoutMs: 30_000 })), kind: 'write' as const, title }
            : { ...(await request(base, 'GET', '/api/tasks?limit=5', { token, timeoutMs: 30_000 })), kind: 'read' as const };
        answers.push({ ...answer, sentAt, doneAt: Date.now() });
        // A client that gets a 503 waits a little, as Retry-After asks (here: briefly).
        if (answer.status === 503) await sleep(50);
      }
    }),
  );
  return {
    answers,
    stop: async () => {
      running = false;
      await done;
      return answers;
    },
  };
}

const badDetail = (a: Answer) => a.status === 503 && typeof a.body?.detail !== 'string';

describe.runIf(onPostgres)('PostgreSQL stopped under load (a private cluster)', () => {
  let postgres: PrivatePostgres;
  let handle: DatabaseHandle;
  let server: ServerProcess;
  let user: TestUser;

  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    handle = createDatabase(postgres.url, { poolSize: 2 });
    await migrateToLatest(handle.db);
    user = await createUser(handle, { role: 'manager' });
    server = await s.start({ DATABASE_URL: postgres.url });
  }, 120_000);

  afterAll(async () => {
    await server?.stop('SIGKILL');
    await handle?.close();
    await postgres?.remove();
  });

  it('fails fast with 503 and a string detail while it is down, reports it in /health/ready, and recovers by itself', async () => {
    const { access } = await login(server.url, user.username);
    const traffic = load(server.url, access, user.id, 4);
    await sleep(1500);

    const stopping = Date.now();
    await postgres.stop();
    const stopped = Date.now();
    await sleep(3000);
    const ready = await request(server.url, 'GET', '/health/ready');
    expect(ready.status, `${ready.error}; ${server.output().slice(-4000)}`).toBe(503);
    expect(ready.body).toMatchObject({ status: 'not_ready', database: 'unavailable', detail: expect.stringContaining('database') });
    const health = await request(server.url, 'GET', '/health');
    expect(health.status).toBe(503);

    const starting = Date.now();
    await postgres.start();
    const started = Date.now();
    await eventually(async () => (await request(server.url, 'GET', '/api/tasks?limit=1', { token: access })).status === 200, 30_000, 'service to resume');
    const resumed = Date.now();
    await sleep(1000);
    const answers = await traffic.stop();

    // Every request got an answer: before the stop and after the restart a 2xx, in between a 503.
    expect(answers.filter((a) => a.status === undefined).map((a) => a.error)).toEqual([]);
    expect(answers.filter((a) => ![200, 201, 503].includes(a.status!)).map((a) => [a.status, a.body])).toEqual([]);
    expect(answers.filter(badDetail)).toEqual([]);
    const outage = answers.filter((a) => a.sentAt >= stopped && a.doneAt <= starting);
    expect(outage.length).toBeGreaterThan(10);
    expect(outage.filter((a) => a.status !== 503)).toEqual([]);
    expect(new Set(outage.map((a) => a.body.detail))).toEqual(new Set(['The database is unavailable; please retry']));
    expect(outage.every((a) => a.headers?.get('retry-after') === '5')).toBe(true);
    // Fast: no request waits on a database that is not there.
    const slowest = Math.max(...answers.filter((a) => a.status === 503).map((a) => a.ms));
    expect(slowest).toBeLessThan(4000);
    expect(answers.filter((a) => a.sentAt >= resumed && a.status !== 200 && a.status !== 201)).toEqual([]);

    // Alive all along, no restart, nothing unhandled.
    expect(server.child.exitCode).toBeNull();
    expect(crashSigns(server.output())).toEqual([]);
    // Every acknowledged creation is in the database.
    const acknowledged = answers.filter((a) => a.kind === 'write' && a.status === 201).map((a) => a.title!);
    const stored = await handle.db.selectFrom('tasks').select('title').where('title', 'in', acknowledged).execute();
    expect(stored).toHaveLength(acknowledged.length);
    expect(await integrityProblems(handle.db)).toEqual([]);

    const first503 = answers.filter((a) => a.status === 503).sort((a, b) => a.doneAt - b.doneAt)[0]!;
    console.info(
      `PostgreSQL stop: pg_ctl stop took ${stopped - stopping} ms; first 503 ${first503.doneAt - stopping} ms after the stop began; ` +
        `${outage.length} requests during the outage, all 503, p50 ${percentile(outage.map((a) => a.ms), 50)} ms, slowest 503 ${slowest} ms; ` +
        `pg_ctl start took ${started - starting} ms, service resumed ${resumed - started} ms after it was up; ${acknowledged.length} acknowledged creations all stored`,
    );
  });
});

describe('Redis stopped under two instances (a private redis-server)', () => {
  let redis: PrivateRedis;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    // Rate limits on, with limits high enough for the test: their counters live in Redis.
    const env = {
      REDIS_URL: redis.url,
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_PER_MINUTE: '100000',
      RATE_LIMIT_AUTH_PER_MINUTE: '100000',
      RATE_LIMIT_LOGIN_PER_USERNAME: '100000',
    };
    [a, b] = await Promise.all([s.start(env), s.start(env)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a?.stop('SIGKILL'), b?.stop('SIGKILL')]);
    await redis?.remove();
  });

  const RATE_WARNING = /rate limits are counted by this instance alone/g;
  const BUS_WARNING = /live notifications reach only sockets on this instance/g;
  const count = (server: ServerProcess, pattern: RegExp) => server.output().match(pattern)?.length ?? 0;

  it('keeps serving with one warning per instance, delivers what was missed and resumes cross-instance delivery when Redis returns', async () => {
    const task = await createTask(s.db, { assignedTo: developer.id, title: 'Redis fault', status: 'pending' });
    const managerOnA = await login(a.url, manager.username);
    const developerOnB = await login(b.url, developer.username);
    const socket = await openSocket(socketUrl(`127.0.0.1:${b.port}`, developerOnB.access));
    await socket.roundTrip();
    const statusNotice = (status: string) => (m: Record<string, unknown>) => {
      const notification = m.notification as { task_id?: number; message?: string } | undefined;
      return m.type === 'notification' && notification?.task_id === task && notification.message?.endsWith(`to ${status.replace(/_/g, ' ')}`) === true;
    };
    const change = async (status: string) =>
      expect((await request(a.url, 'PATCH', `/api/tasks/${task}`, { token: managerOnA.access, body: { status } })).status).toBe(200);

    // Across instances while Redis is up.
    await change('in_progress');
    await socket.next(statusNotice('in_progress'), 5000);

    await redis.stop();
    const stoppedAt = Date.now();
    const during: Answer[] = [];
    for (let i = 0; i < 40; i += 1) {
      const server = i % 2 === 0 ? a : b;
      const token = i % 2 === 0 ? managerOnA.access : developerOnB.access;
      during.push(await request(server.url, 'GET', '/api/tasks?limit=5', { token }));
    }
    await change('blocked');
    expect(during.map((x) => x.status)).toEqual(Array(40).fill(200));
    expect(Math.max(...during.map((x) => x.ms))).toBeLessThan(2000);
    const readiness = await request(a.url, 'GET', '/health/ready');
    expect(readiness.status).toBe(503);
    expect(readiness.body).toMatchObject({ database: 'ok', redis: 'unavailable' });
    // One warning per instance for each fallback, not one per request.
    for (const server of [a, b]) {
      expect(count(server, RATE_WARNING), server.output()).toBe(1);
      expect(count(server, BUS_WARNING), server.output()).toBe(1);
    }

    await redis.start();
    const restartedAt = Date.now();
    // The change made during the outage reaches the socket on B once its subscriber is back.
    await socket.next(statusNotice('blocked'), 15_000);
    const replayedAt = Date.now();
    // A's publisher may still be reconnecting after B's subscriber is back: what A could not publish
    // meanwhile reaches B too, once A is connected again (A asks every instance to replay).
    await change('completed');
    await socket.next(statusNotice('completed'), 10_000);
    const caughtUpAt = Date.now();
    for (const server of [a, b]) await eventually(async () => (await request(server.url, 'GET', '/health/ready')).status === 200, 10_000, 'ready again');
    await change('pending');
    await socket.next(statusNotice('pending'), 5000);
    // Still one warning each: a reconnection is not a new outage.
    for (const server of [a, b]) {
      expect(count(server, RATE_WARNING)).toBe(1);
      expect(count(server, BUS_WARNING)).toBe(1);
      expect(server.child.exitCode).toBeNull();
      expect(crashSigns(server.output())).toEqual([]);
    }
    await socket.close();
    console.info(
      `Redis stop: ${during.length} requests during the outage all 200 (slowest ${Math.max(...during.map((x) => x.ms))} ms); ` +
        `outage ${restartedAt - stoppedAt} ms; the notification missed during the outage delivered ${replayedAt - restartedAt} ms after Redis was back, ` +
        `one made while the publisher reconnected ${caughtUpAt - replayedAt} ms after it was made`,
    );
  });
});

describe('a lock held for seconds (DB_STATEMENT_TIMEOUT_MS=1500)', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await s.start({ DB_STATEMENT_TIMEOUT_MS: '1500' });
  }, 120_000);

  /** Holds a write lock on the task (PostgreSQL: its row; SQLite: the database) for `ms`; `released` resolves after. */
  async function holdLock(task: number, ms: number): Promise<{ released: Promise<void> }> {
    if (onPostgres) {
      const client = new pg.Client({ connectionString: parseDatabaseUrl(s.database.url).target });
      await client.connect();
      await client.query('begin');
      await client.query('select id from tasks where id = $1 for update', [task]);
      return {
        released: sleep(ms).then(async () => {
          await client.query('rollback');
          await client.end();
        }),
      };
    }
    const raw = new SqliteDatabase(parseDatabaseUrl(s.database.url).target);
    raw.exec('begin immediate');
    raw.prepare('update tasks set description = ? where id = ?').run('held', task);
    return {
      released: sleep(ms).then(() => {
        raw.exec('rollback');
        raw.close();
      }),
    };
  }

  it('ends a write waiting on the lock at the timeout with a 503, changes nothing, and serves again once the lock is gone', async () => {
    const task = await createTask(s.db, { assignedTo: developer.id, title: 'Locked', status: 'pending' });
    const { access } = await login(server.url, manager.username);
    const { released } = await holdLock(task, 5000);
    const blocked = await request(server.url, 'PATCH', `/api/tasks/${task}`, { token: access, body: { title: 'During the lock' } });
    expect(blocked.status, JSON.stringify(blocked.body)).toBe(503);
    expect(blocked.body.detail).toBe(onPostgres ? 'The database did not answer in time; please retry' : 'The database is busy; please retry');
    expect(blocked.ms).toBeGreaterThanOrEqual(1400);
    expect(blocked.ms).toBeLessThan(4000);
    await released;

    const row = await s.db.selectFrom('tasks').select(['title', 'description']).where('id', '=', task).executeTakeFirstOrThrow();
    expect(row).toEqual({ title: 'Locked', description: '' });
    const after = await request(server.url, 'PATCH', `/api/tasks/${task}`, { token: access, body: { title: 'After the lock' } });
    expect(after.status).toBe(200);
    expect(server.child.exitCode).toBeNull();
    expect(crashSigns(server.output())).toEqual([]);
    console.info(`lock held 5 s, DB_STATEMENT_TIMEOUT_MS=1500: the blocked PATCH answered 503 after ${blocked.ms} ms`);
  });
});

/** Mounts a tmpfs of `size` at a new directory; undefined when this machine does not allow it. */
function mountTmpfs(size: string): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'ctms-full-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

describe.runIf(!onPostgres)('a full disk under SQLite (a small tmpfs)', () => {
  let dir: string | undefined;
  let server: ServerProcess;
  let managerId: number;

  beforeAll(async () => {
    dir = mountTmpfs('3m');
    // CI runs as root, where mounting works; elsewhere the test says why it cannot run.
    if (!dir && !process.env.CI) return;
    expect(dir, 'could not mount a tmpfs (needs root)').toBeDefined();
    const url = `sqlite:///${join(dir!, 'ctms.db')}`;
    const handle = createDatabase(url);
    await migrateToLatest(handle.db);
    managerId = (await createUser(handle, { role: 'manager', username: 'full_disk_manager' })).id;
    await handle.close();
    server = await s.start({ DATABASE_URL: url });
  }, 120_000);

  afterAll(async () => {
    await server?.stop('SIGKILL');
    if (dir) {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers 503 "out of storage space" once the disk is full, keeps every acknowledged write, stays sound, and writes again once space is freed', async (context) => {
    if (!dir) context.skip();
    const { access } = await login(server.url, 'full_disk_manager');
    const acknowledged: string[] = [];
    let full: Answer | undefined;
    const filler = 'x'.repeat(9_000);
    for (let n = 0; n < 2000 && !full; n += 1) {
      const title = `fill ${n}`;
      const answer = await request(server.url, 'POST', '/api/tasks', { token: access, body: newTask(title, managerId, filler) });
      if (answer.status === 201) acknowledged.push(title);
      else full = answer;
    }
    expect(full, 'the disk never filled').toBeDefined();
    expect(full!.status, JSON.stringify(full!.body)).toBe(503);
    expect(full!.body.detail).toMatch(/^The database (is out of storage space|storage failed)$/);
    // Reads still work, and more writes fail the same clean way.
    expect((await request(server.url, 'GET', '/api/tasks?limit=5', { token: access })).status).toBe(200);
    const again = await request(server.url, 'POST', '/api/tasks', { token: access, body: newTask('one more', managerId, filler) });
    expect(again.status).toBe(503);

    // Nothing lost, nothing corrupt.
    const handle = createDatabase(`sqlite:///${join(dir!, 'ctms.db')}`);
    try {
      const stored = await handle.db.selectFrom('tasks').select('title').where('title', 'like', 'fill %').execute();
      expect(stored.map((t) => t.title).sort()).toEqual([...acknowledged].sort());
      expect(await integrityProblems(handle.db)).toEqual([]);
    } finally {
      await handle.close();
    }

    // Space freed (the tmpfs grown): writes succeed again, without a restart.
    execFileSync('mount', ['-o', 'remount,size=64m', dir!]);
    const recovered = await request(server.url, 'POST', '/api/tasks', { token: access, body: newTask('after the disk was freed', managerId) });
    expect(recovered.status).toBe(201);
    expect(server.child.exitCode).toBeNull();
    expect(crashSigns(server.output())).toEqual([]);
    console.info(`full disk: ${acknowledged.length} writes acknowledged before the 3 MB tmpfs filled; then 503 "${full!.body.detail}"; integrity ok`);
  });
});
