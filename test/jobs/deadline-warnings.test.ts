// Deadline warnings: once per deadline per unfinished task due within the hour, even when runs overlap.
import { describe, expect, it } from 'vitest';
import type { TaskStatus } from '../../src/db/schema.js';
import { deadlineWarningKey } from '../../src/jobs/deadline-warnings.js';
import { insertNotifications } from '../../src/modules/notifications/notifications.repository.js';
import { jobColumns, jobRunner, JOBS_NOW as NOW, minutesAfter, notificationsOfTask, soleNotificationOfTask, useJobsFixture } from '../helpers/jobs.js';
import { createTask } from '../helpers/tasks.js';


describe('deadline warnings', () => {
  const f = useJobsFixture();

  const dueIn = (minutes: number, status: TaskStatus = 'in_progress') =>
    createTask(f.t.db, { assignedTo: f.dev.id, createdBy: f.manager.user.id, status, deadline: minutesAfter(NOW, minutes) });

  it('warns the assignee of a task due in 30 minutes exactly once, however often the job runs', async () => {
    const runner = jobRunner(f.t);
    const deadline = minutesAfter(NOW, 30);
    const taskId = await createTask(f.t.db, { assignedTo: f.dev.id, title: 'Ship the release', status: 'in_progress', deadline });

    const [first] = await runner.run(['deadline_warnings']);
    await runner.run(['deadline_warnings']);

    const warning = await soleNotificationOfTask(f.t.db, taskId, {
      user_id: f.dev.id,
      task_title: 'Ship the release',
      notification_type: 'deadline_warning',
      message: `Task "Ship the release" is due within the hour (at ${deadline})`,
      dedupe_key: deadlineWarningKey(taskId, deadline),
    });
    expect(Boolean(warning.read)).toBe(false);
    expect((await jobColumns(f.t.db, taskId)).warnedFor).toBe(deadline);
    expect(runner.delivered.map((n) => n.id)).toEqual([warning.id]);
    expect(first).toMatchObject({ job: 'deadline_warnings', status: 'done', summary: '1 deadline warning sent' });
  });

  it('warns once when two runs start at the same time', async () => {
    const runner = jobRunner(f.t);
    const taskId = await dueIn(20);

    const outcomes = await Promise.all([runner.run(['deadline_warnings']), runner.run(['deadline_warnings'])]);

    expect(await notificationsOfTask(f.t.db, taskId)).toHaveLength(1);
    expect(runner.delivered.filter((n) => n.task_id === taskId)).toHaveLength(1);
    for (const [outcome] of outcomes) expect(['done', 'skipped']).toContain(outcome?.status);
  });

  it.each([
    ['a completed task due in 30 minutes', 30, 'completed'],
    ['a task due in 2 hours', 120, 'pending'],
    ['a task due 10 minutes ago', -10, 'in_progress'],
    ['a task due right now', 0, 'pending'],
  ] as const)('does not warn about %s', async (_label, minutes, status) => {
    const runner = jobRunner(f.t);
    const taskId = await dueIn(minutes, status);

    await runner.run(['deadline_warnings']);

    expect(await notificationsOfTask(f.t.db, taskId)).toEqual([]);
    expect((await jobColumns(f.t.db, taskId)).warnedFor).toBeNull();
    expect(runner.delivered.filter((n) => n.task_id === taskId)).toEqual([]);
  });

  it('warns about a blocked task due in exactly one hour', async () => {
    const taskId = await dueIn(60, 'blocked');
    await jobRunner(f.t).run(['deadline_warnings']);
    expect(await notificationsOfTask(f.t.db, taskId)).toHaveLength(1);
  });

  it('warns again when the deadline is moved, once per deadline', async () => {
    const runner = jobRunner(f.t);
    const taskId = await dueIn(30);
    await runner.run(['deadline_warnings']);

    const moved = minutesAfter(NOW, 50);
    const res = await f.t.app.inject({ method: 'PATCH', url: `/api/tasks/${taskId}`, headers: f.manager.headers, payload: { deadline: moved } });
    expect(res.statusCode).toBe(200);
    await runner.run(['deadline_warnings']);
    await runner.run(['deadline_warnings']);

    const rows = await notificationsOfTask(f.t.db, taskId);
    expect(rows.map((r) => r.dedupe_key)).toEqual([
      deadlineWarningKey(taskId, minutesAfter(NOW, 30)),
      deadlineWarningKey(taskId, moved),
    ]);
    expect(rows[1]?.message).toContain(`(at ${moved})`);
    expect((await jobColumns(f.t.db, taskId)).warnedFor).toBe(moved);
  });

  it('skips a notification whose dedupe key exists already, without failing the run', async () => {
    const taskId = await dueIn(40);
    const deadline = minutesAfter(NOW, 40);
    const warning = {
      userId: f.dev.id,
      taskId,
      taskTitle: 'earlier',
      message: 'written by an overlapping run',
      type: 'deadline_warning' as const,
      dedupeKey: deadlineWarningKey(taskId, deadline),
    };
    expect(await insertNotifications(f.t.db, [warning], NOW)).toHaveLength(1);
    expect(await insertNotifications(f.t.db, [warning], NOW)).toEqual([]);

    const runner = jobRunner(f.t);
    const [outcome] = await runner.run(['deadline_warnings']);

    expect(outcome?.status).toBe('done');
    const rows = await notificationsOfTask(f.t.db, taskId);
    expect(rows.map((r) => r.message)).toEqual(['written by an overlapping run']);
    expect(runner.delivered.filter((n) => n.task_id === taskId)).toEqual([]);
    expect((await jobColumns(f.t.db, taskId)).warnedFor).toBe(deadline);
  });
});
