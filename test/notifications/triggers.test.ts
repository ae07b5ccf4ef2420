// Which task changes notify whom (§7): assignment, reassignment and status changes from create, PATCH
// and bulk update, never for the actor's own action, written in the change's transaction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTask, signIn } from '../helpers/tasks.js';

type Session = Awaited<ReturnType<typeof signIn>>;

describe('notification triggers', () => {
  let t: TestApp;
  let manager: Session;
  let dev: Session;
  let otherDev: Session;

  beforeAll(async () => {
    t = await buildTestApp({}, { clock: fixedClock('2026-11-25T10:00:00Z') });
    manager = await signIn(t.app, { role: 'manager' });
    dev = await signIn(t.app, { role: 'developer' });
    otherDev = await signIn(t.app, { role: 'developer' });
  });
  afterAll(async () => {
    await t.close();
  });

  /** Every notification row, oldest first. */
  const rowsFor = (userId: number) =>
    t.db
      .selectFrom('notifications')
      .select(['user_id', 'task_id', 'task_title', 'notification_type', 'message', 'read', 'is_delivered'])
      .where('user_id', '=', userId)
      .orderBy('id')
      .execute();
  const countAll = async () => Number((await t.db.selectFrom('notifications').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  const newTask = { title: 'Write the report', estimated_hours: 3, deadline: '2026-12-20T12:00:00Z' };

  it('tells the assignee when a manager creates a task for them', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/tasks', headers: manager.headers, payload: { ...newTask, assigned_to: dev.user.id } });
    expect(res.statusCode).toBe(201);
    const rows = await rowsFor(dev.user.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      task_id: res.json().id,
      task_title: 'Write the report',
      notification_type: 'task_assigned',
      message: 'You have been assigned to task "Write the report"',
    });
    expect(Boolean(rows[0]?.read)).toBe(false);
    expect(Boolean(rows[0]?.is_delivered)).toBe(false);
    expect(await rowsFor(manager.user.id)).toHaveLength(0);
  });

  it('does not notify a developer of the task they created for themselves, nor a manager of their own', async () => {
    const before = await countAll();
    expect((await t.app.inject({ method: 'POST', url: '/api/tasks', headers: dev.headers, payload: newTask })).statusCode).toBe(201);
    const own = await t.app.inject({ method: 'POST', url: '/api/tasks', headers: manager.headers, payload: newTask });
    expect(own.statusCode).toBe(201);
    expect(await countAll()).toBe(before);
  });

  it('tells the new assignee and the previous one on reassignment', async () => {
    const taskId = await createTask(t.db, { assignedTo: dev.user.id, createdBy: manager.user.id, title: 'Move me' });
    const res = await t.app.inject({ method: 'PATCH', url: `/api/tasks/${taskId}`, headers: manager.headers, payload: { assigned_to: otherDev.user.id } });
    expect(res.statusCode).toBe(200);
    expect((await rowsFor(otherDev.user.id)).filter((n) => n.task_id === taskId)).toEqual([
      expect.objectContaining({ notification_type: 'task_assigned', task_title: 'Move me' }),
    ]);
    expect((await rowsFor(dev.user.id)).filter((n) => n.task_id === taskId)).toEqual([
      expect.objectContaining({ notification_type: 'task_unassigned', message: 'You are no longer assigned to task "Move me"' }),
    ]);
  });

  it('tells the assignee of a status change made by someone else, naming both statuses', async () => {
    const taskId = await createTask(t.db, { assignedTo: dev.user.id, createdBy: manager.user.id, title: 'Status' });
    const res = await t.app.inject({ method: 'PATCH', url: `/api/tasks/${taskId}/`, headers: manager.headers, payload: { status: 'in_progress' } });
    expect(res.statusCode).toBe(200);
    expect((await rowsFor(dev.user.id)).filter((n) => n.task_id === taskId)).toEqual([
      expect.objectContaining({ notification_type: 'status_change', message: 'Task "Status" changed from pending to in progress' }),
    ]);
  });

  it('does not notify the assignee of their own status change, nor anyone of a PATCH that changes nothing', async () => {
    const taskId = await createTask(t.db, { assignedTo: dev.user.id, createdBy: manager.user.id });
    const before = await countAll();
    expect((await t.app.inject({ method: 'PATCH', url: `/api/tasks/${taskId}`, headers: dev.headers, payload: { status: 'completed' } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'PATCH', url: `/api/tasks/${taskId}`, headers: manager.headers, payload: { status: 'completed' } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'PATCH', url: `/api/tasks/${taskId}`, headers: manager.headers, payload: { title: 'Renamed' } })).statusCode).toBe(200);
    expect(await countAll()).toBe(before);
  });

  it('notifies each assignee of a bulk update once per task whose status changed, and not the actor', async () => {
    const a = await createTask(t.db, { assignedTo: dev.user.id, createdBy: manager.user.id });
    const b = await createTask(t.db, { assignedTo: otherDev.user.id, createdBy: manager.user.id });
    const unchanged = await createTask(t.db, { assignedTo: dev.user.id, createdBy: manager.user.id, status: 'blocked' });
    const mine = await createTask(t.db, { assignedTo: manager.user.id });
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/tasks/bulk-update/',
      headers: manager.headers,
      payload: { task_ids: [a, b, unchanged, mine], status: 'blocked' },
    });
    expect(res.statusCode).toBe(200);
    const byTask = async (userId: number, taskId: number) => (await rowsFor(userId)).filter((n) => n.task_id === taskId);
    expect(await byTask(dev.user.id, a)).toEqual([expect.objectContaining({ notification_type: 'status_change' })]);
    expect(await byTask(otherDev.user.id, b)).toEqual([expect.objectContaining({ notification_type: 'status_change' })]);
    expect(await byTask(dev.user.id, unchanged)).toEqual([]);
    expect(await byTask(manager.user.id, mine)).toEqual([]);
  });

  it('writes no notification when the change is refused (same transaction)', async () => {
    const a = await createTask(t.db, { assignedTo: dev.user.id, createdBy: manager.user.id });
    const before = await countAll();
    const bulk = await t.app.inject({
      method: 'POST',
      url: '/api/tasks/bulk-update',
      headers: manager.headers,
      payload: { task_ids: [a, 999_999], status: 'completed' },
    });
    expect(bulk.statusCode).toBe(404);
    const patch = await t.app.inject({ method: 'PATCH', url: `/api/tasks/${a}`, headers: manager.headers, payload: { assigned_to: 999_999, status: 'completed' } });
    expect(patch.statusCode).toBe(404);
    expect(await countAll()).toBe(before);
  });

  it('keeps a notification when its task is deleted, with task_id null and the title it had', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/tasks', headers: manager.headers, payload: { ...newTask, title: 'Soon gone', assigned_to: otherDev.user.id } });
    const taskId = res.json().id as number;
    expect((await t.app.inject({ method: 'DELETE', url: `/api/tasks/${taskId}`, headers: manager.headers })).statusCode).toBe(204);
    const list = await t.app.inject({ method: 'GET', url: '/api/notifications', headers: otherDev.headers });
    expect(list.json().find((n: { task_title: string }) => n.task_title === 'Soon gone')).toMatchObject({ task_id: null, task: null });
  });
});
