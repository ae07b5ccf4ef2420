// Team-wide task counts beside the per-assignee ones of migration 0011, so that the team's analytics
// and an unfiltered list's total read a handful of rows however many users ever had a task (before,
// the team statement added up every assignee's rows: ≈ 1.5 µs per row on SQLite, 171 µs a request
// with 11 assignees, 921 µs with 511; the team statement alone, 1,000 tasks: 40 → 16 µs with 11
// assignees, 393 → 17.5 µs with 511). task_status_totals holds one row per status;
// task_deadline_totals the unfinished tasks per UTC day of their deadline.
//
// Kept in the same statements as the per-assignee counts, so the totals are exact in the very
// transaction that changes the tasks. On SQLite, row triggers on the count tables carry every change of
// their rows into the totals. On PostgreSQL, 0011's apply_task_count_changes is replaced by one that
// adds its netted changes (its own, and the deltas it folds) to the totals as well — a few statements
// per write statement, where row triggers on the counts cost one call per changed count row (a status
// change of 100 tasks: 5.8 → 11.5 ms with them). It writes them only while holding 0011's advisory
// lock, so no writer waits for another on them. Changes that went to 0011's delta tables reach the
// totals when they are folded, so a team reader adds the totals and every delta, as a per-assignee
// reader adds that assignee's counts and deltas.
//
// Migration 0012's index (per-assignee day counts by day) served only the team's overdue, which now
// reads task_deadline_totals by its key: it is dropped, so writes no longer keep it.
// Never imports application code.
import { sql, type Kysely } from 'kysely';
import { applyTaskCountChangesFunction, truncateTaskCountsFunction } from './0011_task_counts.js';
import { columnKinds, type ColumnKinds } from './column-types.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnKinds(db);
  if (t.isPostgres) {
    // Writers of tasks change the counts inside their transactions: wait for those in flight and
    // keep new ones out until the totals and the function that keeps them are in place.
    await sql`lock table tasks in share row exclusive mode`.execute(db);
    await createTables(db, t);
    await sql.raw(applyTaskCountChangesFunction({ totals: true })).execute(db);
    await sql.raw(truncateTaskCountsFunction({ totals: true })).execute(db);
    await backfill(db);
    return;
  }
  // Migrations run outside a transaction on SQLite: take the write lock first (another process
  // may be writing tasks).
  await sql`begin immediate`.execute(db);
  try {
    await createTables(db, t);
    await createSqliteTriggers(db);
    await backfill(db);
    await db.schema.dropIndex('task_deadline_counts_day_idx').ifExists().execute();
    await sql`commit`.execute(db);
  } catch (error) {
    await sql`rollback`.execute(db);
    throw error;
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (columnKinds(db).isPostgres) {
    // As in up: no writer may be counting with the function being replaced and the tables dropped.
    await sql`lock table tasks in share row exclusive mode`.execute(db);
    await sql.raw(applyTaskCountChangesFunction({ totals: false })).execute(db);
    await sql.raw(truncateTaskCountsFunction({ totals: false })).execute(db);
  } else {
    for (const totals of [STATUS_TOTALS, DEADLINE_TOTALS]) {
      for (const change of CHANGES) await sql.raw(`drop trigger if exists ${totals.totals}_${change}`).execute(db);
    }
    await db.schema.createIndex('task_deadline_counts_day_idx').ifNotExists().on('task_deadline_counts').columns(['deadline_day', 'tasks']).execute();
  }
  await db.schema.dropTable('task_deadline_totals').ifExists().execute();
  await db.schema.dropTable('task_status_totals').ifExists().execute();
}

async function createTables(db: Kysely<unknown>, t: ColumnKinds): Promise<void> {
  const bigint = t.isPostgres ? 'bigint' : 'integer';
  // As 0011's count tables: updated in place, HOT on PostgreSQL, the key's index the table on SQLite.
  const clustered = t.isPostgres ? sql`with (fillfactor = 50)` : sql`without rowid`;
  await db.schema
    .createTable('task_status_totals')
    .addColumn('status', 'varchar(20)', (c) => c.primaryKey())
    .addColumn('tasks', bigint, (c) => c.notNull())
    .addColumn('estimated_cents', bigint, (c) => c.notNull())
    .addColumn('actual_cents', bigint, (c) => c.notNull())
    .modifyEnd(clustered)
    .execute();
  await db.schema
    .createTable('task_deadline_totals')
    .addColumn('deadline_day', t.timestamp, (c) => c.primaryKey())
    .addColumn('tasks', bigint, (c) => c.notNull())
    .modifyEnd(clustered)
    .execute();
}

/** The totals of the per-assignee counts as they are (without the deltas, which join them when folded). */
async function backfill(db: Kysely<unknown>): Promise<void> {
  await sql`
    insert into task_status_totals (status, tasks, estimated_cents, actual_cents)
    select status, sum(tasks), sum(estimated_cents), sum(actual_cents) from task_status_counts group by status`.execute(db);
  await sql`
    insert into task_deadline_totals (deadline_day, tasks)
    select deadline_day, sum(tasks) from task_deadline_counts group by deadline_day having sum(tasks) <> 0`.execute(db);
}

type Change = 'insert' | 'update' | 'delete';

/**
 * SQLite: the statements that carry one row's change of a count table into its totals table: the new row
 * added, the old one taken away; an update that keeps the key (0011's only kind) adds the difference.
 */
function carry(change: Change, table: { totals: string; key: string; sums: string[] }): string {
  const columns = [table.key, ...table.sums];
  // The bare column in the update is the existing row's, and the change is written out again rather
  // than read from `excluded`: SQLite's `alter table ... rename` refuses every later rename when a
  // trigger's upsert names its table with an alias (`insert into ... as c`), and renaming the totals
  // table rewrites `excluded.x` in its triggers into the table's own column, doubling every row.
  const upsert = (values: string[], when: string) => `
    insert into ${table.totals} (${columns.join(', ')}) select ${values.join(', ')} where ${when}
    on conflict (${table.key}) do update set ${table.sums.map((sum, i) => `${sum} = ${sum} + (${values[i + 1]})`).join(', ')};`;
  const removed = upsert([`old.${table.key}`, ...table.sums.map((sum) => `-old.${sum}`)], change === 'update' ? `old.${table.key} <> new.${table.key}` : 'true');
  const sameKey = `old.${table.key} = new.${table.key}`;
  const added = upsert(
    [`new.${table.key}`, ...table.sums.map((sum) => (change === 'update' ? `new.${sum} - case when ${sameKey} then old.${sum} else 0 end` : `new.${sum}`))],
    'true',
  );
  // A day without unfinished tasks loses its row, as in 0011: readers add up every past day.
  const keys = change === 'insert' ? ['new'] : change === 'delete' ? ['old'] : ['old', 'new'];
  const prune =
    table.totals === 'task_deadline_totals'
      ? `delete from task_deadline_totals where tasks = 0 and deadline_day in (${keys.map((row) => `${row}.deadline_day`).join(', ')});`
      : '';
  return `${change === 'insert' ? '' : removed} ${change === 'delete' ? '' : added} ${prune}`;
}

const STATUS_TOTALS = { totals: 'task_status_totals', key: 'status', sums: ['tasks', 'estimated_cents', 'actual_cents'] };
const DEADLINE_TOTALS = { totals: 'task_deadline_totals', key: 'deadline_day', sums: ['tasks'] };
const CHANGES: Change[] = ['insert', 'update', 'delete'];

async function createSqliteTriggers(db: Kysely<unknown>): Promise<void> {
  // An upsert that updates (0011's triggers add to existing rows that way) fires the update trigger.
  for (const [counts, totals] of [
    ['task_status_counts', STATUS_TOTALS],
    ['task_deadline_counts', DEADLINE_TOTALS],
  ] as const) {
    for (const change of CHANGES) {
      await sql.raw(`create trigger ${totals.totals}_${change} after ${change} on ${counts} begin ${carry(change, totals)} end`).execute(db);
    }
  }
}
