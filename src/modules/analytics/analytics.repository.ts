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

/** Statistics over all tasks, or those assigned to `assignedTo`. `now` is an ISO instant. */
export async function taskStats(db: Database, scope: { assignedTo?: number }, now: string): Promise<TaskStats> {
  let q = db.selectFrom('tasks');
  if (scope.assignedTo !== undefined) q = q.where('tasks.assigned_to', '=', scope.assignedTo);
  const countIf = (condition: ReturnType<typeof sql>) => sql<number | string | null>`sum(case when ${condition} then 1 else 0 end)`;
  const timed = sql`tasks.status = 'completed' and tasks.actual_hours > 0`;
  const row = await q
    .select((eb) => [
      eb.fn.countAll<number | string>().as('total'),
      countIf(sql`tasks.status = 'completed'`).as('completed'),
      countIf(sql`tasks.status = 'pending'`).as('pending'),
      countIf(sql`tasks.status = 'in_progress'`).as('in_progress'),
      countIf(sql`tasks.status = 'blocked'`).as('blocked'),
      countIf(sql`tasks.deadline < ${now} and tasks.status <> 'completed'`).as('overdue'),
      sql<number | string | null>`sum(case when ${timed} then cast(round(tasks.estimated_hours * 100) as integer) else 0 end)`.as(
        'estimated_cents',
      ),
      sql<number | string | null>`sum(case when ${timed} then cast(round(tasks.actual_hours * 100) as integer) else 0 end)`.as(
        'actual_cents',
      ),
    ])
    .executeTakeFirstOrThrow();
  const n = (value: number | string | null) => Number(value ?? 0);
  return {
    total: n(row.total),
    completed: n(row.completed),
    pending: n(row.pending),
    in_progress: n(row.in_progress),
    blocked: n(row.blocked),
    overdue: n(row.overdue),
    completedEstimatedCents: n(row.estimated_cents),
    completedActualCents: n(row.actual_cents),
  };
}
