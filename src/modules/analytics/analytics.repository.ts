// Task statistics per scope, read from the counts the database keeps (migrations 0011 and 0013) in one
// statement whatever the number of tasks: counts and the hour sums of completed tasks (in integer
// hundredths, so both dialects add exactly the same numbers) per status, and `overdue` — every
// unfinished task of a past day, plus those due today before now, counted on an index. One row, so
// there is nothing to group or sort. On SQLite, parameters are written so that the planner plans the
// statement once (db/sqlite-dialect.ts). The team's statement reads the totals over every assignee
// (0013): a row per status and per day with unfinished tasks, however many users there are.
import { sql, type RawBuilder } from 'kysely';
import { compiledOnce } from '../../db/compiled-query.js';
import type { Database } from '../../db/database.js';
import { deadlineCounts, inScope, statusCountRows, where, type TaskScope } from '../tasks/task-counts.js';

export interface TaskCounts {
  total: number;
  completed: number;
  pending: number;
  in_progress: number;
  blocked: number;
  overdue: number;
}

export interface TaskStats extends TaskCounts {
  /** Σ estimated_hours × 100 over completed tasks with actual_hours > 0. */
  completedEstimatedCents: number;
  /** Σ actual_hours × 100 over the same tasks. */
  completedActualCents: number;
}

/** The statuses that are not done: a task in one of them is overdue once its deadline has passed. */
const UNFINISHED = sql`status in ('pending', 'in_progress', 'blocked')`;

type Sum = number | string | null;

interface StatsRow {
  total: Sum;
  completed: Sum;
  pending: Sum;
  in_progress: Sum;
  blocked: Sum;
  completed_estimated_cents: Sum;
  completed_actual_cents: Sum;
  overdue: Sum;
}

/** The statement for one scope; `today` is the ISO instant of today's UTC midnight. */
function statsStatement(scope: TaskScope, today: string, now: string): RawBuilder<StatsRow> {
  const past = [...inScope(scope), sql`deadline_day < ${today}`];
  const of = (status: string, column = sql`tasks`) => sql`sum(case when status = ${sql.lit(status)} then ${column} else 0 end)`;
  return sql<StatsRow>`
    select sum(tasks) as total, ${of('completed')} as completed, ${of('pending')} as pending,
      ${of('in_progress')} as in_progress, ${of('blocked')} as blocked,
      ${of('completed', sql`estimated_cents`)} as completed_estimated_cents, ${of('completed', sql`actual_cents`)} as completed_actual_cents,
      (
        select coalesce(sum(tasks), 0) from (
          select tasks from ${deadlineCounts(scope)} ${where(...past)}
          union all select tasks from task_deadline_count_deltas ${where(...past)}
        ) as past_days
      ) + (
        select count(*) from tasks ${where(...inScope(scope), UNFINISHED, sql`deadline >= ${today}`, sql`deadline < ${now}`)}
      ) as overdue
    from (${statusCountRows(scope)}) as counts`;
}

// Compiled once and, on PostgreSQL, planned once per connection (named prepared statements): the
// planning cost as much as running the statement.
const teamStatsRows = compiledOnce((db, today: string, now: string) => ({ compile: () => statsStatement({}, today, now).compile(db) }));
const ownStatsRows = compiledOnce((db, today: string, now: string, assignedTo: number) => ({
  compile: () => statsStatement({ assignedTo }, today, now).compile(db),
}));

/**
 * Statistics over all tasks, or those assigned to `assignedTo`. `now` is an ISO instant. Overdue
 * tasks are counted per day of their deadline: the days before today's UTC midnight are added up
 * from the kept counts, and only today's tasks are read (from the covering index of migration 0007),
 * so the answer is exact at any instant without a write, on every instance.
 */
export async function taskStats(db: Database, scope: TaskScope, now: string): Promise<TaskStats> {
  const today = `${now.slice(0, 10)}T00:00:00.000Z`;
  const row =
    scope.assignedTo === undefined
      ? await teamStatsRows.executeTakeFirst(db, today, now)
      : await ownStatsRows.executeTakeFirst(db, today, now, scope.assignedTo);
  const n = (value: Sum | undefined) => Number(value ?? 0);
  return {
    total: n(row?.total),
    completed: n(row?.completed),
    pending: n(row?.pending),
    in_progress: n(row?.in_progress),
    blocked: n(row?.blocked),
    overdue: n(row?.overdue),
    completedEstimatedCents: n(row?.completed_estimated_cents),
    completedActualCents: n(row?.completed_actual_cents),
  };
}
