// Task statistics as one aggregate query per scope: counts per status, overdue, and the hour sums
// of completed tasks (in integer hundredths, so both dialects add exactly the same numbers).
import { sql } from 'kysely';
import type { Database } from '../../db/database.js';

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

/**
 * Statistics over all tasks, or those assigned to `assignedTo`. `now` is an ISO instant. One row per
 * status (a covering index, migration 0007, holds every column read), summed here: half the work of
 * one row with a CASE per figure, which evaluated every condition for every task.
 */
export async function taskStats(db: Database, scope: { assignedTo?: number }, now: string): Promise<TaskStats> {
  let q = db.selectFrom('tasks');
  if (scope.assignedTo !== undefined) q = q.where('tasks.assigned_to', '=', scope.assignedTo);
  const timed = sql`tasks.actual_hours > 0`;
  const rows = await q
    .select((eb) => [
      'tasks.status',
      eb.fn.countAll<number | string>().as('count'),
      sql<number | string | null>`sum(case when tasks.deadline < ${now} then 1 else 0 end)`.as('past_deadline'),
      sql<number | string | null>`sum(case when ${timed} then cast(round(tasks.estimated_hours * 100) as integer) else 0 end)`.as('estimated_cents'),
      sql<number | string | null>`sum(case when ${timed} then cast(round(tasks.actual_hours * 100) as integer) else 0 end)`.as('actual_cents'),
    ])
    .groupBy('tasks.status')
    .execute();
  const n = (value: number | string | null) => Number(value ?? 0);
  const stats: TaskStats = { total: 0, completed: 0, pending: 0, in_progress: 0, blocked: 0, overdue: 0, completedEstimatedCents: 0, completedActualCents: 0 };
  for (const row of rows) {
    const count = n(row.count);
    stats.total += count;
    if (row.status === 'completed') {
      stats.completed = count;
      stats.completedEstimatedCents = n(row.estimated_cents);
      stats.completedActualCents = n(row.actual_cents);
      continue;
    }
    stats.overdue += n(row.past_deadline);
    if (row.status === 'pending' || row.status === 'in_progress' || row.status === 'blocked') stats[row.status] = count;
  }
  return stats;
}
