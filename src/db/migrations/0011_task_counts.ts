// Task counts kept by the database itself, so that analytics and unfiltered totals cost the same
// whatever the number of tasks: per assignee and status (tasks, and the hours in integer hundredths
// of those with actual hours > 0), and per assignee and UTC day of the deadline (unfinished tasks,
// for `overdue`). Triggers on tasks keep them, so every writer is covered — the API, jobs, the CLI,
// seeds, later migrations and hand-written SQL alike — and the counts are exact in the very
// transaction that changes the tasks, for every instance sharing the database.
//
// SQLite runs one write transaction at a time: its row triggers add to the counts directly.
// On PostgreSQL, triggers that simply updated the shared count rows would make concurrent writers
// of one assignee wait for each other until commit, and deadlock when two bulk updates reach the
// same assignees in different orders. There a transaction changes the counts only while it holds an
// advisory lock that it *tries* to take (never waits for); a writer that cannot take it appends its
// changes to the delta tables instead, which locks no existing row, and the next holder folds the
// deltas into the counts. So no writer ever waits because of the counts, and none can deadlock on
// them. Usually (no concurrent writer) the lock is free and there are no deltas. A reader adds the
// counts and the deltas in one statement: an exact snapshot. The delta tables exist on SQLite too,
// always empty, so that the reading SQL is the same.
//
// The day of a deadline keys its bucket as the ISO instant of that day's UTC midnight (text on
// SQLite, timestamptz on PostgreSQL), so a reader compares it with a parameter like any timestamp.
// Never imports application code.
import { sql, type Kysely } from 'kysely';
import { columnKinds, type ColumnKinds } from './column-types.js';

/** The class of the advisory lock that guards the counts ("cnts"); the second key is a hash of the schema. */
export const COUNTS_LOCK_CLASS = 0x636e7473;

const cents = (row: string, column: 'estimated_hours' | 'actual_hours') =>
  `case when ${row}.actual_hours > 0 then cast(round(${row}.${column} * 100) as integer) else 0 end`;

export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnKinds(db);
  if (t.isPostgres) {
    // Creating a trigger locks tasks against writers until the migration commits: take that lock
    // first, so that no write is missed or counted twice between the backfill and the triggers.
    await sql`lock table tasks in share row exclusive mode`.execute(db);
    await createTables(db, t);
    await createPostgresTriggers(db);
    await backfill(db, postgresDay('tasks'));
    return;
  }
  // Migrations run outside a transaction on SQLite: this one takes the write lock first, for the
  // same reason (another process may be writing tasks).
  await sql`begin immediate`.execute(db);
  try {
    await createTables(db, t);
    await createSqliteTriggers(db);
    await backfill(db, sqliteDay('tasks'));
    await sql`commit`.execute(db);
  } catch (error) {
    await sql`rollback`.execute(db);
    throw error;
  }
}

async function createTables(db: Kysely<unknown>, t: ColumnKinds): Promise<void> {
  const bigint = t.isPostgres ? 'bigint' : 'integer';
  // Small tables of counts updated in place. On SQLite without a rowid: the key's index is the table.
  // On PostgreSQL with room in every page, so that an update writes its new row version beside the
  // old one (a HOT update, pruned in place) and a table of a few rows stays a few pages long.
  const clustered = t.isPostgres ? sql`with (fillfactor = 50)` : sql`without rowid`;
  await db.schema
    .createTable('task_status_counts')
    .addColumn('assigned_to', 'integer', (c) => c.notNull())
    .addColumn('status', 'varchar(20)', (c) => c.notNull())
    .addColumn('tasks', 'integer', (c) => c.notNull())
    .addColumn('estimated_cents', bigint, (c) => c.notNull())
    .addColumn('actual_cents', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('task_status_counts_pkey', ['assigned_to', 'status'])
    .modifyEnd(clustered)
    .execute();
  await db.schema
    .createTable('task_deadline_counts')
    .addColumn('assigned_to', 'integer', (c) => c.notNull())
    .addColumn('deadline_day', t.timestamp, (c) => c.notNull())
    .addColumn('tasks', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('task_deadline_counts_pkey', ['assigned_to', 'deadline_day'])
    .modifyEnd(clustered)
    .execute();
  await db.schema
    .createTable('task_status_count_deltas')
    .addColumn('id', t.isPostgres ? 'bigserial' : 'integer', (c) => c.primaryKey())
    .addColumn('assigned_to', 'integer', (c) => c.notNull())
    .addColumn('status', 'varchar(20)', (c) => c.notNull())
    .addColumn('tasks', 'integer', (c) => c.notNull())
    .addColumn('estimated_cents', bigint, (c) => c.notNull())
    .addColumn('actual_cents', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('task_status_count_deltas_assigned_to_idx').on('task_status_count_deltas').column('assigned_to').execute();
  await db.schema
    .createTable('task_deadline_count_deltas')
    .addColumn('id', t.isPostgres ? 'bigserial' : 'integer', (c) => c.primaryKey())
    .addColumn('assigned_to', 'integer', (c) => c.notNull())
    .addColumn('deadline_day', t.timestamp, (c) => c.notNull())
    .addColumn('tasks', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('task_deadline_count_deltas_assigned_to_idx')
    .on('task_deadline_count_deltas')
    .columns(['assigned_to', 'deadline_day'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const { isPostgres } = columnKinds(db);
  for (const name of TRIGGERS) {
    await sql`drop trigger if exists ${sql.raw(name)}${sql.raw(isPostgres ? ' on tasks' : '')}`.execute(db);
  }
  if (isPostgres) {
    for (const name of ['task_counts_after_insert', 'task_counts_after_update', 'task_counts_after_delete', 'task_counts_after_truncate']) {
      await sql`drop function if exists ${sql.raw(name)}()`.execute(db);
    }
    await sql`drop function if exists apply_task_count_changes`.execute(db);
  }
  for (const table of ['task_deadline_count_deltas', 'task_status_count_deltas', 'task_deadline_counts', 'task_status_counts']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}

const TRIGGERS = [
  'task_counts_insert',
  'task_counts_update',
  'task_counts_delete',
  'task_counts_truncate',
  'task_deadline_counts_insert',
  'task_deadline_counts_update',
  'task_deadline_counts_delete',
];

/** The counts of the tasks as they are (the triggers keep them from here on). */
async function backfill(db: Kysely<unknown>, day: string): Promise<void> {
  await sql`
    insert into task_status_counts (assigned_to, status, tasks, estimated_cents, actual_cents)
    select assigned_to, status, count(*), sum(${sql.raw(cents('tasks', 'estimated_hours'))}), sum(${sql.raw(cents('tasks', 'actual_hours'))})
    from tasks group by assigned_to, status`.execute(db);
  await sql`
    insert into task_deadline_counts (assigned_to, deadline_day, tasks)
    select assigned_to, ${sql.raw(day)}, count(*) from tasks where status <> 'completed'
    group by assigned_to, ${sql.raw(day)}`.execute(db);
}

const sqliteDay = (row: string) => `substr(${row}.deadline, 1, 10) || 'T00:00:00.000Z'`;
const postgresDay = (row: string) => `(date_trunc('day', ${row}.deadline at time zone 'UTC') at time zone 'UTC')`;

async function createSqliteTriggers(db: Kysely<unknown>): Promise<void> {
  for (const trigger of sqliteStatusCountTriggers()) await sql.raw(trigger.sql).execute(db);
  const unfinished = (row: string) => `${row}.status <> 'completed'`;
  const addDay = (row: string) => `
    insert into task_deadline_counts (assigned_to, deadline_day, tasks)
    select ${row}.assigned_to, ${sqliteDay(row)}, 1 where ${unfinished(row)}
    on conflict (assigned_to, deadline_day) do update set tasks = tasks + 1;`;
  // A day without unfinished tasks loses its row: readers add up every past day.
  const removeDay = (row: string) => `
    update task_deadline_counts set tasks = tasks - 1
    where ${unfinished(row)} and assigned_to = ${row}.assigned_to and deadline_day = ${sqliteDay(row)};
    delete from task_deadline_counts where ${unfinished(row)} and assigned_to = ${row}.assigned_to and deadline_day = ${sqliteDay(row)} and tasks = 0;`;
  const dayKey = (row: string) => `case when ${unfinished(row)} then ${row}.assigned_to || ' ' || ${sqliteDay(row)} end`;
  const statements = [
    `create trigger task_deadline_counts_insert after insert on tasks when ${unfinished('new')} begin ${addDay('new')} end`,
    `create trigger task_deadline_counts_delete after delete on tasks when ${unfinished('old')} begin ${removeDay('old')} end`,
    `create trigger task_deadline_counts_update after update of assigned_to, status, deadline on tasks
     when ${dayKey('old')} is not ${dayKey('new')}
     begin ${removeDay('old')} ${addDay('new')} end`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}

/**
 * SQLite: the triggers that keep task_status_counts, by name (migration 0014 recreates them). The upsert adds the change written out again
 * rather than read from `excluded`: renaming the count table (`alter table ... rename`, as SQLite's
 * way of changing a table's columns does) rewrites `excluded.x` in a trigger into the table's own
 * column, and every later upsert would then double the row without an error.
 */
export function sqliteStatusCountTriggers(): Array<{ name: string; sql: string }> {
  const add = (row: string, sign: '+' | '-') => {
    const values = [`${sign}1`, `${sign}${cents(row, 'estimated_hours')}`, `${sign}${cents(row, 'actual_hours')}`];
    return `
    insert into task_status_counts (assigned_to, status, tasks, estimated_cents, actual_cents)
    values (${row}.assigned_to, ${row}.status, ${values.join(', ')})
    on conflict (assigned_to, status) do update set ${STATUS_SUMS.map((sum, i) => `${sum} = ${sum} + (${values[i]})`).join(', ')};`;
  };
  const triggers = {
    task_counts_insert: `after insert on tasks begin ${add('new', '+')} end`,
    task_counts_delete: `after delete on tasks begin ${add('old', '-')} end`,
    task_counts_update: `after update of assigned_to, status, estimated_hours, actual_hours on tasks
     when old.assigned_to is not new.assigned_to or old.status is not new.status
       or old.estimated_hours is not new.estimated_hours or old.actual_hours is not new.actual_hours
     begin ${add('old', '-')} ${add('new', '+')} end`,
  };
  return Object.entries(triggers).map(([name, body]) => ({ name, sql: `create trigger ${name} ${body}` }));
}

const STATUS_SUMS = ['tasks', 'estimated_cents', 'actual_cents'];
/** PostgreSQL: an upsert's `set` that adds the new row's sums to the existing row's (aliased `c`). */
const upsertSums = (sums: string[]) => sums.map((sum) => `${sum} = c.${sum} + excluded.${sum}`).join(', ');

/**
 * The text of apply_task_count_changes, which the statement triggers below call. With `totals`
 * (migration 0013, which replaces the function with it) every change to the per-assignee counts, its
 * own or folded from the deltas, is added to the totals over every assignee in the same statements;
 * without, the function as this migration creates it (and 0013's down migration restores it).
 */
export function applyTaskCountChangesFunction(options: { totals: boolean }): string {
  const lock = `pg_try_advisory_xact_lock(${COUNTS_LOCK_CLASS}, hashtext(current_schema()))`;
  const statusSums = upsertSums(STATUS_SUMS);
  const daySums = upsertSums(['tasks']);
  // Moves a delta table's rows into its counts; with totals also into them: one statement, the moved
  // rows read twice.
  const fold = (kind: { deltas: string; counts: string; totals: string; key: string; sums: string[] }) => {
    const columns = kind.sums.join(', ');
    const summed = kind.sums.map((sum) => `sum(${sum})`).join(', ');
    const moved = `with moved as (delete from ${kind.deltas} returning assigned_to, ${kind.key}, ${columns})`;
    const perAssignee = `insert into ${kind.counts} as c (assigned_to, ${kind.key}, ${columns})
          select assigned_to, ${kind.key}, ${summed} from moved group by assigned_to, ${kind.key}
          on conflict (assigned_to, ${kind.key}) do update set ${upsertSums(kind.sums)}`;
    if (!options.totals) return `${moved}\n        ${perAssignee};`;
    return `${moved},
        per_assignee as (
          ${perAssignee})
        insert into ${kind.totals} as c (${kind.key}, ${columns})
        select ${kind.key}, ${summed} from moved group by ${kind.key}
        on conflict (${kind.key}) do update set ${upsertSums(kind.sums)};`;
  };
  const foldStatus = fold({ deltas: 'task_status_count_deltas', counts: 'task_status_counts', totals: 'task_status_totals', key: 'status', sums: STATUS_SUMS });
  const foldDays = fold({ deltas: 'task_deadline_count_deltas', counts: 'task_deadline_counts', totals: 'task_deadline_totals', key: 'deadline_day', sums: ['tasks'] });
  const ownTotals = options.totals
    ? `
      insert into task_status_totals as c (status, tasks, estimated_cents, actual_cents)
      select status, sum(tasks), sum(estimated), sum(actual) from unnest(s_statuses, s_tasks, s_estimated, s_actual) as z (status, tasks, estimated, actual)
      group by status
      on conflict (status) do update set ${statusSums};
      insert into task_deadline_totals as c (deadline_day, tasks)
      select deadline_day, sum(tasks) from unnest(d_days, d_tasks) as z (deadline_day, tasks) group by deadline_day
      on conflict (deadline_day) do update set ${daySums};`
    : '';
  const pruneTotals = (all: boolean) =>
    !options.totals
      ? ''
      : all
        ? `
        delete from task_deadline_totals where tasks = 0;`
        : `
        delete from task_deadline_totals as c using unnest(d_days) as z (deadline_day) where c.deadline_day = z.deadline_day and c.tasks = 0;`;
  return `
    create or replace function apply_task_count_changes(
      s_assignees integer[], s_statuses varchar[], s_tasks bigint[], s_estimated bigint[], s_actual bigint[],
      d_assignees integer[], d_days timestamptz[], d_tasks bigint[]
    ) returns void language plpgsql as $$
    declare folded bigint := 0;
    begin
      if not ${lock} then
        insert into task_status_count_deltas (assigned_to, status, tasks, estimated_cents, actual_cents)
        select * from unnest(s_assignees, s_statuses, s_tasks, s_estimated, s_actual);
        insert into task_deadline_count_deltas (assigned_to, deadline_day, tasks) select * from unnest(d_assignees, d_days, d_tasks);
        return;
      end if;
      perform 1 from task_status_count_deltas union all select 1 from task_deadline_count_deltas limit 1;
      if found then
        ${foldStatus}
        ${foldDays}
        get diagnostics folded = row_count;
      end if;
      insert into task_status_counts as c (assigned_to, status, tasks, estimated_cents, actual_cents)
      select * from unnest(s_assignees, s_statuses, s_tasks, s_estimated, s_actual)
      on conflict (assigned_to, status) do update set ${statusSums};
      insert into task_deadline_counts as c (assigned_to, deadline_day, tasks) select * from unnest(d_assignees, d_days, d_tasks)
      on conflict (assigned_to, deadline_day) do update set ${daySums};${ownTotals}
      -- A day without unfinished tasks loses its row: readers add up every past day.
      if folded > 0 then
        delete from task_deadline_counts where tasks = 0;${pruneTotals(true)}
      else
        delete from task_deadline_counts as c using unnest(d_assignees, d_days) as z (assigned_to, deadline_day)
        where c.assigned_to = z.assigned_to and c.deadline_day = z.deadline_day and c.tasks = 0;${pruneTotals(false)}
      end if;
    end $$`;
}

/** The text of the function that empties the counts when tasks is truncated (with 0013's totals too). */
export function truncateTaskCountsFunction(options: { totals: boolean }): string {
  const totals = options.totals ? ' delete from task_status_totals; delete from task_deadline_totals;' : '';
  return `create or replace function task_counts_after_truncate() returns trigger language plpgsql as $$ begin
       delete from task_status_counts; delete from task_deadline_counts;
       delete from task_status_count_deltas; delete from task_deadline_count_deltas;${totals}
       return null;
     end $$`;
}

/**
 * Statement triggers (one call per statement, whatever the number of rows) net the changes of the
 * statement's rows per key and hand them to apply_task_count_changes.
 */
async function createPostgresTriggers(db: Kysely<unknown>): Promise<void> {
  await sql.raw(applyTaskCountChangesFunction({ totals: false })).execute(db);

  const changes = (table: string, sign: 1 | -1) =>
    `select assigned_to, status, ${sign} as sign, ${cents(table, 'estimated_hours')} as estimated_cents,
       ${cents(table, 'actual_hours')} as actual_cents, ${postgresDay(table)} as deadline_day from ${table}`;
  const recordChanges = (source: string, skipUnless = '') => `
    declare s record; d record;
    begin
      ${skipUnless}
      select array_agg(assigned_to) as assignees, array_agg(status) as statuses, array_agg(tasks) as tasks,
             array_agg(estimated_cents) as estimated, array_agg(actual_cents) as actual into s
      from (select assigned_to, status, sum(sign) as tasks, sum(sign * estimated_cents) as estimated_cents, sum(sign * actual_cents) as actual_cents
            from (${source}) as changes group by assigned_to, status) as net
      where tasks <> 0 or estimated_cents <> 0 or actual_cents <> 0;
      select array_agg(assigned_to) as assignees, array_agg(deadline_day) as days, array_agg(tasks) as tasks into d
      from (select assigned_to, deadline_day, sum(sign) as tasks from (${source}) as changes where status <> 'completed'
            group by assigned_to, deadline_day) as net
      where tasks <> 0;
      if s.assignees is not null or d.assignees is not null then
        perform apply_task_count_changes(s.assignees, s.statuses, s.tasks, s.estimated, s.actual, d.assignees, d.days, d.tasks);
      end if;
      return null;
    end`;
  // Most updates (titles, priorities, the jobs' markers) change nothing counted: one join says so.
  const counted = ['assigned_to', 'status', 'estimated_hours', 'actual_hours', 'deadline'];
  const skipUnchanged = `
      if not exists (select 1 from new_rows n join old_rows o on o.id = n.id
                     where (${counted.map((c) => `n.${c}`).join(', ')}) is distinct from (${counted.map((c) => `o.${c}`).join(', ')})) then
        return null;
      end if;`;
  const fn = (name: string, body: string) => sql.raw(`create function ${name}() returns trigger language plpgsql as $$ ${body} $$`).execute(db);
  await fn('task_counts_after_insert', recordChanges(changes('new_rows', 1)));
  await fn('task_counts_after_delete', recordChanges(changes('old_rows', -1)));
  await fn('task_counts_after_update', recordChanges(`${changes('new_rows', 1)} union all ${changes('old_rows', -1)}`, skipUnchanged));
  await sql.raw(truncateTaskCountsFunction({ totals: false })).execute(db);
  for (const statement of [
    `create trigger task_counts_insert after insert on tasks referencing new table as new_rows for each statement execute function task_counts_after_insert()`,
    `create trigger task_counts_update after update on tasks referencing old table as old_rows new table as new_rows for each statement execute function task_counts_after_update()`,
    `create trigger task_counts_delete after delete on tasks referencing old table as old_rows for each statement execute function task_counts_after_delete()`,
    `create trigger task_counts_truncate after truncate on tasks for each statement execute function task_counts_after_truncate()`,
  ]) {
    await sql.raw(statement).execute(db);
  }
}
