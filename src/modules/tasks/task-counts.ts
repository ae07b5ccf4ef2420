// Task counts read from what the database keeps (migration 0011: task_status_counts and its deltas,
// maintained by triggers; migration 0013: their totals over every assignee), so their cost grows
// neither with the number of tasks nor, for the whole team, with the number of assignees.
import { sql, type RawBuilder } from 'kysely';
import { compiledOnce } from '../../db/compiled-query.js';
import type { Database } from '../../db/database.js';

/** All tasks, or those assigned to `assignedTo`. */
export interface TaskScope {
  assignedTo?: number;
}

/** `where` with these conditions joined by `and`; nothing without any. */
export function where(...conditions: RawBuilder<unknown>[]): RawBuilder<unknown> {
  return conditions.length === 0 ? sql`` : sql`where ${sql.join(conditions, sql` and `)}`;
}

/** The scope's condition on a table's `assigned_to`, if it has one. */
export function inScope(scope: TaskScope): RawBuilder<unknown>[] {
  return scope.assignedTo === undefined ? [] : [sql`assigned_to = ${scope.assignedTo}`];
}

/**
 * The rows (status, tasks, estimated_cents, actual_cents) counting the scope's tasks: the counts (an
 * assignee's, or the totals over everyone) and the deltas not folded into them yet (PostgreSQL),
 * added up by the caller.
 */
export function statusCountRows(scope: TaskScope): RawBuilder<unknown> {
  const columns = sql`status, tasks, estimated_cents, actual_cents`;
  const counts = scope.assignedTo === undefined ? sql`task_status_totals` : sql`task_status_counts`;
  return sql`select ${columns} from ${counts} ${where(...inScope(scope))}
    union all select ${columns} from task_status_count_deltas ${where(...inScope(scope))}`;
}

/** The table of unfinished tasks per deadline day for the scope: an assignee's, or the totals over everyone. */
export function deadlineCounts(scope: TaskScope): RawBuilder<unknown> {
  return scope.assignedTo === undefined ? sql`task_deadline_totals` : sql`task_deadline_counts`;
}

type Total = { total: number | string | null };
const totalOf = (scope: TaskScope) => sql<Total>`select sum(tasks) as total from (${statusCountRows(scope)}) as counts`;
const allTotal = compiledOnce((db) => ({ compile: () => totalOf({}).compile(db) }));
const ownTotal = compiledOnce((db, assignedTo: number) => ({ compile: () => totalOf({ assignedTo }).compile(db) }));

/** The number of tasks in the scope (what an unfiltered list's X-Total-Count reports); its statement is compiled once. */
export async function countTasks(db: Database, scope: TaskScope): Promise<number> {
  const rows = scope.assignedTo === undefined ? await allTotal.execute(db) : await ownTotal.execute(db, scope.assignedTo);
  return Number(rows[0]?.total ?? 0);
}
