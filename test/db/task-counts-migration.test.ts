// Migrations 0011 (counts per assignee), 0013 (their totals over every assignee) and 0014 (0011's
// SQLite triggers without `excluded`) on a database
// that already holds tasks: the counts they fill in equal a full scan, the triggers keep them from
// there on, and their down migrations remove them again.
import { Migrator, PostgresAdapter, sql, type Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/db/migrate.js';
import { COUNTS_LOCK_CLASS, sqliteStatusCountTriggers } from '../../src/db/migrations/0011_task_counts.js';
import { down as teamTotalsDown } from '../../src/db/migrations/0013_team_task_counts.js';
import { migrations } from '../../src/db/migrations/index.js';
import type { TaskStatus } from '../../src/db/schema.js';
import { taskStats, type TaskStats } from '../../src/modules/analytics/analytics.repository.js';
import { countTasks } from '../../src/modules/tasks/task-counts.js';
import { createTestDatabase, testDatabaseUrl, type TestDatabase } from '../helpers/database.js';
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

let assignees: number[] = [];

async function expectExact(): Promise<void> {
  for (const assignedTo of [undefined, ...assignees]) {
    for (const now of INSTANTS) expect(await taskStats(t.handle.db, { assignedTo }, now), `${assignedTo} ${now}`).toEqual(await fullScan(assignedTo, now));
    expect(await countTasks(t.handle.db, { assignedTo })).toBe((await fullScan(assignedTo, INSTANTS[0]!)).total);
  }
}

const tableNames = async () => (await t.handle.db.introspection.getTables()).map((table) => table.name);

describe('migration 0011 (task counts)', () => {

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
    // Back to 0010: the later migrations (0012, an index on the counts; 0013, their totals) are undone first.
    const down = await (await migrator('9999')).migrateTo('0010_api_tokens');
    expect(down.error).toBeUndefined();
    expect((await tableNames()).filter((name) => name.includes('count') || name.includes('total'))).toEqual([]);
    await createTask(t.handle.db, { assignedTo: assignees[0]!, status: 'pending' });
    await migrateToLatest(t.handle.db);
    await expectExact();
  });
});

describe('migration 0013 (team totals)', () => {
  const onPostgres = () => t.handle.db.getExecutor().adapter instanceof PostgresAdapter;
  const deltas = async () => Number((await sql<{ n: number }>`select count(*) as n from task_status_count_deltas`.execute(t.handle.db)).rows[0]?.n);
  /** On PostgreSQL, a second session holding the counts' lock: writes meanwhile go to the delta tables. */
  let rival: pg.Client | undefined;

  afterAll(async () => {
    await rival?.end();
  });

  it('adds up the counts that exist when it runs, and the deltas not folded yet exactly once', async () => {
    const down = await (await migrator('9999')).migrateTo('0012_deadline_day_index');
    expect(down.error).toBeUndefined();
    expect(await tableNames()).not.toContain('task_status_totals');
    assignees.push((await createUser({ db: t.handle.db }, { role: 'developer' })).id);
    for (const [i, assignedTo] of assignees.entries()) {
      await createTask(t.handle.db, { assignedTo, status: STATUSES[i % 4]!, deadline: DEADLINES[i % DEADLINES.length]!, estimatedHours: 2, actualHours: 1.5 });
    }
    if (onPostgres()) {
      rival = new pg.Client({ connectionString: t.url });
      await rival.connect();
      await rival.query('select pg_advisory_lock($1, hashtext(current_schema()))', [COUNTS_LOCK_CLASS]);
      await createTask(t.handle.db, { assignedTo: assignees[0]!, status: 'blocked', deadline: DEADLINES[0]!, estimatedHours: 3, actualHours: 2 });
      await t.handle.db.updateTable('tasks').set({ status: 'completed' }).where('assigned_to', '=', assignees[1]!).where('status', '=', 'pending').execute();
      expect(await deltas()).toBeGreaterThan(0);
    }
    const applied = await migrateToLatest(t.handle.db);
    expect(applied.map((r) => r.migrationName)).toEqual(['0013_team_task_counts', '0014_count_trigger_upserts']);
    await expectExact();
    if (rival) {
      await rival.query('select pg_advisory_unlock($1, hashtext(current_schema()))', [COUNTS_LOCK_CLASS]);
      await createTask(t.handle.db, { assignedTo: assignees[2]!, status: 'pending', deadline: DEADLINES[1]! });
      expect(await deltas()).toBe(0);
    }
    await expectExact();
  });

  it('keeps the totals exact through writes that move tasks between assignees, statuses and days, and deletes', async () => {
    const [a, b, c] = assignees as [number, number, number];
    await t.handle.db.updateTable('tasks').set({ assigned_to: c, deadline: DEADLINES[2]! }).where('assigned_to', '=', a).execute();
    await t.handle.db.updateTable('tasks').set({ status: 'completed', actual_hours: 4 }).where('assigned_to', '=', b).where('status', '<>', 'completed').execute();
    await t.handle.db.deleteFrom('tasks').where('deadline', '=', DEADLINES[5]!).execute();
    await expectExact();
    // Days whose unfinished tasks are gone leave no rows behind.
    const emptyDays = await sql<{ n: number }>`select count(*) as n from task_deadline_totals where tasks = 0`.execute(t.handle.db);
    expect(Number(emptyDays.rows[0]?.n)).toBe(0);
    await t.handle.db.deleteFrom('tasks').execute();
    await expectExact();
    const left = await sql<{ n: number }>`select count(*) as n from task_deadline_totals`.execute(t.handle.db);
    expect(Number(left.rows[0]?.n)).toBe(0);
  });

  it('leaves the schema alterable: tables renamed and back, the totals among them, and the totals still kept', async () => {
    // SQLite checks and rewrites every trigger when a table is renamed (later migrations do that).
    for (const table of ['tags', 'task_status_totals', 'task_deadline_totals']) {
      await t.handle.db.schema.alterTable(table).renameTo(`${table}_away`).execute();
      await t.handle.db.schema.alterTable(`${table}_away`).renameTo(table).execute();
    }
    // Changes that add to existing rows of every totals table.
    await t.handle.db.updateTable('tasks').set({ status: 'blocked' }).where('assigned_to', '=', assignees[2]!).where('status', '=', 'pending').execute();
    await createTask(t.handle.db, { assignedTo: assignees[1]!, status: 'in_progress', deadline: DEADLINES[3]!, estimatedHours: 1, actualHours: 0.5 });
    await expectExact();
  });

  it.runIf(testDatabaseUrl() !== undefined)('lets a write that comes while it is migrated down wait, then count with the function it leaves', async () => {
    const waiting = async () =>
      Number((await sql<{ n: number }>`select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`.execute(t.handle.db)).rows[0]?.n);
    let written: Promise<number> | undefined;
    // As the migrator runs it: in a transaction, the writer on another connection meanwhile.
    await t.handle.db.transaction().execute(async (trx) => {
      await teamTotalsDown(trx as unknown as Kysely<unknown>);
      written = createTask(t.handle.db, { assignedTo: assignees[0]!, status: 'blocked', deadline: DEADLINES[0]! });
      for (let tries = 0; tries < 100 && (await waiting()) === 0; tries++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await waiting()).toBe(1);
    });
    expect(await written).toBeGreaterThan(0);
    // As if migrated down to 0012 (0014's down changes nothing).
    await sql`delete from kysely_migration where name in ('0013_team_task_counts', '0014_count_trigger_upserts')`.execute(t.handle.db);
    await migrateToLatest(t.handle.db);
    await expectExact();
  });

  it('removes the totals and their triggers when migrated down, and tasks can still be written', async () => {
    const down = await (await migrator('9999')).migrateTo('0012_deadline_day_index');
    expect(down.error).toBeUndefined();
    expect((await tableNames()).filter((name) => name.includes('total'))).toEqual([]);
    if (!onPostgres()) {
      const indexes = await sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = 'task_deadline_counts'`.execute(t.handle.db);
      expect(indexes.rows.map((row) => row.name)).toContain('task_deadline_counts_day_idx');
    }
    await createTask(t.handle.db, { assignedTo: assignees[0]!, status: 'pending', deadline: DEADLINES[0]! });
    await migrateToLatest(t.handle.db);
    await expectExact();
  });
});

describe('migration 0014 (count upserts that survive a rename)', () => {
  const onPostgres = () => t.handle.db.getExecutor().adapter instanceof PostgresAdapter;
  /** The status-count triggers as 0011 created them on SQLite before 0014: their upserts read `excluded`. */
  const triggersReadingExcluded = () =>
    sqliteStatusCountTriggers().map((trigger) =>
      trigger.sql.replace(
        /do update set [^;]+;/g,
        'do update set tasks = tasks + excluded.tasks, estimated_cents = estimated_cents + excluded.estimated_cents, actual_cents = actual_cents + excluded.actual_cents;',
      ),
    );
  const triggerTexts = async () =>
    (await sql<{ sql: string }>`select sql from sqlite_master where type = 'trigger' and tbl_name = 'tasks'`.execute(t.handle.db)).rows.map((row) => row.sql);

  it.runIf(testDatabaseUrl() === undefined)('replaces the triggers that read `excluded` in a database migrated before it', async () => {
    for (const { name } of sqliteStatusCountTriggers()) await sql.raw(`drop trigger ${name}`).execute(t.handle.db);
    for (const statement of triggersReadingExcluded()) await sql.raw(statement).execute(t.handle.db);
    await sql`delete from kysely_migration where name = '0014_count_trigger_upserts'`.execute(t.handle.db);
    expect((await triggerTexts()).filter((text) => text.includes('excluded'))).toHaveLength(3);

    const applied = await migrateToLatest(t.handle.db);
    expect(applied.map((r) => r.migrationName)).toEqual(['0014_count_trigger_upserts']);
    expect((await triggerTexts()).filter((text) => text.includes('excluded'))).toEqual([]);
    expect((await triggerTexts()).length).toBeGreaterThanOrEqual(6);
  });

  it('keeps the counts exact after the count tables are renamed and back', async () => {
    if (!onPostgres()) expect((await triggerTexts()).filter((text) => text.includes('excluded'))).toEqual([]);
    // SQLite rewrites every trigger that names a renamed table (later migrations may rename these).
    for (const table of ['task_status_counts', 'task_deadline_counts']) {
      await t.handle.db.schema.alterTable(table).renameTo(`${table}_away`).execute();
      await t.handle.db.schema.alterTable(`${table}_away`).renameTo(table).execute();
    }
    // Writes that add to existing count rows, take from them, and move tasks between them.
    const [a, b] = assignees as [number, number];
    for (const status of STATUSES) {
      await createTask(t.handle.db, { assignedTo: a, status, deadline: DEADLINES[1]!, estimatedHours: 1.25, actualHours: 0.5 });
      await createTask(t.handle.db, { assignedTo: a, status, deadline: DEADLINES[1]!, estimatedHours: 2, actualHours: 1 });
    }
    await t.handle.db.updateTable('tasks').set({ assigned_to: b, status: 'blocked', actual_hours: 3 }).where('assigned_to', '=', a).where('status', '=', 'pending').execute();
    await t.handle.db.deleteFrom('tasks').where('assigned_to', '=', a).where('status', '=', 'in_progress').execute();
    await expectExact();
  });
});
