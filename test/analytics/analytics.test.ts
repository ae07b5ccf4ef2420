import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { efficiencyScore } from '../../src/modules/analytics/analytics.service.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTask, signIn } from '../helpers/tasks.js';

type Session = Awaited<ReturnType<typeof signIn>>;

const PAST = '2026-11-20T00:00:00.000Z';
const FUTURE = '2026-12-20T00:00:00.000Z';
const zero = { total: 0, completed: 0, pending: 0, in_progress: 0, blocked: 0, overdue: 0 };

describe('analytics', () => {
  let t: TestApp;
  let manager: Session;
  let auditor: Session;
  let alice: Session;
  let bob: Session;
  let carol: Session;

  // Computed by hand from the fixture below:
  // alice: 7 tasks, 4 completed → completion 57.142857…; timed completed tasks: est 10 + 2.5 = 12.5,
  //        actual 8 + 5 = 13 → time efficiency 96.153846…; score 0.6·57.142857 + 0.4·96.153846 = 72.747… → 72.75
  // bob:   2 tasks, 1 completed (est 1, actual 0.5 → 200 %, capped at 100) → 0.6·50 + 0.4·100 = 70
  // carol: 3 tasks, 1 completed without actual hours → completion rate only: 33.333… → 33.33
  beforeAll(async () => {
    t = await buildTestApp({}, { clock: fixedClock('2026-11-25T10:00:00Z') });
    manager = await signIn(t.app, { role: 'manager' });
    auditor = await signIn(t.app, { role: 'auditor' });
    alice = await signIn(t.app, { role: 'developer' });
    bob = await signIn(t.app, { role: 'developer' });
    carol = await signIn(t.app, { role: 'developer' });
    const a = alice.user.id;
    await createTask(t.db, { assignedTo: a, status: 'completed', estimatedHours: 10, actualHours: 8, deadline: PAST });
    await createTask(t.db, { assignedTo: a, status: 'completed', estimatedHours: 4, actualHours: 0, deadline: FUTURE });
    await createTask(t.db, { assignedTo: a, status: 'completed', estimatedHours: 6, actualHours: null, deadline: FUTURE });
    await createTask(t.db, { assignedTo: a, status: 'pending', deadline: PAST });
    await createTask(t.db, { assignedTo: a, status: 'in_progress', deadline: FUTURE });
    await createTask(t.db, { assignedTo: a, status: 'blocked', deadline: PAST });
    await createTask(t.db, { assignedTo: a, status: 'completed', estimatedHours: 2.5, actualHours: 5, deadline: FUTURE });
    await createTask(t.db, { assignedTo: bob.user.id, status: 'completed', estimatedHours: 1, actualHours: 0.5, deadline: PAST });
    await createTask(t.db, { assignedTo: bob.user.id, status: 'pending', deadline: FUTURE });
    await createTask(t.db, { assignedTo: carol.user.id, status: 'completed', estimatedHours: 3, deadline: FUTURE });
    await createTask(t.db, { assignedTo: carol.user.id, status: 'pending', deadline: FUTURE });
    await createTask(t.db, { assignedTo: carol.user.id, status: 'pending', deadline: FUTURE });
  });
  afterAll(async () => {
    await t.close();
  });

  const get = (s: Session, url = '/api/analytics') => t.app.inject({ method: 'GET', url, headers: s.headers });
  const team = { total: 12, completed: 6, pending: 4, in_progress: 1, blocked: 1, overdue: 2 };

  it('gives a developer their own counts as both my_tasks and team_tasks, with the efficiency score', async () => {
    const res = await get(alice);
    expect(res.statusCode).toBe(200);
    const mine = { total: 7, completed: 4, pending: 1, in_progress: 1, blocked: 1, overdue: 2 };
    expect(res.json()).toEqual({ my_tasks: mine, team_tasks: mine, efficiency_score: 72.75 });
  });

  it('caps time efficiency at 100', async () => {
    expect((await get(bob)).json().efficiency_score).toBe(70);
  });

  it('uses the completion rate alone when no completed task has actual hours', async () => {
    expect((await get(carol)).json().efficiency_score).toBe(33.33);
  });

  it.each(['manager', 'auditor'] as const)('gives a %s all tasks as team_tasks and a zero score without own tasks', async (role) => {
    const res = await get(role === 'manager' ? manager : auditor);
    expect(res.json()).toEqual({ my_tasks: zero, team_tasks: team, efficiency_score: 0 });
  });

  it('answers the same at the /api/tasks/analytics alias and with a trailing slash', async () => {
    const main = (await get(manager)).json();
    expect((await get(manager, '/api/tasks/analytics')).json()).toEqual(main);
    expect((await get(manager, '/api/tasks/analytics/')).json()).toEqual(main);
    expect((await get(alice, '/api/analytics/')).json().my_tasks.total).toBe(7);
  });

  it('computes with one statement per scope, from the counts the database keeps', async () => {
    t.queries.length = 0;
    await get(manager);
    // session lookup + one statement for the caller + one for the team
    expect(t.queries.length).toBeLessThanOrEqual(3);
    const stats = t.queries.filter((q) => /task_status_(counts|totals)/.test(q));
    expect(stats).toHaveLength(2);
    // The team's statement reads the totals over every assignee (migration 0013), not each assignee's counts.
    expect(stats.filter((q) => /task_status_totals/.test(q) && !/task_status_counts|task_deadline_counts/.test(q))).toHaveLength(1);
    expect(stats.every((q) => !/group by\s+"?tasks"?\./i.test(q))).toBe(true);
  });

  it('requires authentication', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/analytics' })).statusCode).toBe(401);
  });
});

describe('efficiency score formula', () => {
  const stats = (total: number, completed: number, est: number, act: number) => ({
    ...zero,
    total,
    completed,
    completedEstimatedCents: est,
    completedActualCents: act,
  });

  it('is 0 without tasks', () => {
    expect(efficiencyScore(stats(0, 0, 0, 0))).toBe(0);
  });

  it('is 100 when everything is done on or under time', () => {
    expect(efficiencyScore(stats(2, 2, 500, 400))).toBe(100);
  });

  it('rounds to two decimals', () => {
    expect(efficiencyScore(stats(3, 1, 0, 0))).toBe(33.33);
    expect(efficiencyScore(stats(3, 2, 100, 300))).toBe(53.33);
  });
});
