import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, requestQueries, type TestApp } from '../helpers/app.js';
import { createTag, createTask, signIn } from '../helpers/tasks.js';

type Session = Awaited<ReturnType<typeof signIn>>;

describe('listing tasks', () => {
  let t: TestApp;
  let manager: Session;
  let auditor: Session;
  let alice: Session;
  let bob: Session;
  let tagUrgent: number;
  let tagDocs: number;
  const ids: Record<string, number> = {};

  // Fixture (now = 2026-11-25T10:00Z), created_at ascending in this order:
  //   a1 alice  pending     low       deadline 11-20 (overdue)  "Fix login bug"           [urgent]
  //   a2 alice  completed   critical  deadline 11-21 (done)     "Write docs"              [docs]
  //   a3 alice  in_progress high      deadline 12-05            "100% coverage"  (child of a1)
  //   b1 bob    blocked     medium    deadline 11-24 (overdue)  "Deploy_v2"               [urgent, docs]
  //   b2 bob    pending     high      deadline 12-10            "refactor", description "Login flow cleanup"
  beforeAll(async () => {
    t = await buildTestApp({}, { clock: fixedClock('2026-11-25T10:00:00Z') });
    manager = await signIn(t.app, { role: 'manager' });
    auditor = await signIn(t.app, { role: 'auditor' });
    alice = await signIn(t.app, { role: 'developer' });
    bob = await signIn(t.app, { role: 'developer' });
    tagUrgent = await createTag(t.db, 'urgent');
    tagDocs = await createTag(t.db, 'docs');
    const m = manager.user.id;
    ids.a1 = await createTask(t.db, {
      assignedTo: alice.user.id, createdBy: m, title: 'Fix login bug', status: 'pending', priority: 'low',
      deadline: '2026-11-20T12:00:00.000Z', createdAt: '2026-11-01T00:00:00.000Z', updatedAt: '2026-11-05T00:00:00.000Z',
      estimatedHours: 3, tags: [tagUrgent],
    });
    ids.a2 = await createTask(t.db, {
      assignedTo: alice.user.id, createdBy: alice.user.id, title: 'Write docs', status: 'completed', priority: 'critical',
      deadline: '2026-11-21T12:00:00.000Z', createdAt: '2026-11-02T00:00:00.000Z', updatedAt: '2026-11-02T00:00:00.000Z',
      estimatedHours: 1, tags: [tagDocs],
    });
    ids.a3 = await createTask(t.db, {
      assignedTo: alice.user.id, createdBy: m, title: '100% coverage', status: 'in_progress', priority: 'high',
      deadline: '2026-12-05T12:00:00.000Z', createdAt: '2026-11-03T00:00:00.000Z', updatedAt: '2026-11-09T00:00:00.000Z',
      estimatedHours: 8, parentTaskId: ids.a1,
    });
    ids.b1 = await createTask(t.db, {
      assignedTo: bob.user.id, createdBy: m, title: 'Deploy_v2', status: 'blocked', priority: 'medium',
      deadline: '2026-11-24T12:00:00.000Z', createdAt: '2026-11-04T00:00:00.000Z', updatedAt: '2026-11-04T00:00:00.000Z',
      estimatedHours: 2, tags: [tagUrgent, tagDocs],
    });
    ids.b2 = await createTask(t.db, {
      assignedTo: bob.user.id, createdBy: bob.user.id, title: 'refactor', description: 'Login flow cleanup, Élan release', status: 'pending',
      priority: 'high', deadline: '2026-12-10T12:00:00.000Z', createdAt: '2026-11-05T00:00:00.000Z',
      updatedAt: '2026-11-06T00:00:00.000Z', estimatedHours: 5,
    });
  });
  afterAll(async () => {
    await t.close();
  });

  const list = (s: Session, query = '') => t.app.inject({ method: 'GET', url: `/api/tasks${query}`, headers: s.headers });
  const names = (res: { json(): { id: number }[] }) => {
    const byId = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
    return res.json().map((task) => byId[task.id]);
  };

  it('answers a plain array, newest first, with the total in X-Total-Count', async () => {
    const res = await list(manager);
    expect(res.statusCode).toBe(200);
    expect(names(res)).toEqual(['b2', 'b1', 'a3', 'a2', 'a1']);
    expect(res.headers['x-total-count']).toBe('5');
  });

  it('answers with a trailing slash too', async () => {
    expect(names(await list(manager, '/?status=pending'))).toEqual(['b2', 'a1']);
  });

  it('shows an auditor every task', async () => {
    expect(names(await list(auditor))).toHaveLength(5);
  });

  it('shows a developer only the tasks assigned to them, and counts only those', async () => {
    const res = await list(alice);
    expect(names(res)).toEqual(['a3', 'a2', 'a1']);
    expect(res.headers['x-total-count']).toBe('3');
    // Filtering on someone else's tasks finds nothing rather than leaking them.
    const other = await list(alice, `?assigned_to=${bob.user.id}`);
    expect(other.json()).toEqual([]);
    expect(other.headers['x-total-count']).toBe('0');
  });

  it('returns full Task objects with tags and is_parent', async () => {
    const [b1] = (await list(manager, `?assigned_to=${bob.user.id}&status=blocked`)).json();
    expect(b1).toMatchObject({
      id: ids.b1,
      assigned_to_user: bob.user.username,
      created_by_user: manager.user.username,
      tags: [tagUrgent, tagDocs].sort((a, b) => a - b),
      is_parent: false,
      estimated_hours: 2,
    });
    const a1 = (await list(manager, '?parent_task=null&priority=low')).json()[0];
    expect(a1).toMatchObject({ id: ids.a1, is_parent: true, tags: [tagUrgent] });
  });

  it.each([
    ['status=pending', ['b2', 'a1']],
    ['status=completed', ['a2']],
    ['priority=high', ['b2', 'a3']],
    ['priority=critical', ['a2']],
    ['search=LOGIN', ['b2', 'a1']],
    ['search=docs', ['a2']],
    ['search=%25', ['a3']],
    ['search=_', ['b1']],
    ['search=%5C', []],
    [`search=${encodeURIComponent('éLAN')}`, ['b2']],
    ['deadline_before=2026-11-24T12:00:00Z', ['a2', 'a1']],
    ['deadline_after=2026-11-24T12:00:00Z', ['b2', 'a3']],
    ['deadline_after=2026-11-21T00:00:00%2B01:00&deadline_before=2026-12-06', ['b1', 'a3', 'a2']],
    ['overdue=true', ['b1', 'a1']],
    ['overdue=false', ['b2', 'a3', 'a2']],
    ['parent_task=null', ['b2', 'b1', 'a2', 'a1']],
  ])('filters by %s', async (query, expected) => {
    const res = await list(manager, `?${query}`);
    expect(res.statusCode).toBe(200);
    expect(names(res)).toEqual(expected);
    expect(res.headers['x-total-count']).toBe(String(expected.length));
  });

  it('filters by assignee, creator, tag and parent', async () => {
    expect(names(await list(manager, `?assigned_to=${bob.user.id}`))).toEqual(['b2', 'b1']);
    expect(names(await list(manager, `?created_by=${alice.user.id}`))).toEqual(['a2']);
    expect(names(await list(manager, `?tag=${tagUrgent}`))).toEqual(['b1', 'a1']);
    expect(names(await list(manager, `?tag=${tagDocs}&assigned_to=${bob.user.id}`))).toEqual(['b1']);
    expect(names(await list(manager, `?parent_task=${ids.a1}`))).toEqual(['a3']);
  });

  it.each([
    ['deadline', ['a1', 'a2', 'b1', 'a3', 'b2']],
    ['-deadline', ['b2', 'a3', 'b1', 'a2', 'a1']],
    ['priority', ['a1', 'b1', 'a3', 'b2', 'a2']],
    ['-priority', ['a2', 'b2', 'a3', 'b1', 'a1']],
    ['created_at', ['a1', 'a2', 'a3', 'b1', 'b2']],
    ['-created_at', ['b2', 'b1', 'a3', 'a2', 'a1']],
    ['updated_at', ['a2', 'b1', 'a1', 'b2', 'a3']],
    ['-updated_at', ['a3', 'b2', 'a1', 'b1', 'a2']],
    ['title', ['a3', 'b1', 'a1', 'b2', 'a2']],
    ['-title', ['a2', 'b2', 'a1', 'b1', 'a3']],
    ['status', ['a1', 'b2', 'a3', 'b1', 'a2']],
    ['estimated_hours', ['a2', 'b1', 'a1', 'b2', 'a3']],
    ['-estimated_hours', ['a3', 'b2', 'a1', 'b1', 'a2']],
    ['id', ['a1', 'a2', 'a3', 'b1', 'b2']],
    ['-id', ['b2', 'b1', 'a3', 'a2', 'a1']],
  ])('orders by %s', async (ordering, expected) => {
    expect(names(await list(manager, `?ordering=${ordering}`))).toEqual(expected);
  });

  it('pages with limit and offset while X-Total-Count keeps the full total', async () => {
    const first = await list(manager, '?ordering=id&limit=2');
    expect(names(first)).toEqual(['a1', 'a2']);
    expect(first.headers['x-total-count']).toBe('5');
    expect(names(await list(manager, '?ordering=id&limit=2&offset=2'))).toEqual(['a3', 'b1']);
    const past = await list(manager, '?ordering=id&limit=2&offset=10');
    expect(past.json()).toEqual([]);
    expect(past.headers['x-total-count']).toBe('5');
  });

  it('exposes X-Total-Count to browsers', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/tasks',
      headers: { ...manager.headers, origin: 'http://localhost:5173' },
    });
    expect(res.headers['access-control-expose-headers']).toContain('X-Total-Count');
  });

  it.each([
    'ordering=bogus',
    'ordering=-',
    'status=done',
    'priority=urgent',
    'assigned_to=abc',
    'assigned_to=0',
    'tag=-1',
    'parent_task=abc',
    'parent_task=0',
    'deadline_before=yesterday',
    'deadline_after=2026-02-30',
    'overdue=maybe',
    'limit=0',
    'limit=501',
    'limit=ten',
    'offset=-1',
    `search=${'x'.repeat(201)}`,
  ])('answers 422 with a string detail for %s', async (query) => {
    const res = await list(manager, `?${query}`);
    expect(res.statusCode).toBe(422);
    expect(typeof res.json().detail).toBe('string');
  });

  it('requires authentication', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/tasks' })).statusCode).toBe(401);
  });
});

describe('listing cost', () => {
  let t: TestApp;
  let manager: Session;

  beforeAll(async () => {
    t = await buildTestApp({}, { clock: fixedClock('2026-11-25T10:00:00Z') });
    manager = await signIn(t.app, { role: 'manager' });
  });
  afterAll(async () => {
    await t.close();
  });

  async function queriesFor(url: string): Promise<number> {
    t.queries.length = 0;
    const res = await t.app.inject({ method: 'GET', url, headers: manager.headers });
    expect(res.statusCode).toBe(200);
    return requestQueries(t.queries).length;
  }

  async function addTasks(count: number, tagIds: number[]) {
    const rows = Array.from({ length: count }, (_, i) => ({
      title: `Bulk ${i}`,
      description: '',
      status: 'pending' as const,
      priority: 'medium' as const,
      estimated_hours: 1,
      actual_hours: null,
      deadline: '2026-12-31T00:00:00.000Z',
      priority_escalated: false,
      assigned_to: manager.user.id,
      created_by: manager.user.id,
      parent_task_id: null,
      created_at: '2026-11-01T00:00:00.000Z',
      updated_at: '2026-11-01T00:00:00.000Z',
    }));
    const inserted: number[] = [];
    for (let i = 0; i < rows.length; i += 100) {
      const batch = await t.db.insertInto('tasks').values(rows.slice(i, i + 100)).returning('id').execute();
      inserted.push(...batch.map((r) => r.id));
    }
    const links = inserted.flatMap((id) => tagIds.map((tagId) => ({ task_id: id, tag_id: tagId })));
    for (let i = 0; i < links.length; i += 200) await t.db.insertInto('task_tags').values(links.slice(i, i + 200)).execute();
    // Every other task gets a subtask, so is_parent is true on half of them.
    for (const id of inserted.filter((_, i) => i % 2 === 0)) {
      await createTask(t.db, { assignedTo: manager.user.id, parentTaskId: id, createdAt: '2026-10-01T00:00:00.000Z' });
    }
  }

  it('uses the same number of queries for a page of 5 tasks as for a page of 500', async () => {
    const tags = [await createTag(t.db), await createTag(t.db)];
    await addTasks(5, tags);
    const small = await queriesFor('/api/tasks?limit=5');
    await addTasks(600, tags);
    const large = await queriesFor('/api/tasks?limit=500');
    expect(large).toBe(small);
    expect(small).toBeLessThanOrEqual(5);
    const res = await t.app.inject({ method: 'GET', url: '/api/tasks?limit=500', headers: manager.headers });
    expect(res.json()).toHaveLength(500);
    expect(res.json()[0].tags).toHaveLength(2);
  });
});
