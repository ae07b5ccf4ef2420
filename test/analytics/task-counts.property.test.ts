// The counts the database keeps (migration 0011) against a full scan of the tasks: after random
// sequences of writes — through the API (create, PATCH of status, hours, deadline and assignee,
// bulk update, delete) and straight through the repositories (multi-row reassignments, deadline
// moves and deletes) — analytics and the task totals equal what the tasks themselves say, at clock
// times around every deadline (overdue changes with time alone). On PostgreSQL some writes happen
// while another session holds the counts' lock, so that they go through the delta tables and a
// later write folds them.
import fc from 'fast-check';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTS_LOCK_CLASS } from '../../src/db/migrations/0011_task_counts.js';
import type { TaskStatus } from '../../src/db/schema.js';
import { fixedClock } from '../../src/lib/clock.js';
import { taskStats, type TaskStats } from '../../src/modules/analytics/analytics.repository.js';
import { countTasks } from '../../src/modules/tasks/task-counts.js';
import { deleteTask, updateTasksStatus } from '../../src/modules/tasks/tasks.repository.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { testDatabaseUrl } from '../helpers/database.js';
import { signIn, type Session } from '../helpers/tasks.js';

const BASE = Date.parse('2026-11-25T10:00:00.000Z');
const DAY = 86_400_000;
const STATUSES: TaskStatus[] = ['pending', 'in_progress', 'blocked', 'completed'];
const ESTIMATED = [0.25, 1, 2.5, 7.75, 12.3, 9999.99];
const ACTUAL = [null, 0, 0.01, 1.5, 3, 8.33];

/** Instants around BASE that fall on and next to UTC midnights, and in between. */
const instant = fc
  .record({
    day: fc.integer({ min: -2, max: 2 }),
    time: fc.oneof(
      fc.constantFrom(0, 1, DAY - 1, 10 * 3_600_000, 10 * 3_600_000 + 1, 10 * 3_600_000 - 1),
      fc.integer({ min: 0, max: DAY - 1 }),
    ),
  })
  .map(({ day, time }) => new Date(Date.UTC(2026, 10, 25 + day) + time).toISOString());

type Op =
  | { kind: 'create'; assignee: number; status: TaskStatus; estimated: number; actual: number | null; deadline: string }
  | { kind: 'patch'; task: number; changes: { status?: TaskStatus; estimated_hours?: number; actual_hours?: number | null; deadline?: string; assignee?: number } }
  | { kind: 'bulk'; tasks: number[]; status: TaskStatus }
  | { kind: 'delete'; task: number }
  | { kind: 'reassign'; tasks: number[]; assignee: number }
  | { kind: 'move'; tasks: number[]; deadline: string }
  | { kind: 'statuses'; tasks: number[]; status: TaskStatus }
  | { kind: 'deleteMany'; tasks: number[] }
  | { kind: 'contend'; hold: boolean };

const status = fc.constantFrom(...STATUSES);
const some = fc.array(fc.nat(), { minLength: 1, maxLength: 6 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('create' as const), assignee: fc.nat(), status, estimated: fc.constantFrom(...ESTIMATED), actual: fc.constantFrom(...ACTUAL), deadline: instant }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('patch' as const),
      task: fc.nat(),
      changes: fc.record(
        { status, estimated_hours: fc.constantFrom(...ESTIMATED), actual_hours: fc.constantFrom(...ACTUAL), deadline: instant, assignee: fc.nat() },
        { requiredKeys: [] },
      ),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('bulk' as const), tasks: some, status }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), task: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reassign' as const), tasks: some, assignee: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('move' as const), tasks: some, deadline: instant }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('statuses' as const), tasks: some, status }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteMany' as const), tasks: some }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('contend' as const), hold: fc.boolean() }) },
);

interface TaskRow {
  assigned_to: number;
  status: TaskStatus;
  estimated_hours: number;
  actual_hours: number | null;
  deadline: string;
}

/** The statistics computed from the tasks themselves, as the contract defines them. */
function fullScan(tasks: readonly TaskRow[], assignedTo: number | undefined, now: string): TaskStats {
  const stats: TaskStats = { total: 0, completed: 0, pending: 0, in_progress: 0, blocked: 0, overdue: 0, completedEstimatedCents: 0, completedActualCents: 0 };
  for (const task of tasks) {
    if (assignedTo !== undefined && task.assigned_to !== assignedTo) continue;
    stats.total += 1;
    stats[task.status] += 1;
    if (task.status !== 'completed' && Date.parse(task.deadline) < Date.parse(now)) stats.overdue += 1;
    if (task.status === 'completed' && (task.actual_hours ?? 0) > 0) {
      stats.completedEstimatedCents += Math.round(task.estimated_hours * 100);
      stats.completedActualCents += Math.round((task.actual_hours ?? 0) * 100);
    }
  }
  return stats;
}

const counts = ({ total, completed, pending, in_progress, blocked, overdue }: TaskStats) => ({ total, completed, pending, in_progress, blocked, overdue });

const onPostgres = testDatabaseUrl() !== undefined;

describe('task counts kept by the database', () => {
  let t: TestApp;
  const clock = fixedClock(new Date(BASE));
  let manager: Session;
  let users: Session[];
  /** A second session that holds the counts' lock while `contend` says so (PostgreSQL). */
  let rival: pg.Client | undefined;
  let holding = false;

  beforeAll(async () => {
    t = await buildTestApp({ accessTokenExpireMinutes: 24 * 60 }, { clock });
    manager = await signIn(t.app, { role: 'manager' });
    users = [manager, await signIn(t.app, { role: 'developer' }), await signIn(t.app, { role: 'developer' }), await signIn(t.app, { role: 'auditor' })];
    if (onPostgres) {
      rival = new pg.Client({ connectionString: t.database.url });
      await rival.connect();
    }
  });
  afterAll(async () => {
    await rival?.end();
    await t.close();
  });

  async function contend(hold: boolean): Promise<void> {
    if (!rival || hold === holding) return;
    const fn = hold ? 'pg_advisory_lock' : 'pg_advisory_unlock';
    await rival.query(`select ${fn}($1, hashtext(current_schema()))`, [COUNTS_LOCK_CLASS]);
    holding = hold;
  }

  const ids = async () => (await t.db.selectFrom('tasks').select('id').orderBy('id').execute()).map((r) => r.id);
  const pick = (all: number[], indexes: number[]) => [...new Set(indexes.map((i) => all[i % all.length]!))];
  const assignee = (i: number) => users[i % users.length]!.user.id;

  async function apply(o: Op): Promise<void> {
    const all = await ids();
    const api = async (method: 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) => {
      const res = await t.app.inject({ method, url, headers: manager.headers, ...(payload ? { payload } : {}) });
      expect(res.statusCode, `${method} ${url} ${JSON.stringify(payload)}: ${res.body}`).toBeLessThan(300);
    };
    if (o.kind === 'contend') return contend(o.hold);
    if (o.kind === 'create') {
      return api('POST', '/api/tasks', {
        title: 'Counted',
        status: o.status,
        estimated_hours: o.estimated,
        actual_hours: o.actual,
        deadline: o.deadline,
        assigned_to: assignee(o.assignee),
      });
    }
    if (all.length === 0) return;
    const now = new Date().toISOString();
    switch (o.kind) {
      case 'patch': {
        const { assignee: to, ...changes } = o.changes;
        return api('PATCH', `/api/tasks/${pick(all, [o.task])[0]}`, { ...changes, ...(to === undefined ? {} : { assigned_to: assignee(to) }) });
      }
      case 'bulk':
        return api('POST', '/api/tasks/bulk-update', { task_ids: pick(all, o.tasks), status: o.status });
      case 'delete':
        return api('DELETE', `/api/tasks/${pick(all, [o.task])[0]}`);
      case 'reassign':
        await t.db.updateTable('tasks').set({ assigned_to: assignee(o.assignee) }).where('id', 'in', pick(all, o.tasks)).execute();
        return;
      case 'move':
        await t.db.updateTable('tasks').set({ deadline: o.deadline }).where('id', 'in', pick(all, o.tasks)).execute();
        return;
      case 'statuses':
        return updateTasksStatus(t.db, pick(all, o.tasks), o.status, now);
      case 'deleteMany':
        await t.db.transaction().execute(async (trx) => {
          for (const id of pick(all, o.tasks)) await deleteTask(trx, id, now);
        });
        return;
    }
  }

  /** Every scope at every instant: the kept counts equal the full scan; so does GET /api/analytics. */
  async function expectExact(instants: string[]): Promise<void> {
    const tasks = (await t.db.selectFrom('tasks').select(['assigned_to', 'status', 'estimated_hours', 'actual_hours', 'deadline']).execute()) as TaskRow[];
    const scopes = [undefined, ...users.map((u) => u.user.id)];
    for (const now of instants) {
      for (const assignedTo of scopes) {
        expect(await taskStats(t.db, { assignedTo }, now), `${now} ${assignedTo ?? 'team'}`).toEqual(fullScan(tasks, assignedTo, now));
      }
    }
    for (const assignedTo of scopes) expect(await countTasks(t.db, { assignedTo })).toBe(fullScan(tasks, assignedTo, instants[0]!).total);
    // Through the API, at instants the sessions are valid (from BASE to a day later).
    for (const now of instants.filter((i) => Date.parse(i) >= BASE && Date.parse(i) < BASE + DAY - 60_000)) {
      clock.set(now);
      for (const session of [manager, users[1]!]) {
        const body = (await t.app.inject({ method: 'GET', url: '/api/analytics', headers: session.headers })).json();
        expect(body.my_tasks, `${now} ${session.user.role}`).toEqual(counts(fullScan(tasks, session.user.id, now)));
        if (session === manager) expect(body.team_tasks, now).toEqual(counts(fullScan(tasks, undefined, now)));
      }
      clock.set(new Date(BASE));
    }
  }

  it('equal a full scan of the tasks after any sequence of writes, at any instant', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 14 }), fc.array(instant, { minLength: 1, maxLength: 4 }), async (ops, instants) => {
        await contend(false);
        await t.db.deleteFrom('tasks').execute();
        for (const o of ops) await apply(o);
        // Around every deadline too: just before, at and just after it.
        const deadlines = (await t.db.selectFrom('tasks').select('deadline').limit(3).execute()).map((r) => Date.parse(r.deadline));
        const around = deadlines.flatMap((d) => [d - 1, d, d + 1].map((ms) => new Date(ms).toISOString()));
        await expectExact([...instants, ...around]);
        await contend(false);
      }),
      { numRuns: onPostgres ? 40 : 60, endOnFailure: true },
    );
  }, 600_000);

  it.runIf(onPostgres)('folds the deltas of contended writes into the counts at the next uncontended write', async () => {
    await t.db.deleteFrom('tasks').execute();
    await contend(true);
    for (let i = 0; i < 3; i++) await apply({ kind: 'create', assignee: i, status: 'pending', estimated: 1, actual: null, deadline: '2026-11-24T12:00:00.000Z' });
    const deltas = async () => Number((await sql<{ n: number }>`select count(*) as n from task_status_count_deltas`.execute(t.db)).rows[0]?.n);
    expect(await deltas()).toBeGreaterThan(0);
    await expectExact([new Date(BASE).toISOString()]);
    await contend(false);
    await apply({ kind: 'create', assignee: 0, status: 'completed', estimated: 2, actual: 1.5, deadline: '2026-11-26T12:00:00.000Z' });
    expect(await deltas()).toBe(0);
    await expectExact([new Date(BASE).toISOString()]);
  });
});
