import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTask, readTask, signIn, snapshotTasks } from '../helpers/tasks.js';

type Session = Awaited<ReturnType<typeof signIn>>;

describe('subtasks', () => {
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

  const body = { title: 'Sub', estimated_hours: 1, deadline: '2026-12-01T00:00:00Z' };
  const post = (s: Session, payload: object) => t.app.inject({ method: 'POST', url: '/api/tasks', headers: s.headers, payload });
  const patch = (s: Session, id: number, payload: object) =>
    t.app.inject({ method: 'PATCH', url: `/api/tasks/${id}`, headers: s.headers, payload });

  it('creates a subtask under a visible parent and marks the parent is_parent', async () => {
    const parent = await createTask(t.db, { assignedTo: dev.user.id });
    const res = await post(dev, { ...body, parent_task: parent });
    expect(res.statusCode).toBe(201);
    expect(res.json().parent_task).toBe(parent);
    const parentRes = await t.app.inject({ method: 'GET', url: `/api/tasks/${parent}`, headers: dev.headers });
    expect(parentRes.json().is_parent).toBe(true);
  });

  it('answers 404 "Parent task not found" when a developer picks a parent they cannot see', async () => {
    const hidden = await createTask(t.db, { assignedTo: otherDev.user.id });
    const before = await snapshotTasks(t.db);
    const res = await post(dev, { ...body, parent_task: hidden });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ detail: 'Parent task not found' });
    expect(await snapshotTasks(t.db)).toEqual(before);

    const own = await createTask(t.db, { assignedTo: dev.user.id });
    const update = await patch(dev, own, { parent_task: hidden });
    expect(update.statusCode).toBe(404);
    expect((await readTask(t.db, own))?.parent_task_id).toBeNull();
  });

  it('lets a manager attach a subtask to any task', async () => {
    const parent = await createTask(t.db, { assignedTo: otherDev.user.id });
    const res = await post(manager, { ...body, assigned_to: dev.user.id, parent_task: parent });
    expect(res.statusCode).toBe(201);
  });

  it('refuses making a task its own parent (422)', async () => {
    const id = await createTask(t.db, { assignedTo: dev.user.id });
    const res = await patch(dev, id, { parent_task: id });
    expect(res.statusCode).toBe(422);
    expect(typeof res.json().detail).toBe('string');
    expect(res.json().errors[0].loc).toEqual(['body', 'parent_task']);
    expect((await readTask(t.db, id))?.parent_task_id).toBeNull();
  });

  it('refuses making a task the child of its grandchild (422) and changes nothing', async () => {
    const a = await createTask(t.db, { assignedTo: dev.user.id });
    const b = await createTask(t.db, { assignedTo: dev.user.id, parentTaskId: a });
    const c = await createTask(t.db, { assignedTo: dev.user.id, parentTaskId: b });
    const before = await snapshotTasks(t.db);
    for (const parent of [c, b]) {
      const res = await patch(dev, a, { parent_task: parent, title: 'cycle' });
      expect(res.statusCode).toBe(422);
    }
    expect(await snapshotTasks(t.db)).toEqual(before);
  });

  it('lets only one of two simultaneous opposite moves through, leaving no cycle', async () => {
    for (let round = 0; round < 5; round++) {
      const a = await createTask(t.db, { assignedTo: dev.user.id });
      const b = await createTask(t.db, { assignedTo: dev.user.id });
      const results = await Promise.all([patch(manager, a, { parent_task: b }), patch(manager, b, { parent_task: a })]);
      expect(results.map((r) => r.statusCode).sort()).toEqual([200, 422]);
      const parents = [(await readTask(t.db, a))?.parent_task_id, (await readTask(t.db, b))?.parent_task_id];
      expect(parents.filter((p) => p !== null)).toHaveLength(1);
    }
  });

  it('moves a subtask under another parent when no cycle results', async () => {
    const a = await createTask(t.db, { assignedTo: dev.user.id });
    const b = await createTask(t.db, { assignedTo: dev.user.id, parentTaskId: a });
    const c = await createTask(t.db, { assignedTo: dev.user.id });
    const res = await patch(dev, b, { parent_task: c });
    expect(res.statusCode).toBe(200);
    expect(res.json().parent_task).toBe(c);
    // And a grandparent may become a child of an unrelated task.
    expect((await patch(dev, a, { parent_task: c })).statusCode).toBe(200);
  });

  it('detaches a subtask with parent_task null', async () => {
    const a = await createTask(t.db, { assignedTo: dev.user.id });
    const b = await createTask(t.db, { assignedTo: dev.user.id, parentTaskId: a });
    const res = await patch(dev, b, { parent_task: null });
    expect(res.json().parent_task).toBeNull();
    const parent = await t.app.inject({ method: 'GET', url: `/api/tasks/${a}`, headers: dev.headers });
    expect(parent.json().is_parent).toBe(false);
  });

  it('keeps subtasks when their parent is deleted, through the foreign key as well', async () => {
    const a = await createTask(t.db, { assignedTo: dev.user.id });
    const b = await createTask(t.db, { assignedTo: dev.user.id, parentTaskId: a });
    // The raw foreign key alone (ON DELETE SET NULL) must also keep the child.
    await t.db.deleteFrom('tasks').where('id', '=', a).execute();
    expect((await readTask(t.db, b))?.parent_task_id).toBeNull();
  });
});
