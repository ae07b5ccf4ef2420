import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTag, createTask, readTask, signIn, snapshotTasks } from '../helpers/tasks.js';

type Session = Awaited<ReturnType<typeof signIn>>;

const NOW = '2026-11-25T10:00:00.000Z';
const validBody = { title: 'Write the report', estimated_hours: 3, deadline: '2026-12-01T17:00:00Z' };

describe('tasks CRUD', () => {
  let t: TestApp;
  let manager: Session;
  let dev: Session;
  let otherDev: Session;
  let auditor: Session;
  /** A developer for whom 10:00Z is 19:00 (Asia/Tokyo): outside working hours. */
  let lateDev: Session;

  beforeAll(async () => {
    t = await buildTestApp({}, { clock: fixedClock(NOW) });
    manager = await signIn(t.app, { role: 'manager' });
    dev = await signIn(t.app, { role: 'developer' });
    otherDev = await signIn(t.app, { role: 'developer' });
    auditor = await signIn(t.app, { role: 'auditor' });
    lateDev = await signIn(t.app, { role: 'developer', timezone: 'Asia/Tokyo' });
  });
  afterAll(async () => {
    await t.close();
  });

  const post = (s: Session, payload: unknown) =>
    t.app.inject({ method: 'POST', url: '/api/tasks', headers: s.headers, payload: payload as object });
  const patch = (s: Session, id: number, payload: unknown) =>
    t.app.inject({ method: 'PATCH', url: `/api/tasks/${id}`, headers: s.headers, payload: payload as object });
  const get = (s: Session, id: number | string) => t.app.inject({ method: 'GET', url: `/api/tasks/${id}`, headers: s.headers });
  const del = (s: Session, id: number) => t.app.inject({ method: 'DELETE', url: `/api/tasks/${id}`, headers: s.headers });

  describe('create', () => {
    it('creates a task with defaults and answers the full Task object', async () => {
      const res = await post(dev, validBody);
      expect(res.statusCode).toBe(201);
      const task = res.json();
      expect(task).toEqual({
        id: expect.any(Number),
        title: 'Write the report',
        description: '',
        status: 'pending',
        priority: 'medium',
        estimated_hours: 3,
        actual_hours: null,
        deadline: '2026-12-01T17:00:00.000Z',
        priority_escalated: false,
        assigned_to: dev.user.id,
        assigned_to_user: dev.user.username,
        created_by: dev.user.id,
        created_by_user: dev.user.username,
        parent_task: null,
        is_parent: false,
        tags: [],
        created_at: NOW,
        updated_at: NOW,
      });
    });

    it('accepts hours as numeric strings and emits them as JSON numbers', async () => {
      const res = await post(dev, { ...validBody, estimated_hours: '8.50', actual_hours: '1.25' });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ estimated_hours: 8.5, actual_hours: 1.25 });
    });

    it('accepts ids as numeric strings, as the original service did', async () => {
      const tag = await createTag(t.db);
      const parent = await post(manager, { ...validBody, assigned_to: String(dev.user.id) });
      expect(parent.statusCode).toBe(201);
      expect(parent.json().assigned_to).toBe(dev.user.id);
      const child = await post(manager, {
        ...validBody,
        assigned_to: String(dev.user.id),
        parent_task: String(parent.json().id),
        tags: [String(tag)],
      });
      expect(child.statusCode).toBe(201);
      expect(child.json()).toMatchObject({ parent_task: parent.json().id, tags: [tag] });
    });

    it('reads a deadline with an offset or without one (as UTC) and emits UTC with Z', async () => {
      const withOffset = await post(dev, { ...validBody, deadline: '2026-12-01T22:30:00+05:30' });
      expect(withOffset.json().deadline).toBe('2026-12-01T17:00:00.000Z');
      const naive = await post(dev, { ...validBody, deadline: '2026-12-01T17:00:00' });
      expect(naive.json().deadline).toBe('2026-12-01T17:00:00.000Z');
    });

    it('lets a manager create a task for a developer, with every field', async () => {
      const tagA = await createTag(t.db);
      const tagB = await createTag(t.db);
      const res = await post(manager, {
        ...validBody,
        description: 'Quarterly numbers',
        status: 'in_progress',
        priority: 'high',
        actual_hours: 0,
        assigned_to: dev.user.id,
        tags: [tagB, tagA, tagB],
        priority_escalated: true,
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({
        description: 'Quarterly numbers',
        status: 'in_progress',
        priority: 'high',
        actual_hours: 0,
        assigned_to: dev.user.id,
        assigned_to_user: dev.user.username,
        created_by: manager.user.id,
        created_by_user: manager.user.username,
        tags: [tagA, tagB].sort((a, b) => a - b),
        priority_escalated: true,
      });
    });

    it('ignores priority_escalated from a developer', async () => {
      const res = await post(dev, { ...validBody, priority_escalated: true });
      expect(res.statusCode).toBe(201);
      expect(res.json().priority_escalated).toBe(false);
    });

    it.each([
      ['manager', 'another user', 201],
      ['developer', 'themselves', 201],
      ['developer', 'another user', 403],
      ['auditor', 'themselves', 403],
    ] as const)('a %s creating a task for %s answers %i', async (role, target, status) => {
      const caller = { manager, developer: dev, auditor }[role];
      const assignee = target === 'themselves' ? caller.user.id : otherDev.user.id;
      const before = await snapshotTasks(t.db);
      const res = await post(caller, { ...validBody, assigned_to: assignee });
      expect(res.statusCode).toBe(status);
      if (status !== 201) {
        expect(typeof res.json().detail).toBe('string');
        expect(await snapshotTasks(t.db)).toEqual(before);
      }
    });

    it('answers 404 "Assigned user not found" for an unknown assignee', async () => {
      const res = await post(manager, { ...validBody, assigned_to: 999_999 });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ detail: 'Assigned user not found' });
    });

    it('answers 404 naming the unknown tag ids and writes nothing', async () => {
      const tag = await createTag(t.db);
      const before = await snapshotTasks(t.db);
      const res = await post(manager, { ...validBody, tags: [tag, 888_888, 999_999] });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ detail: 'Tag not found: 888888, 999999' });
      expect(await snapshotTasks(t.db)).toEqual(before);
    });

    it('answers 404 "Parent task not found" for an unknown parent', async () => {
      const res = await post(manager, { ...validBody, parent_task: 999_999 });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ detail: 'Parent task not found' });
    });

    it('answers at /api/tasks/ with a trailing slash too', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/api/tasks/', headers: dev.headers, payload: validBody });
      expect(res.statusCode).toBe(201);
    });

    it('requires authentication', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/api/tasks', payload: validBody });
      expect(res.statusCode).toBe(401);
    });
  });

  describe('working hours', () => {
    it('refuses a developer creating a non-critical task outside their working hours, naming the window', async () => {
      const before = await snapshotTasks(t.db);
      const res = await post(lateDev, validBody);
      expect(res.statusCode).toBe(403);
      expect(res.json().detail).toContain('working hours (09:00-18:00 in their timezone)');
      expect(await snapshotTasks(t.db)).toEqual(before);
    });

    it('lets a developer create a critical task outside working hours', async () => {
      const res = await post(lateDev, { ...validBody, priority: 'critical' });
      expect(res.statusCode).toBe(201);
    });

    it('refuses updating and deleting a non-critical task outside working hours', async () => {
      const id = await createTask(t.db, { assignedTo: lateDev.user.id, priority: 'high' });
      const update = await patch(lateDev, id, { title: 'late' });
      expect(update.statusCode).toBe(403);
      expect(update.json().detail).toContain('09:00-18:00');
      expect((await del(lateDev, id)).statusCode).toBe(403);
      expect((await readTask(t.db, id))?.title).not.toBe('late');
    });

    it('uses the current priority: a critical task may be changed (even downgraded) outside working hours', async () => {
      const id = await createTask(t.db, { assignedTo: lateDev.user.id, priority: 'critical' });
      const res = await patch(lateDev, id, { priority: 'low', status: 'in_progress' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ priority: 'low', status: 'in_progress' });
      // Now low: a further change is off hours again.
      expect((await patch(lateDev, id, { status: 'completed' })).statusCode).toBe(403);
    });

    it('never restricts a manager by the clock', async () => {
      const late = await signIn(t.app, { role: 'manager', timezone: 'Asia/Tokyo' });
      const res = await post(late, { ...validBody, assigned_to: lateDev.user.id });
      expect(res.statusCode).toBe(201);
    });
  });

  describe('read', () => {
    it.each([
      ['manager', 200],
      ['auditor', 200],
      ['assignee developer', 200],
      ['other developer', 404],
    ] as const)('a %s reading a developer\'s task answers %i', async (who, status) => {
      const id = await createTask(t.db, { assignedTo: dev.user.id });
      const caller = { manager, auditor, 'assignee developer': dev, 'other developer': otherDev }[who];
      const res = await get(caller, id);
      expect(res.statusCode).toBe(status);
      if (status === 200) expect(res.json().id).toBe(id);
      else expect(res.json()).toEqual({ detail: 'Task not found' });
    });

    it('answers 404 for a task that does not exist', async () => {
      expect((await get(manager, 999_999)).statusCode).toBe(404);
    });

    it.each(['abc', '0', '-1', '1.5', '99999999999'])('answers 422 for the id %j', async (id) => {
      const res = await get(manager, id);
      expect(res.statusCode).toBe(422);
      expect(typeof res.json().detail).toBe('string');
    });
  });

  describe('update', () => {
    it('changes only the fields sent and bumps updated_at', async () => {
      const id = await createTask(t.db, { assignedTo: dev.user.id, title: 'Old', description: 'keep', priority: 'low' });
      const res = await patch(dev, id, { title: 'New' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id, title: 'New', description: 'keep', priority: 'low', updated_at: NOW });
    });

    it('accepts the full Task object sent back, ignoring read-only fields even with odd types', async () => {
      const created = (await post(dev, { ...validBody, actual_hours: 1 })).json();
      const res = await patch(dev, created.id, {
        ...created,
        estimated_hours: '4.00',
        title: 'Round trip',
        id: 'not-an-id',
        is_parent: 'yes',
        assigned_to_user: 42,
        created_at: 'whenever',
        created_by: 'someone',
        updated_at: null,
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: created.id, title: 'Round trip', estimated_hours: 4, created_by: dev.user.id });
    });

    it('clears description, actual_hours and parent_task with null', async () => {
      const parent = await createTask(t.db, { assignedTo: dev.user.id });
      const id = await createTask(t.db, { assignedTo: dev.user.id, description: 'text', actualHours: 2, parentTaskId: parent });
      const res = await patch(dev, id, { description: null, actual_hours: null, parent_task: null });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ description: '', actual_hours: null, parent_task: null });
    });

    it('clears the description with an empty string', async () => {
      const id = await createTask(t.db, { assignedTo: dev.user.id, description: 'text' });
      expect((await patch(dev, id, { description: '' })).json().description).toBe('');
    });

    it('refuses a developer reassigning their task (403) and changes nothing', async () => {
      const id = await createTask(t.db, { assignedTo: dev.user.id, title: 'Mine' });
      const res = await patch(dev, id, { assigned_to: otherDev.user.id, title: 'Stolen' });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({ detail: 'Developers cannot reassign tasks' });
      expect(await readTask(t.db, id)).toMatchObject({ assigned_to: dev.user.id, title: 'Mine' });
    });

    it('lets a developer send their own assigned_to back unchanged', async () => {
      const id = await createTask(t.db, { assignedTo: dev.user.id });
      expect((await patch(dev, id, { assigned_to: dev.user.id, status: 'in_progress' })).statusCode).toBe(200);
    });

    it('lets a manager reassign a task', async () => {
      const id = await createTask(t.db, { assignedTo: dev.user.id });
      const res = await patch(manager, id, { assigned_to: otherDev.user.id });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ assigned_to: otherDev.user.id, assigned_to_user: otherDev.user.username });
    });

    it('answers 404 "Assigned user not found" when reassigning to an unknown user', async () => {
      const id = await createTask(t.db, { assignedTo: dev.user.id });
      const res = await patch(manager, id, { assigned_to: 999_999 });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ detail: 'Assigned user not found' });
    });

    it.each([
      ['manager', 200],
      ['auditor', 403],
      ['assignee developer', 200],
      ['other developer', 404],
    ] as const)('a %s updating a developer\'s task answers %i', async (who, status) => {
      const id = await createTask(t.db, { assignedTo: dev.user.id, title: 'Before' });
      const caller = { manager, auditor, 'assignee developer': dev, 'other developer': otherDev }[who];
      const res = await patch(caller, id, { title: 'After' });
      expect(res.statusCode).toBe(status);
      expect((await readTask(t.db, id))?.title).toBe(status === 200 ? 'After' : 'Before');
    });

    it('replaces the tags, ignoring duplicates', async () => {
      const [a, b, c] = [await createTag(t.db), await createTag(t.db), await createTag(t.db)];
      const id = await createTask(t.db, { assignedTo: dev.user.id, tags: [a, b] });
      const res = await patch(dev, id, { tags: [c, b, c] });
      expect(res.json().tags).toEqual([b, c].sort((x, y) => x - y));
      expect((await patch(dev, id, { tags: [] })).json().tags).toEqual([]);
    });

    it('lets a manager set priority_escalated and ignores it from a developer', async () => {
      const id = await createTask(t.db, { assignedTo: dev.user.id });
      expect((await patch(dev, id, { priority_escalated: true })).json().priority_escalated).toBe(false);
      expect((await patch(manager, id, { priority_escalated: true })).json().priority_escalated).toBe(true);
    });

    it('re-arms escalation when the deadline moves later', async () => {
      const id = await createTask(t.db, { assignedTo: dev.user.id, priorityEscalated: true, deadline: '2026-11-26T10:00:00.000Z' });
      const res = await patch(dev, id, { deadline: '2026-11-30T10:00:00Z' });
      expect(res.json()).toMatchObject({ deadline: '2026-11-30T10:00:00.000Z', priority_escalated: false });
    });

    it('answers 404 for a missing task', async () => {
      expect((await patch(manager, 999_999, { title: 'x' })).statusCode).toBe(404);
    });
  });

  describe('delete', () => {
    it.each([
      ['manager', 204],
      ['auditor', 403],
      ['assignee developer', 204],
      ['other developer', 404],
    ] as const)('a %s deleting a developer\'s task answers %i', async (who, status) => {
      const id = await createTask(t.db, { assignedTo: dev.user.id });
      const caller = { manager, auditor, 'assignee developer': dev, 'other developer': otherDev }[who];
      const res = await del(caller, id);
      expect(res.statusCode).toBe(status);
      if (status === 204) expect(res.body).toBe('');
      expect(await readTask(t.db, id)).toEqual(status === 204 ? undefined : expect.objectContaining({ id }));
    });

    it('keeps the subtasks of a deleted task, detached', async () => {
      const parent = await createTask(t.db, { assignedTo: dev.user.id });
      const child = await createTask(t.db, { assignedTo: dev.user.id, parentTaskId: parent });
      const tag = await createTag(t.db);
      await t.db.insertInto('task_tags').values({ task_id: parent, tag_id: tag }).execute();
      expect((await get(dev, parent)).json().is_parent).toBe(true);
      expect((await del(dev, parent)).statusCode).toBe(204);
      expect((await get(dev, parent)).statusCode).toBe(404);
      const res = await get(dev, child);
      expect(res.statusCode).toBe(200);
      expect(res.json().parent_task).toBeNull();
    });

    it('answers 404 for a missing task and 422 for a bad id', async () => {
      expect((await del(manager, 999_999)).statusCode).toBe(404);
      const bad = await t.app.inject({ method: 'DELETE', url: '/api/tasks/abc', headers: manager.headers });
      expect(bad.statusCode).toBe(422);
    });
  });
});
