// The job runner: every job in its own transaction and lock, notifications delivered after the
// commit, failures logged and contained, retention as configured.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withJobLock } from '../../src/db/locks.js';
import { JOB_NAMES, type JobLogger } from '../../src/jobs/runner.js';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { jobRunner, JOBS_NOW as NOW, minutesAfter, notificationsOfTask } from '../helpers/jobs.js';
import { createTask } from '../helpers/tasks.js';

const DAY = 24 * 60;

function recordingLog() {
  const entries: Array<{ level: 'debug' | 'error'; details: Record<string, unknown>; message: string }> = [];
  const log: JobLogger = {
    debug: (details, message) => entries.push({ level: 'debug', details: details as Record<string, unknown>, message }),
    error: (details, message) => entries.push({ level: 'error', details: details as Record<string, unknown>, message }),
  };
  return { log, entries };
}

describe('job runner', () => {
  let t: TestApp;
  let dev: TestUser;

  beforeAll(async () => {
    t = await buildTestApp({}, { clock: fixedClock(NOW) });
    dev = await createUser(t.app, { role: 'developer' });
  });
  afterAll(async () => {
    await t.close();
  });

  const warningsOf = async (taskId: number) =>
    (await notificationsOfTask(t.db, taskId)).filter((n) => n.notification_type === 'deadline_warning').length;

  it("hands each job's notifications to deliver once its transaction has committed", async () => {
    const warned = await createTask(t.db, { assignedTo: dev.id, priority: 'critical', deadline: minutesAfter(NOW, 30) });
    const escalated = await createTask(t.db, { assignedTo: dev.id, priority: 'low', deadline: minutesAfter(NOW, 3 * 60) });
    // The last statement on the connection when deliver is called: the commit of that job's transaction.
    const lastStatementAtDelivery: string[] = [];
    const runner = jobRunner(t);
    const record = runner.deps.deliver;
    runner.deps.deliver = (notifications) => {
      lastStatementAtDelivery.push(t.queries.at(-1) ?? '');
      record(notifications);
    };

    const outcomes = await runner.run();

    expect(outcomes.map((o) => [o.job, o.status])).toEqual(JOB_NAMES.map((job) => [job, 'done']));
    expect(lastStatementAtDelivery).toEqual(['commit', 'commit']);
    expect(runner.delivered.map((n) => [n.task_id, n.notification_type])).toEqual([
      [warned, 'deadline_warning'],
      [escalated, 'priority_escalated'],
    ]);
    const stored = [...(await notificationsOfTask(t.db, warned)), ...(await notificationsOfTask(t.db, escalated))];
    expect(runner.delivered.map((n) => n.id)).toEqual(stored.map((n) => n.id));
    expect(runner.delivered.every((n) => !n.read && !n.is_delivered && n.created_at === NOW)).toBe(true);
  });

  it('logs a failing job at error level, rolls it back, and still runs the others', async () => {
    const taskId = await createTask(t.db, { assignedTo: dev.id, deadline: minutesAfter(NOW, 45) });
    const { log, entries } = recordingLog();
    // An impossible retention period makes the retention job throw inside its transaction.
    const runner = jobRunner(t, { log, config: { ...t.config, auditRetentionDays: Number.NaN } });

    const outcomes = await runner.run(['retention', 'deadline_warnings']);

    expect(outcomes.map((o) => [o.job, o.status])).toEqual([
      ['retention', 'failed'],
      ['deadline_warnings', 'done'],
    ]);
    expect(await warningsOf(taskId)).toBe(1);
    const errors = entries.filter((e) => e.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.details).toMatchObject({ job: 'retention', err: expect.any(RangeError) });
    const summary = entries.find((e) => e.level === 'debug' && e.message === 'scheduled jobs run');
    expect(summary?.details.jobs).toEqual({
      retention: expect.stringMatching(/^failed: /),
      deadline_warnings: 'done: 1 deadline warning sent',
    });
  });

  it('keeps going when deliver throws: the notifications stay stored, the error is logged', async () => {
    const taskId = await createTask(t.db, { assignedTo: dev.id, deadline: minutesAfter(NOW, 50) });
    const { log, entries } = recordingLog();
    const runner = jobRunner(t, {
      log,
      deliver: () => {
        throw new Error('bus down');
      },
    });

    const outcomes = await runner.run(['deadline_warnings', 'retention']);

    expect(outcomes.map((o) => o.status)).toEqual(['done', 'done']);
    expect(await warningsOf(taskId)).toBe(1);
    expect(entries.filter((e) => e.level === 'error').map((e) => e.details.job)).toEqual(['deadline_warnings']);
  });

  it.runIf(process.env.TEST_DATABASE_URL)('skips a job while another instance holds its lock (PostgreSQL)', async () => {
    const taskId = await createTask(t.db, { assignedTo: dev.id, deadline: minutesAfter(NOW, 55) });
    const runner = jobRunner(t);

    const held = await withJobLock(t.db, 'deadline_warnings', () => runner.run(['deadline_warnings', 'priority_escalation']));

    expect(held.acquired).toBe(true);
    expect(held.acquired && held.value.map((o) => [o.job, o.status])).toEqual([
      ['deadline_warnings', 'skipped'],
      ['priority_escalation', 'done'],
    ]);
    expect(await warningsOf(taskId)).toBe(0);
    await runner.run(['deadline_warnings']);
    expect(await warningsOf(taskId)).toBe(1);
  });

  it.runIf(process.env.TEST_DATABASE_URL)('holds a job lock for its own schema only: another dataset in the same database runs the job meanwhile', async () => {
    const other = await createTestDatabase();
    try {
      const held = await withJobLock(t.db, 'deadline_warnings', () => withJobLock(other.handle.db, 'deadline_warnings', async () => 'ran'));
      expect(held).toEqual({ acquired: true, value: { acquired: true, value: 'ran' } });
    } finally {
      await other.cleanup();
    }
  });

  it('retention deletes what has outlived its use, by the configured periods, and keeps the rest', async () => {
    const now = new Date(NOW).getTime();
    const ago = (minutes: number) => new Date(now - minutes * 60_000).toISOString();
    const inFuture = (minutes: number) => new Date(now + minutes * 60_000).toISOString();
    const session = (label: string, expires: string, revoked: string | null) => ({
      user_id: dev.id,
      refresh_token_hash: label,
      device_id: label,
      created_at: ago(3 * DAY),
      last_used: ago(DAY),
      expires_at: expires,
      revoked_at: revoked,
    });
    await t.db
      .insertInto('user_sessions')
      .values([
        session('expired', ago(1), null),
        session('revoked-2-days-ago', inFuture(DAY), ago(2 * DAY)),
        // Kept a day after revocation, so a replayed refresh token is still recognised.
        session('revoked-12-hours-ago', inFuture(DAY), ago(12 * 60)),
        session('live', inFuture(DAY), null),
      ])
      .execute();
    const audit = (minutesAgo: number) => ({
      user_id: null,
      endpoint: `/api/x/${minutesAgo}`,
      method: 'GET',
      status_code: 200,
      duration_ms: 1,
      timestamp: ago(minutesAgo),
    });
    await t.db.insertInto('api_audit_logs').values([audit(8 * DAY), audit(6 * DAY)]).execute();
    const notification = (label: string, read: boolean, minutesAgo: number) => ({
      user_id: dev.id,
      task_id: null,
      task_title: label,
      message: label,
      notification_type: 'status_change' as const,
      read,
      is_delivered: true,
      created_at: ago(minutesAgo),
    });
    await t.db
      .insertInto('notifications')
      .values([
        notification('read-31-days', true, 31 * DAY),
        notification('unread-31-days', false, 31 * DAY),
        notification('read-29-days', true, 29 * DAY),
      ])
      .execute();

    const [outcome] = await jobRunner(t, { config: { ...t.config, auditRetentionDays: 7 } }).run(['retention']);

    expect(outcome).toMatchObject({
      status: 'done',
      summary: 'removed 2 sessions, 0 verification tokens, 0 reset and invitation tokens, 1 audit rows, 1 read notifications, 0 webhook deliveries',
    });
    const sessions = await t.db.selectFrom('user_sessions').select('device_id').orderBy('id').execute();
    expect(sessions.map((s) => s.device_id)).toEqual(['revoked-12-hours-ago', 'live']);
    const audits = await t.db.selectFrom('api_audit_logs').select('endpoint').execute();
    expect(audits.map((a) => a.endpoint)).toEqual([`/api/x/${6 * DAY}`]);
    const kept = await t.db.selectFrom('notifications').select('task_title').where('task_id', 'is', null).orderBy('id').execute();
    expect(kept.map((n) => n.task_title)).toEqual(['unread-31-days', 'read-29-days']);
  });
});
