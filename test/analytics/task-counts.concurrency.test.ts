// Concurrent writers and the task counts (migration 0011). Each writer owns its tasks (no two
// transactions touch one task row), but every transaction changes tasks of several assignees, one
// statement per assignee, the assignees in a random order and with a pause between statements: the
// pattern in which triggers updating shared count rows deadlock on PostgreSQL (one transaction
// holds A's count and waits for B's, another holds B's and waits for A's). Every transaction must
// commit at the first attempt, and the counts must equal a full scan afterwards.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import type { TaskStatus } from '../../src/db/schema.js';
import { taskStats } from '../../src/modules/analytics/analytics.repository.js';
import { countTasks } from '../../src/modules/tasks/task-counts.js';
import { createTestDatabase, testDatabaseUrl, type TestDatabase } from '../helpers/database.js';
import { createUser } from '../helpers/factories.js';
import { createTask } from '../helpers/tasks.js';

const ASSIGNEES = 6;
const WRITERS = 8;
const TASKS_PER_ASSIGNEE = 3;
const TRANSACTIONS = 12;
const STATUSES: TaskStatus[] = ['pending', 'in_progress', 'blocked', 'completed'];
const NOW = '2026-11-25T10:00:00.000Z';
const DEADLINES = ['2026-11-23T08:00:00.000Z', '2026-11-25T09:00:00.000Z', '2026-11-25T11:00:00.000Z', '2026-11-28T00:00:00.000Z'];

let t: TestDatabase;
let db: Database;

beforeAll(async () => {
  t = await createTestDatabase({ poolSize: WRITERS + 2 });
  db = t.handle.db;
});
afterAll(async () => {
  await t.cleanup();
});

/** A seeded random choice, so that a failing run can be repeated. */
function randomSource(seed: number) {
  let state = seed;
  return (n: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
}

function shuffled<T>(items: readonly T[], random: (n: number) => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('task counts under concurrent writers', () => {
  it('never make two writers wait for each other: no deadlock, every transaction commits, exact counts', async () => {
    const app = { db };
    const assignees: number[] = [];
    for (let i = 0; i < ASSIGNEES; i++) assignees.push((await createUser(app, { role: 'developer' })).id);
    // owned[w][a]: writer w's tasks assigned to assignee a.
    const owned: number[][][] = [];
    for (let w = 0; w < WRITERS; w++) {
      owned.push([]);
      for (const [a, assignee] of assignees.entries()) {
        const ids = [];
        for (let k = 0; k < TASKS_PER_ASSIGNEE; k++) {
          ids.push(await createTask(db, { assignedTo: assignee, deadline: DEADLINES[(w + a + k) % DEADLINES.length], status: STATUSES[k % 4] }));
        }
        owned[w]!.push(ids);
      }
    }
    const pause = testDatabaseUrl() ? sql`select pg_sleep(0.003)` : sql`select 1`;
    const failures: unknown[] = [];
    let committed = 0;

    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        const random = randomSource(1000 + w);
        for (let n = 0; n < TRANSACTIONS; n++) {
          try {
            await db.transaction().execute(async (trx) => {
              for (const a of shuffled([...assignees.keys()], random)) {
                const [first, second] = owned[w]![a]!;
                if (first === undefined) continue;
                // A status change of all this writer's tasks of one assignee, one hour change, one deadline move.
                await trx.updateTable('tasks').set({ status: STATUSES[random(4)]! }).where('id', 'in', owned[w]![a]!).execute();
                await trx.updateTable('tasks').set({ actual_hours: random(3) === 0 ? null : 1 + random(8) / 4 }).where('id', '=', first).execute();
                await trx.updateTable('tasks').set({ deadline: DEADLINES[random(DEADLINES.length)]! }).where('id', '=', second ?? first).execute();
                await pause.execute(trx);
              }
              // One task moves to another assignee and back again in a later transaction; one is created and deleted.
              const [from, to] = [random(ASSIGNEES), random(ASSIGNEES)];
              const moving = owned[w]![from]!.pop();
              if (moving !== undefined) {
                await trx.updateTable('tasks').set({ assigned_to: assignees[to]! }).where('id', '=', moving).execute();
                owned[w]![to]!.push(moving);
              }
              const extra = await createTask(trx, { assignedTo: assignees[random(ASSIGNEES)]!, deadline: DEADLINES[random(4)], status: STATUSES[random(4)] });
              if (random(2) === 0) await trx.deleteFrom('tasks').where('id', '=', extra).execute();
            });
            committed += 1;
          } catch (error) {
            failures.push(error);
            return;
          }
        }
      }),
    );

    expect(failures.map((e) => `${(e as { code?: string }).code}: ${(e as Error).message}`)).toEqual([]);
    expect(committed).toBe(WRITERS * TRANSACTIONS);

    const rows = await db.selectFrom('tasks').select(['assigned_to', 'status', 'deadline', 'estimated_hours', 'actual_hours']).execute();
    for (const assignedTo of [undefined, ...assignees]) {
      const mine = rows.filter((r) => assignedTo === undefined || r.assigned_to === assignedTo);
      const stats = await taskStats(db, { assignedTo }, NOW);
      const timed = mine.filter((r) => r.status === 'completed' && (r.actual_hours ?? 0) > 0);
      expect(stats).toEqual({
        total: mine.length,
        completed: mine.filter((r) => r.status === 'completed').length,
        pending: mine.filter((r) => r.status === 'pending').length,
        in_progress: mine.filter((r) => r.status === 'in_progress').length,
        blocked: mine.filter((r) => r.status === 'blocked').length,
        overdue: mine.filter((r) => r.status !== 'completed' && r.deadline < NOW).length,
        completedEstimatedCents: timed.reduce((sum, r) => sum + Math.round(r.estimated_hours * 100), 0),
        completedActualCents: timed.reduce((sum, r) => sum + Math.round((r.actual_hours ?? 0) * 100), 0),
      });
      expect(await countTasks(db, { assignedTo })).toBe(mine.length);
    }
  }, 180_000);
});
