// Migration 0011 on a database that already holds tasks: the counts it fills in equal a full scan,
// the triggers keep them from there on, and its down migration removes them again.
import { Migrator, PostgresAdapter, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/db/migrate.js';
import { migrations } from '../../src/db/migrations/index.js';
import type { TaskStatus } from '../../src/db/schema.js';
import { taskStats, type TaskStats } from '../../src/modules/analytics/analytics.repository.js';
import { countTasks } from '../../src/modules/tasks/task-counts.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { createUser } from '../helpers/factories.js';
import { createTask } from '../helpers/tasks.js';

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  await t.cleanup();
});

async function migrator(upTo: string): Promise<Migrator> {
  const db = t.handle.db;
  const schema = db.getExecutor().adapter instanceof PostgresAdapter ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s : undefined;
  const subset = Object.fromEntries(Object.entries(migrations).filter(([name]) => name <= upTo));
  return new Migrator({ db, provider: { getMigrations: async () => subset }, migrationTableSchema: schema });
}

const STATUSES: TaskStatus[] = ['pending', 'in_progress', 'blocked', 'completed'];
const DEADLINES = ['2026-11-23T00:00:00.000Z', '2026-11-24T23:59:59.999Z', '2026-11-25T00:00:00.000Z', '2026-11-25T09:59:59.999Z', '2026-11-25T10:00:00.000Z', '2026-11-30T17:00:00.000Z'];
const INSTANTS = ['2026-11-20T00:00:00.000Z', '2026-11-25T00:00:00.000Z', '2026-11-25T10:00:00.000Z', '2026-11-25T10:00:00.001Z', '2026-12-31T00:00:00.000Z'];

/** The statistics from a scan of every task, with the SQL analytics ran before migration 0011. */
async function fullScan(assignedTo: number | undefined, now: string): Promise<TaskStats> {
  let q = t.handle.db.selectFrom('tasks');
  if (assignedTo !== undefined) q = q.where('assigned_to', '=', assignedTo);
  const rows = await q
    .select((eb) => [
      'status',
      eb.fn.countAll<number>().as('count'),
      sql<number>`sum(case when deadline < ${now} and status <> 'completed' then 1 else 0 end)`.as('overdue'),
      sql<number>`sum(case when actual_hours > 0 and status = 'completed' then cast(round(estimated_hours * 100) as integer) else 0 end)`.as('estimated'),
      sql<number>`sum(case when actual_hours > 0 and status = 'completed' then cast(round(actual_hours * 100) as integer) else 0 end)`.as('actual'),
    ])
    .groupBy('status')
    .execute();
  const stats: TaskStats = { total: 0, completed: 0, pending: 0, in_progress: 0, blocked: 0, overdue: 0, completedEstimatedCents: 0, completedActualCents: 0 };
  for (const row of rows) {
    stats.total += Number(row.count);
    stats[row.status] = Number(row.count);
    stats.overdue += Number(row.overdue);
    stats.completedEstimatedCents += Number(row.estimated);
    stats.completedActualCents += Number(row.actual);
  }
  return stats;
}

describe('migration 0011 (task counts)', () => {
  let assignees: number[];

  async function expectExact(): Promise<void> {
    for (const assignedTo of [undefined, ...assignees]) {
      for (const now of INSTANTS) expect(await taskStats(t.handle.db, { assignedTo }, now), `${assignedTo} ${now}`).toEqual(await fullScan(assignedTo, now));
      expect(await countTasks(t.handle.db, { assignedTo })).toBe((await fullScan(assignedTo, INSTANTS[0]!)).total);
    }
  }

  it('counts the tasks that exist when it runs', async () => {
    const before = await (await migrator('0010_api_tokens')).migrateToLatest();
    expect(before.error).toBeUndefined();
    assignees = [];
    for (let i = 0; i < 3; i++) assignees.push((await createUser({ db: t.handle.db }, { role: 'developer' })).id);
    let n = 0;
    for (const assignedTo of assignees) {
      for (const status of STATUSES) {
        for (const deadline of DEADLINES) {
          n += 1;
          await createTask(t.handle.db, { assignedTo, status, deadline, estimatedHours: 0.25 * (n % 13) + 1, actualHours: [null, 0, 0.01, 2.5, 7.33][n % 5] });
        }
      }
    }
    const applied = await migrateToLatest(t.handle.db);
    expect(applied.map((r) => r.migrationName)).toContain('0011_task_counts');
    await expectExact();
  });

  it('keeps them exact through later writes', async () => {
    const [a, b] = assignees as [number, number];
    await createTask(t.handle.db, { assignedTo: a, status: 'blocked', deadline: '2026-11-24T12:00:00.000Z' });
    await t.handle.db.updateTable('tasks').set({ assigned_to: b, status: 'pending' }).where('assigned_to', '=', a).where('status', '=', 'completed').execute();
    await t.handle.db.deleteFrom('tasks').where('deadline', '=', '2026-11-25T00:00:00.000Z').execute();
    await expectExact();
  });

  it('removes its tables and triggers when migrated down, and tasks can still be written', async () => {
    // Back to 0010: the later migrations (0012, an index on the counts) are undone first.
    const down = await (await migrator('9999')).migrateTo('0010_api_tokens');
    expect(down.error).toBeUndefined();
    const tables = (await t.handle.db.introspection.getTables()).map((table) => table.name);
    expect(tables.filter((name) => name.includes('count'))).toEqual([]);
    await createTask(t.handle.db, { assignedTo: assignees[0]!, status: 'pending' });
    await migrateToLatest(t.handle.db);
    await expectExact();
  });
});
