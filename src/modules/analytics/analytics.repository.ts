// Task statistics per scope, read from the counts the database keeps (migration 0011) in one
// statement whatever the number of tasks: counts and the hour sums of completed tasks (in integer
// hundredths, so both dialects add exactly the same numbers) per status, and `overdue` — every
// unfinished task of a past day, plus those due today before now, counted on an index.
import { sql, type RawBuilder } from 'kysely';
import { compiledOnce } from '../../db/compiled-query.js';
import type { Database } from '../../db/database.js';
import { inScope, statusCountRows, where, type TaskScope } from '../tasks/task-counts.js';

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

interface StatsRow {
  status: string;
  tasks: number | string | null;
  estimated_cents: number | string | null;
  actual_cents: number | string | null;
}

/** The statement for one scope; `today` is the ISO instant of today's UTC midnight. */
function statsStatement(scope: TaskScope, today: string, now: string): RawBuilder<StatsRow> {
  const past = [...inScope(scope), sql`deadline_day < ${today}`];
  return sql<StatsRow>`
    select status, sum(tasks) as tasks, sum(estimated_cents) as estimated_cents, sum(actual_cents) as actual_cents
    from (${statusCountRows(scope)}) as counts
    group by status
    union all
    select 'overdue', (
      select coalesce(sum(tasks), 0) from (
        select tasks from task_deadline_counts ${where(...past)}
        union all select tasks from task_deadline_count_deltas ${where(...past)}
      ) as past_days
    ) + (
      select count(*) from tasks ${where(...inScope(scope), UNFINISHED, sql`deadline >= ${today}`, sql`deadline < ${now}`)}
    ), 0, 0`;
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
  const rows =
    scope.assignedTo === undefined ? await teamStatsRows.execute(db, today, now) : await ownStatsRows.execute(db, today, now, scope.assignedTo);
  const n = (value: number | string | null) => Number(value ?? 0);
  const stats: TaskStats = { total: 0, completed: 0, pending: 0, in_progress: 0, blocked: 0, overdue: 0, completedEstimatedCents: 0, completedActualCents: 0 };
  for (const row of rows) {
    const count = n(row.tasks);
    if (row.status === 'overdue') {
      stats.overdue = count;
      continue;
    }
    stats.total += count;
    if (row.status === 'completed') {
      stats.completed = count;
      stats.completedEstimatedCents = n(row.estimated_cents);
      stats.completedActualCents = n(row.actual_cents);
    } else if (row.status === 'pending' || row.status === 'in_progress' || row.status === 'blocked') {
      stats[row.status] = count;
    }
  }
  return stats;
}
