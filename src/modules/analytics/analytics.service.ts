// Analytics for the caller: their own task counts, the team's (all tasks for managers and auditors,
// their own for developers), and an efficiency score — a few aggregate queries whatever the number
// of tasks.
import type { Database } from '../../db/database.js';
import type { Role } from '../../db/schema.js';
import { isoString } from '../../lib/clock.js';
import { taskStats, type TaskCounts, type TaskStats } from './analytics.repository.js';

export interface Analytics {
  my_tasks: TaskCounts;
  team_tasks: TaskCounts;
  efficiency_score: number;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * completion_rate = completed / total × 100; time_efficiency = min(Σestimated / Σactual × 100, 100)
 * over completed tasks with actual hours > 0; score = 0.6 × completion + 0.4 × time efficiency when
 * the latter is defined, else the completion rate; 0 without tasks; rounded to 2 decimals.
 */
export function efficiencyScore(stats: TaskStats): number {
  if (stats.total === 0) return 0;
  const completionRate = (stats.completed / stats.total) * 100;
  if (stats.completedActualCents <= 0) return round2(completionRate);
  const timeEfficiency = Math.min((stats.completedEstimatedCents / stats.completedActualCents) * 100, 100);
  return round2(0.6 * completionRate + 0.4 * timeEfficiency);
}

function counts(stats: TaskStats): TaskCounts {
  const { total, completed, pending, in_progress, blocked, overdue } = stats;
  return { total, completed, pending, in_progress, blocked, overdue };
}

export async function getAnalytics(db: Database, user: { id: number; role: Role }, now: Date): Promise<Analytics> {
  const instant = isoString(now);
  const [mine, team] = await Promise.all([
    taskStats(db, { assignedTo: user.id }, instant),
    user.role === 'developer' ? undefined : taskStats(db, {}, instant),
  ]);
  return { my_tasks: counts(mine), team_tasks: counts(team ?? mine), efficiency_score: efficiencyScore(mine) };
}
