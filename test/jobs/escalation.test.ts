// Priority escalation: an unfinished task due within 24 hours rises one step, once, until its
// deadline is moved later.
import { describe, expect, it } from 'vitest';
import type { TaskPriority, TaskStatus } from '../../src/db/schema.js';
import { jobColumns, jobRunner, JOBS_NOW as NOW, minutesAfter, notificationsOfTask, soleNotificationOfTask, useJobsFixture } from '../helpers/jobs.js';
import { createTask } from '../helpers/tasks.js';

const HOUR = 60;

describe('priority escalation', () => {
  const f = useJobsFixture();

  const task = (options: { hours: number; priority?: TaskPriority; status?: TaskStatus; escalated?: boolean; title?: string }) =>
    createTask(f.t.db, {
      assignedTo: f.dev.id,
      createdBy: f.manager.user.id,
      title: options.title,
      status: options.status ?? 'pending',
      priority: options.priority ?? 'low',
      priorityEscalated: options.escalated ?? false,
      deadline: minutesAfter(NOW, options.hours * HOUR),
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
  const history = async (taskId: number) => {
    const res = await f.t.app.inject({ method: 'GET', url: `/api/tasks/${taskId}/history`, headers: f.manager.headers });
    expect(res.statusCode).toBe(200);
    return res.json() as Array<Record<string, unknown>>;
  };
  const escalate = () => jobRunner(f.t).run(['priority_escalation']);

  it('raises a task due in 10 hours one step, flags it, records it and notifies the assignee; a second run changes nothing', async () => {
    const runner = jobRunner(f.t);
    const taskId = await task({ hours: 10, title: 'Quarterly report' });

    const [outcome] = await runner.run(['priority_escalation']);
    const afterFirst = await jobColumns(f.t.db, taskId);
    await runner.run(['priority_escalation']);

    expect(outcome).toMatchObject({ status: 'done', summary: '1 task escalated' });
    expect(afterFirst).toMatchObject({ priority: 'medium', escalated: true, updatedAt: NOW });
    expect(await jobColumns(f.t.db, taskId)).toEqual(afterFirst);
    const notification = await soleNotificationOfTask(f.t.db, taskId, {
      user_id: f.dev.id,
      notification_type: 'priority_escalated',
      task_title: 'Quarterly report',
      message: `Task "Quarterly report" is due within 24 hours (at ${minutesAfter(NOW, 10 * HOUR)}): priority raised from low to medium`,
    });
    expect(runner.delivered.map((n) => n.id)).toEqual([notification.id]);
    expect(await history(taskId)).toEqual([
      {
        id: expect.any(Number),
        task_id: taskId,
        action: 'priority_escalated',
        from_status: null,
        to_status: null,
        changes: ['priority', 'priority_escalated'],
        user_id: null,
        timestamp: NOW,
      },
    ]);
  });

  it.each([
    ['low', 'medium'],
    ['medium', 'high'],
    ['high', 'critical'],
  ] as const)('raises %s to %s', async (from, to) => {
    const taskId = await task({ hours: 23, priority: from });
    await escalate();
    expect(await jobColumns(f.t.db, taskId)).toMatchObject({ priority: to, escalated: true });
    expect((await notificationsOfTask(f.t.db, taskId)).map((n) => n.message)).toEqual([
      expect.stringContaining(`priority raised from ${from} to ${to}`),
    ]);
  });

  it.each([
    ['due in 30 hours', { hours: 30 }],
    ['completed', { hours: 10, status: 'completed' as const }],
    ['already past its deadline', { hours: -1 }],
    ['already escalated', { hours: 10, escalated: true }],
    // Critical has no step left: the task is left exactly as it is, flag included, and nobody is told.
    ['already critical', { hours: 10, priority: 'critical' as const }],
  ])('leaves a task %s alone: no change, no history, no notification', async (_label, options) => {
    const taskId = await task(options);
    const before = await jobColumns(f.t.db, taskId);
    await escalate();
    expect(await jobColumns(f.t.db, taskId)).toEqual(before);
    expect(await history(taskId)).toEqual([]);
    expect(await notificationsOfTask(f.t.db, taskId)).toEqual([]);
  });

  it('escalates once when two runs start at the same time', async () => {
    const runner = jobRunner(f.t);
    const taskId = await task({ hours: 5 });

    await Promise.all([runner.run(['priority_escalation']), runner.run(['priority_escalation'])]);

    expect(await jobColumns(f.t.db, taskId)).toMatchObject({ priority: 'medium', escalated: true });
    expect(await history(taskId)).toHaveLength(1);
    expect(await notificationsOfTask(f.t.db, taskId)).toHaveLength(1);
    expect(runner.delivered.filter((n) => n.task_id === taskId)).toHaveLength(1);
  });

  it('escalates again after the deadline is moved later through PATCH, but not after it is moved earlier', async () => {
    const taskId = await task({ hours: 10 });
    await escalate();
    const patch = (hours: number) =>
      f.t.app.inject({
        method: 'PATCH',
        url: `/api/tasks/${taskId}`,
        headers: f.manager.headers,
        payload: { deadline: minutesAfter(NOW, hours * HOUR) },
      });

    expect((await patch(20)).statusCode).toBe(200);
    expect(await jobColumns(f.t.db, taskId)).toMatchObject({ priority: 'medium', escalated: false });
    await escalate();
    expect(await jobColumns(f.t.db, taskId)).toMatchObject({ priority: 'high', escalated: true });

    expect((await patch(15)).statusCode).toBe(200);
    await escalate();
    expect(await jobColumns(f.t.db, taskId)).toMatchObject({ priority: 'high', escalated: true });

    const escalations = (await history(taskId)).filter((h) => h.action === 'priority_escalated');
    expect(escalations).toHaveLength(2);
    expect((await notificationsOfTask(f.t.db, taskId)).map((n) => n.message)).toEqual([
      expect.stringContaining('from low to medium'),
      expect.stringContaining('from medium to high'),
    ]);
  });
});
