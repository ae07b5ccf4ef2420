// The in-process scheduler: its timing rules on their own, then wired into the app by the jobs plugin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { createDatabase } from '../../src/db/database.js';
import { createScheduler } from '../../src/jobs/scheduler.js';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { captureLogs } from '../helpers/auth.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { createUser } from '../helpers/factories.js';
import { JOBS_NOW as NOW, minutesAfter, notificationsOfTask } from '../helpers/jobs.js';
import { createTask } from '../helpers/tasks.js';


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds (or fails after `timeoutMs`: a broken schedule, not a slow one). */
async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('createScheduler', () => {
  it('runs at once, then again and again, never two runs at a time', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const scheduler = createScheduler({
      intervalMs: 10,
      run: async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await sleep(25); // longer than the interval
        active -= 1;
        runs += 1;
      },
      onError: () => undefined,
    });
    scheduler.start();
    await eventually(() => runs >= 3);
    await scheduler.stop();
    expect(maxActive).toBe(1);
  });

  it('stop waits for the run in progress, and no run starts afterwards', async () => {
    let calls = 0;
    let finish: () => void = () => undefined;
    const scheduler = createScheduler({
      intervalMs: 5,
      run: () => {
        calls += 1;
        return new Promise<void>((resolve) => (finish = resolve));
      },
      onError: () => undefined,
    });
    scheduler.start();
    await eventually(() => calls === 1);
    let stopped = false;
    const stopping = scheduler.stop().then(() => (stopped = true));
    await sleep(20);
    expect(stopped).toBe(false);
    finish();
    await stopping;
    await sleep(30);
    expect(calls).toBe(1);
  });

  it('reports a run that throws and keeps to its schedule', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const scheduler = createScheduler({
      intervalMs: 5,
      run: async () => {
        calls += 1;
        if (calls === 1) throw new Error('first run fails');
      },
      onError: (error) => errors.push(error),
    });
    scheduler.start();
    await eventually(() => calls >= 3);
    await scheduler.stop();
    expect(errors).toEqual([new Error('first run fails')]);
  });
});

describe('jobs plugin', () => {
  it('does not run jobs unless JOBS_ENABLED', async () => {
    const t = await buildTestApp({ jobsIntervalSeconds: 1 }, { clock: fixedClock(NOW) });
    try {
      const dev = await createUser(t.app);
      const taskId = await createTask(t.db, { assignedTo: dev.id, deadline: minutesAfter(NOW, 30) });
      await sleep(1500);
      expect(await notificationsOfTask(t.db, taskId)).toEqual([]);
    } finally {
      await t.close();
    }
  });

  describe('with JOBS_ENABLED and a 1-second interval', () => {
    let t: TestApp;
    const logs = captureLogs('debug');
    const warnings = async (taskId: number) =>
      (await notificationsOfTask(t.db, taskId)).filter((n) => n.notification_type === 'deadline_warning').length;
    const runsLogged = () => logs.lines.filter((line) => line.includes('"msg":"scheduled jobs run"')).length;

    beforeAll(async () => {
      t = await buildTestApp({ jobsEnabled: true, jobsIntervalSeconds: 1 }, { clock: fixedClock(NOW), logger: logs.logger });
    });
    afterAll(async () => {
      await t.database.cleanup();
    });

    it('runs the jobs on its interval at the app clock, and stops when the app closes', async () => {
      const dev = await createUser(t.app);
      const first = await createTask(t.db, { assignedTo: dev.id, deadline: minutesAfter(NOW, 30) });
      await eventually(async () => (await warnings(first)) === 1);
      const second = await createTask(t.db, { assignedTo: dev.id, deadline: minutesAfter(NOW, 40) });
      await eventually(async () => (await warnings(second)) === 1);

      await t.app.close();
      const runsAtClose = runsLogged();
      const third = await createTask(t.db, { assignedTo: dev.id, deadline: minutesAfter(NOW, 50) });
      await sleep(2500);
      expect(runsLogged()).toBe(runsAtClose);
      expect(await notificationsOfTask(t.db, third)).toEqual([]);
      expect(await warnings(first)).toBe(1);
    });
  });

  describe('when every run fails (the database is closed)', () => {
    let storage: TestDatabase;
    beforeAll(async () => {
      storage = await createTestDatabase();
    });
    afterAll(async () => {
      await storage.cleanup();
    });

    it('logs each failure at error level and keeps running', async () => {
      const logs = captureLogs('debug');
      const closed = createDatabase(storage.url);
      await closed.ping(5000); // opened (Kysely does not open a pool to close it) …
      await closed.close(); // … and closed
      const app = await buildApp(testConfig({ jobsEnabled: true, jobsIntervalSeconds: 1 }), {
        database: closed,
        clock: fixedClock(NOW),
        logger: logs.logger,
      });
      await app.ready();
      const failedRuns = () =>
        logs.lines
          .map((line) => JSON.parse(line) as { level: number; msg: string; job?: string; jobs?: Record<string, string> })
          .filter((entry) => entry.msg === 'scheduled jobs run' && entry.jobs?.deadline_warnings?.startsWith('failed'));
      try {
        await eventually(() => failedRuns().length >= 2);
      } finally {
        await app.close();
      }
      const errors = logs.lines.map((line) => JSON.parse(line) as { level: number; msg: string; job?: string }).filter((e) => e.level === 50);
      expect(errors.map((e) => e.job)).toEqual(expect.arrayContaining(['deadline_warnings', 'priority_escalation', 'retention']));
      expect(errors.every((e) => e.msg.startsWith('scheduled job '))).toBe(true);
    });
  });
});
