import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, requestQueries, type TestApp } from '../helpers/app.js';
import { createTask, readTask, signIn, snapshotTasks } from '../helpers/tasks.js';

type Session = Awaited<ReturnType<typeof signIn>>;

describe('bulk status update', () => {
  let t: TestApp;
  let manager: Session;
  let dev: Session;
  let otherDev: Session;
  let auditor: Session;
  let lateDev: Session;

  beforeAll(async () => {
    t = await buildTestApp({}, { clock: fixedClock('2026-11-25T10:00:00Z') });
    manager = await signIn(t.app, { role: 'manager' });
    dev = await signIn(t.app, { role: 'developer' });
    otherDev = await signIn(t.app, { role: 'developer' });
    auditor = await signIn(t.app, { role: 'auditor' });
    lateDev = await signIn(t.app, { role: 'developer', timezone: 'Asia/Tokyo' });
  });
  afterAll(async () => {
    await t.close();
  });

  const bulk = (s: Session, payload: unknown) =>
    t.app.inject({ method: 'POST', url: '/api/tasks/bulk-update', headers: s.headers, payload: payload as object });
  const statuses = async (ids: number[]) => Promise.all(ids.map(async (id) => (await readTask(t.db, id))?.status));

  it('sets the status of every listed task and reports the count', async () => {
    const ids = [await createTask(t.db, { assignedTo: dev.user.id }), await createTask(t.db, { assignedTo: otherDev.user.id })];
    const res = await bulk(manager, { task_ids: ids, status: 'completed' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ updated_count: 2, detail: '2 tasks updated successfully.' });
    expect(await statuses(ids)).toEqual(['completed', 'completed']);
  });

  it('ignores duplicate ids', async () => {
    const a = await createTask(t.db, { assignedTo: dev.user.id });
    const b = await createTask(t.db, { assignedTo: dev.user.id });
    const res = await bulk(dev, { task_ids: [a, b, a, a], status: 'in_progress' });
    expect(res.json()).toEqual({ updated_count: 2, detail: '2 tasks updated successfully.' });
    const history = await t.db.selectFrom('task_history').select(['task_id']).where('task_id', 'in', [a, b]).execute();
    expect(history).toHaveLength(2);
  });

  it('writes a bulk_update history row for each task whose status changed', async () => {
    const changed = await createTask(t.db, { assignedTo: dev.user.id, status: 'pending' });
    const same = await createTask(t.db, { assignedTo: dev.user.id, status: 'blocked' });
    await bulk(dev, { task_ids: [changed, same], status: 'blocked' });
    const rows = await t.db
      .selectFrom('task_history')
      .select(['task_id', 'action', 'from_status', 'to_status', 'user_id', 'changes'])
      .where('task_id', 'in', [changed, same])
      .execute();
    expect(rows).toEqual([
      { task_id: changed, action: 'bulk_update', from_status: 'pending', to_status: 'blocked', user_id: dev.user.id, changes: '["status"]' },
    ]);
  });

  it('changes nothing and answers 404 naming the ids when one task does not exist', async () => {
    const a = await createTask(t.db, { assignedTo: dev.user.id });
    const before = await snapshotTasks(t.db);
    const res = await bulk(manager, { task_ids: [a, 999_998, 999_999], status: 'completed' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ detail: 'Tasks not found: 999998, 999999' });
    expect(await snapshotTasks(t.db)).toEqual(before);
  });

  it('changes nothing and answers 404 when a developer includes a task they cannot see', async () => {
    const own = await createTask(t.db, { assignedTo: dev.user.id });
    const hidden = await createTask(t.db, { assignedTo: otherDev.user.id });
    const before = await snapshotTasks(t.db);
    const res = await bulk(dev, { task_ids: [own, hidden], status: 'completed' });
    expect(res.statusCode).toBe(404);
    expect(res.json().detail).toBe(`Task not found: ${hidden}`);
    expect(await snapshotTasks(t.db)).toEqual(before);
  });

  it('changes nothing and answers 403 when one task is outside the developer\'s working hours', async () => {
    const critical = await createTask(t.db, { assignedTo: lateDev.user.id, priority: 'critical' });
    const normal = await createTask(t.db, { assignedTo: lateDev.user.id, priority: 'high' });
    const before = await snapshotTasks(t.db);
    const res = await bulk(lateDev, { task_ids: [critical, normal], status: 'completed' });
    expect(res.statusCode).toBe(403);
    expect(res.json().detail).toContain('09:00-18:00');
    expect(await snapshotTasks(t.db)).toEqual(before);
  });

  it('lets an off-hours developer bulk-update tasks that are all critical', async () => {
    const ids = [
      await createTask(t.db, { assignedTo: lateDev.user.id, priority: 'critical' }),
      await createTask(t.db, { assignedTo: lateDev.user.id, priority: 'critical' }),
    ];
    expect((await bulk(lateDev, { task_ids: ids, status: 'completed' })).statusCode).toBe(200);
    expect(await statuses(ids)).toEqual(['completed', 'completed']);
  });

  it('refuses an auditor (403) and changes nothing', async () => {
    const a = await createTask(t.db, { assignedTo: dev.user.id });
    const res = await bulk(auditor, { task_ids: [a], status: 'completed' });
    expect(res.statusCode).toBe(403);
    expect(await statuses([a])).toEqual(['pending']);
  });

  it.each([
    ['no ids', { task_ids: [], status: 'completed' }],
    ['too many ids', { task_ids: Array.from({ length: 501 }, (_, i) => i + 1), status: 'completed' }],
    ['a non-numeric string id', { task_ids: ['one'], status: 'completed' }],
    ['a string id beyond the id range', { task_ids: ['9999999999'], status: 'completed' }],
    ['a zero id', { task_ids: [0], status: 'completed' }],
    ['a fractional id', { task_ids: [1.5], status: 'completed' }],
    ['ids not in a list', { task_ids: 1, status: 'completed' }],
    ['no status', { task_ids: [1] }],
    ['an unknown status', { task_ids: [1], status: 'done' }],
    ['a non-object body', [1, 2, 3]],
  ])('answers 422 for %s', async (_label, payload) => {
    const res = await bulk(manager, payload);
    expect(res.statusCode).toBe(422);
    expect(typeof res.json().detail).toBe('string');
  });

  it('loads the tasks with one query however many ids are given', async () => {
    const make = async (n: number) => {
      const ids: number[] = [];
      for (let i = 0; i < n; i += 1) ids.push(await createTask(t.db, { assignedTo: dev.user.id }));
      return ids;
    };
    const small = await make(2);
    const large = await make(60);
    t.queries.length = 0;
    await bulk(dev, { task_ids: small, status: 'blocked' });
    const smallCount = requestQueries(t.queries).length;
    t.queries.length = 0;
    await bulk(dev, { task_ids: large, status: 'blocked' });
    expect(requestQueries(t.queries).length).toBe(smallCount);
  });
});
