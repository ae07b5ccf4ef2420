import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTag, createTask, signIn } from '../helpers/tasks.js';

type Session = Awaited<ReturnType<typeof signIn>>;

const NOW = '2026-11-25T10:00:00.000Z';

describe('task history', () => {
  let t: TestApp;
  let manager: Session;
  let dev: Session;
  let otherDev: Session;
  let auditor: Session;

  beforeAll(async () => {
    t = await buildTestApp({}, { clock: fixedClock(NOW) });
    manager = await signIn(t.app, { role: 'manager' });
    dev = await signIn(t.app, { role: 'developer' });
    otherDev = await signIn(t.app, { role: 'developer' });
    auditor = await signIn(t.app, { role: 'auditor' });
  });
  afterAll(async () => {
    await t.close();
  });

  const history = (s: Session, id: number | string) =>
    t.app.inject({ method: 'GET', url: `/api/tasks/${id}/history`, headers: s.headers });
  const patch = (s: Session, id: number, payload: object) =>
    t.app.inject({ method: 'PATCH', url: `/api/tasks/${id}`, headers: s.headers, payload });

  it('records creation, status changes, field changes and bulk updates with the acting user, oldest first', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/tasks',
      headers: manager.headers,
      payload: { title: 'Tracked', estimated_hours: 2, deadline: '2026-12-01T00:00:00Z', assigned_to: dev.user.id },
    });
    const id = created.json().id as number;
    const tag = await createTag(t.db);
    await patch(dev, id, { status: 'in_progress', title: 'Tracked!' });
    await patch(dev, id, { priority: 'high', estimated_hours: '2.00', tags: [tag] });
    await patch(dev, id, { title: 'Tracked!', status: 'in_progress' }); // no change: no row
    await t.app.inject({
      method: 'POST',
      url: '/api/tasks/bulk-update',
      headers: manager.headers,
      payload: { task_ids: [id], status: 'completed' },
    });

    const res = await history(dev, id);
    expect(res.statusCode).toBe(200);
    const rows = res.json();
    expect(rows).toEqual([
      { id: expect.any(Number), task_id: id, action: 'created', from_status: null, to_status: 'pending', changes: null, user_id: manager.user.id, timestamp: NOW },
      { id: expect.any(Number), task_id: id, action: 'status_changed', from_status: 'pending', to_status: 'in_progress', changes: ['title', 'status'], user_id: dev.user.id, timestamp: NOW },
      { id: expect.any(Number), task_id: id, action: 'updated', from_status: null, to_status: null, changes: ['priority', 'tags'], user_id: dev.user.id, timestamp: NOW },
      { id: expect.any(Number), task_id: id, action: 'bulk_update', from_status: 'in_progress', to_status: 'completed', changes: ['status'], user_id: manager.user.id, timestamp: NOW },
    ]);
    expect(rows.map((r: { id: number }) => r.id)).toEqual([...rows.map((r: { id: number }) => r.id)].sort((a, b) => a - b));
  });

  it.each([
    ['manager', 200],
    ['auditor', 200],
    ['assignee developer', 200],
    ['other developer', 404],
  ] as const)('a %s reading the history of a developer\'s task answers %i', async (who, status) => {
    const id = await createTask(t.db, { assignedTo: dev.user.id });
    const caller = { manager, auditor, 'assignee developer': dev, 'other developer': otherDev }[who];
    expect((await history(caller, id)).statusCode).toBe(status);
  });

  it('answers 404 for a missing task and 422 for a bad id', async () => {
    expect((await history(manager, 999_999)).statusCode).toBe(404);
    expect((await history(manager, 'x')).statusCode).toBe(422);
  });
});
