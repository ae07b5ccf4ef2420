// Tasks table access: plain functions taking a database or a transaction. Lists apply the role
// scope and filters in SQL, count without loading rows, and hydrate a page with a constant number
// of queries (rows with usernames by join, then tags and "has subtasks" for all ids at once).
import { sql, type Compilable, type Insertable, type Selectable, type SelectQueryBuilder, type Updateable } from 'kysely';
import { boundedIdList, compiledOnce, type CompiledOnce } from '../../db/compiled-query.js';
import type { Database } from '../../db/database.js';
import type { DB, TaskPriority, TasksTable, TaskStatus } from '../../db/schema.js';
import type { TaskScope } from './tasks.policy.js';
import type { TaskOrdering, TaskPublic } from './tasks.schemas.js';
import { formatHours, formatTimestamp } from './task-input.js';
import { countTasks as countTasksInScope } from './task-counts.js';

/** Every column of a task row, as stored. */
export const TASK_COLUMNS = [
  'tasks.id',
  'tasks.title',
  'tasks.description',
  'tasks.status',
  'tasks.priority',
  'tasks.estimated_hours',
  'tasks.actual_hours',
  'tasks.deadline',
  'tasks.priority_escalated',
  'tasks.deadline_warning_sent_for',
  'tasks.assigned_to',
  'tasks.created_by',
  'tasks.parent_task_id',
  'tasks.created_at',
  'tasks.updated_at',
] as const;

export type TaskRecord = Selectable<TasksTable>;
export type TaskRow = TaskRecord & { assigned_to_user: string; created_by_user: string };

export interface TaskFilters {
  status?: TaskStatus;
  priority?: TaskPriority;
  assignedTo?: number;
  createdBy?: number;
  tagId?: number;
  /** A parent id, or null for top-level tasks only. */
  parentTask?: number | null;
  search?: string;
  /** ISO instants (exclusive bounds). */
  deadlineBefore?: string;
  deadlineAfter?: string;
  overdue?: boolean;
}

export interface Page {
  limit: number;
  offset: number;
}

const PRIORITY_RANK = sql`case tasks.priority when 'low' then 1 when 'medium' then 2 when 'high' then 3 when 'critical' then 4 else 0 end`;
const STATUS_RANK = sql`case tasks.status when 'pending' then 1 when 'in_progress' then 2 when 'blocked' then 3 when 'completed' then 4 else 0 end`;

/** Escapes LIKE wildcards so a search for "50%" matches the text "50%". Escape character: backslash. */
export function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function scopedTasks(db: Database, scope: TaskScope, filters: TaskFilters, now: string) {
  let q = db.selectFrom('tasks');
  if (scope.assignedTo !== undefined) q = q.where('tasks.assigned_to', '=', scope.assignedTo);
  if (filters.status !== undefined) q = q.where('tasks.status', '=', filters.status);
  if (filters.priority !== undefined) q = q.where('tasks.priority', '=', filters.priority);
  if (filters.assignedTo !== undefined) q = q.where('tasks.assigned_to', '=', filters.assignedTo);
  if (filters.createdBy !== undefined) q = q.where('tasks.created_by', '=', filters.createdBy);
  if (filters.parentTask === null) q = q.where('tasks.parent_task_id', 'is', null);
  else if (filters.parentTask !== undefined) q = q.where('tasks.parent_task_id', '=', filters.parentTask);
  if (filters.tagId !== undefined) {
    const tagId = filters.tagId;
    q = q.where('tasks.id', 'in', (eb) => eb.selectFrom('task_tags').select('task_tags.task_id').where('task_tags.tag_id', '=', tagId));
  }
  if (filters.search !== undefined && filters.search !== '') {
    const pattern = likeContains(filters.search);
    q = q.where(
      sql<boolean>`(lower(tasks.title) like lower(${pattern}) escape '\\' or lower(tasks.description) like lower(${pattern}) escape '\\')`,
    );
  }
  if (filters.deadlineBefore !== undefined) q = q.where('tasks.deadline', '<', filters.deadlineBefore);
  if (filters.deadlineAfter !== undefined) q = q.where('tasks.deadline', '>', filters.deadlineAfter);
  if (filters.overdue === true) {
    q = q.where('tasks.deadline', '<', now).where('tasks.status', '<>', 'completed');
  } else if (filters.overdue === false) {
    q = q.where((eb) => eb.or([eb('tasks.deadline', '>=', now), eb('tasks.status', '=', 'completed')]));
  }
  return q;
}

function withUsernames(q: SelectQueryBuilder<DB, 'tasks', object>) {
  return q
    .innerJoin('users as assignee', 'assignee.id', 'tasks.assigned_to')
    .innerJoin('users as creator', 'creator.id', 'tasks.created_by')
    .select([...TASK_COLUMNS, 'assignee.username as assigned_to_user', 'creator.username as created_by_user']);
}

const unfiltered = (filters: TaskFilters) => Object.values(filters).every((value) => value === undefined);

/** No role scope and no filter: every task, the list's first screen for managers and auditors. */
const isWholeTable = (scope: TaskScope, filters: TaskFilters) => scope.assignedTo === undefined && unfiltered(filters);

/**
 * The number of matching tasks. Without filters (a manager's whole list, a developer's own) it is
 * read from the counts the database keeps (migration 0011), whose cost does not grow with the tasks.
 */
export async function countTasks(db: Database, scope: TaskScope, filters: TaskFilters, now: string): Promise<number> {
  if (unfiltered(filters)) return countTasksInScope(db, { assignedTo: scope.assignedTo });
  const row = await scopedTasks(db, scope, filters, now)
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** The scoped, filtered tasks in the requested order (ties broken by id, the same way). */
function orderedTasks<O>(q: SelectQueryBuilder<DB, 'tasks', O>, ordering: TaskOrdering) {
  const descending = ordering.startsWith('-');
  const key = (descending ? ordering.slice(1) : ordering) as TaskOrdering;
  const direction = descending ? 'desc' : 'asc';
  switch (key) {
    case 'priority':
      q = q.orderBy(PRIORITY_RANK, direction);
      break;
    case 'status':
      q = q.orderBy(STATUS_RANK, direction);
      break;
    case 'title':
      q = q.orderBy(sql`lower(tasks.title)`, direction);
      break;
    case 'deadline':
    case 'created_at':
    case 'updated_at':
    case 'estimated_hours':
      q = q.orderBy(`tasks.${key}`, direction);
      break;
    default:
      break;
  }
  return q.orderBy('tasks.id', direction);
}

export async function listTaskRows(
  db: Database,
  scope: TaskScope,
  filters: TaskFilters,
  ordering: TaskOrdering,
  page: Page,
  now: string,
): Promise<TaskRow[]> {
  if (isWholeTable(scope, filters)) return wholeTablePage(ordering).execute(db, page.limit, page.offset);
  return orderedTasks(withUsernames(scopedTasks(db, scope, filters, now)), ordering).limit(page.limit).offset(page.offset).execute();
}

/** The page query of the whole table, per ordering, compiled once (the most requested list). */
const wholeTablePages = new Map<TaskOrdering, CompiledOnce<[number, number], TaskRow>>();

function wholeTablePage(ordering: TaskOrdering): CompiledOnce<[number, number], TaskRow> {
  let query = wholeTablePages.get(ordering);
  if (!query) {
    query = compiledOnce((db, limit: number, offset: number) => orderedTasks(withUsernames(db.selectFrom('tasks')), ordering).limit(limit).offset(offset));
    wholeTablePages.set(ordering, query);
  }
  return query;
}

/** Orderings an index serves in both directions, ties broken by id: the column, or null for the id itself. */
const KEYSET_COLUMNS: Partial<Record<string, 'tasks.created_at' | 'tasks.deadline' | null>> = {
  created_at: 'tasks.created_at',
  deadline: 'tasks.deadline',
  id: null,
};

/** Orderings by a rank: every value the rank can take, ascending. */
const RANKS: Partial<Record<string, typeof PRIORITY_RANK>> = { priority: PRIORITY_RANK, status: STATUS_RANK };
const RANK_VALUES = [0, 1, 2, 3, 4];

/** Ids piece by piece, each piece read by `read` from the last row of the one before. */
async function* keysetPieces<Row extends { id: number }>(read: (last: Row | undefined) => Promise<Row[]>, pieceSize: number): AsyncGenerator<number[]> {
  let last: Row | undefined;
  for (;;) {
    const rows = await read(last);
    if (rows.length > 0) yield rows.map((row) => row.id);
    if (rows.length < pieceSize) return;
    last = rows[rows.length - 1];
  }
}

/**
 * The ids of every matching task, in order, at most `pieceSize` a piece, so that no single
 * statement reads them all. Orderings an index serves are read by keyset: each piece starts after
 * the (key, id) the last one ended with, so no piece sorts or skips what came before. A rank
 * (priority, status) has five values: each is read in id order, which the primary key serves.
 * Other orderings (title, updated_at, estimated_hours) need a sort of every matching row, which
 * each piece would repeat: their ids come in one piece.
 */
export async function* listTaskIdPieces(
  db: Database,
  scope: TaskScope,
  filters: TaskFilters,
  ordering: TaskOrdering,
  now: string,
  pieceSize: number,
): AsyncGenerator<number[]> {
  const descending = ordering.startsWith('-');
  const key = descending ? ordering.slice(1) : ordering;
  const after = descending ? '<' : '>';
  const column = KEYSET_COLUMNS[key];
  const rank = RANKS[key];
  const read = idPieceReader(db, scope, filters, ordering);
  if (rank !== undefined) {
    const ofRank = (d: Database, s: TaskScope, value: Arg, limit: Arg) =>
      scopedTasks(d, s, filters, now)
        .select('tasks.id')
        .orderBy('tasks.id', descending ? 'desc' : 'asc')
        .limit(limit as number)
        .where(sql<boolean>`${rank} = ${value}`);
    for (const value of descending ? [...RANK_VALUES].reverse() : RANK_VALUES) {
      yield* keysetPieces(
        (last) =>
          last === undefined
            ? read('rank', (d, s, v, limit) => ofRank(d, s, v, limit), value, pieceSize)
            : read('rank-after', (d, s, v, id, limit) => ofRank(d, s, v, limit).where('tasks.id', after, id as number), value, last.id, pieceSize),
        pieceSize,
      );
    }
    return;
  }
  const ids = (d: Database, s: TaskScope) => orderedTasks(scopedTasks(d, s, filters, now).select('tasks.id'), ordering);
  if (column === undefined) {
    yield (await read('all', (d, s) => ids(d, s))).map((row) => row.id);
    return;
  }
  // The key as text: the database compares it exactly (a timestamp read as a value may lose digits).
  const keyed = (d: Database, s: TaskScope, limit: Arg) =>
    ids(d, s)
      .select(sql<string>`cast(${sql.ref(column ?? 'tasks.id')} as text)`.as('sort_key'))
      .limit(limit as number);
  yield* keysetPieces<{ id: number; sort_key: string }>(
    (last) =>
      last === undefined
        ? read('first', (d, s, limit) => keyed(d, s, limit), pieceSize)
        : column === null
          ? read('after-id', (d, s, id, limit) => keyed(d, s, limit).where('tasks.id', after, id as number), last.id, pieceSize)
          : read(
              'after-key',
              (d, s, sortKey, id, limit) => keyed(d, s, limit).where(sql<boolean>`(${sql.ref(column)}, tasks.id) ${sql.raw(after)} (${sortKey}, ${id})`),
              last.sort_key,
              last.id,
              pieceSize,
            ),
    pieceSize,
  );
}

/** A value the query builder receives where a statement compiled once takes an argument (compiledOnce's placeholder). */
type Arg = string | number | object;
type IdPieceStatement = (db: Database, scope: TaskScope, ...args: Arg[]) => Compilable<unknown>;

/** The id pieces' statements without filters, per ordering, scope kind and piece kind (see idPieceReader). */
const idPieceStatements = new Map<string, CompiledOnce<Array<string | number>, unknown>>();

/**
 * Runs one statement of listTaskIdPieces: `build` with these arguments. Without filters (every
 * whole list but a filtered one) the statement is compiled once, the scope's assignee and the
 * arguments passed as parameters; with filters it is built every time (the filters shape its SQL).
 */
function idPieceReader(db: Database, scope: TaskScope, filters: TaskFilters, ordering: TaskOrdering) {
  const own = scope.assignedTo;
  return async <R>(kind: string, build: (db: Database, scope: TaskScope, ...args: Arg[]) => Compilable<R>, ...args: Array<string | number>): Promise<R[]> => {
    if (!unfiltered(filters)) return (await db.executeQuery(build(db, scope, ...args).compile())).rows;
    const statementKey = `${ordering} ${own === undefined ? 'all' : 'own'} ${kind}`;
    let statement = idPieceStatements.get(statementKey);
    if (!statement) {
      const compile: IdPieceStatement = build;
      statement = compiledOnce((d, ...slots: Array<string | number>) =>
        own === undefined ? compile(d, {}, ...slots) : compile(d, { assignedTo: slots[0] as number }, ...slots.slice(1)),
      );
      idPieceStatements.set(statementKey, statement);
    }
    return (await statement.execute(db, ...(own === undefined ? args : [own, ...args]))) as R[];
  };
}

const taskRowsByIds = compiledOnce((db, ids: readonly number[]) => withUsernames(db.selectFrom('tasks')).where('tasks.id', 'in', ids));

/** These tasks (with usernames), in the order of `ids`; ids that no longer exist are skipped. */
export async function findTaskRowsByIds(db: Database, ids: readonly number[]): Promise<TaskRow[]> {
  if (ids.length === 0) return [];
  const rows = await taskRowsByIds.execute(db, boundedIdList(ids));
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

const taskRowById = compiledOnce((db, id: number) => withUsernames(db.selectFrom('tasks')).where('tasks.id', '=', id));

export async function findTaskRow(db: Database, id: number): Promise<TaskRow | undefined> {
  return taskRowById.executeTakeFirst(db, id);
}

export async function findTaskRecord(db: Database, id: number): Promise<TaskRecord | undefined> {
  return db.selectFrom('tasks').select(TASK_COLUMNS).where('tasks.id', '=', id).executeTakeFirst();
}

export async function findTaskRecords(db: Database, ids: readonly number[]): Promise<TaskRecord[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('tasks').select(TASK_COLUMNS).where('tasks.id', 'in', ids).orderBy('tasks.id').execute();
}

const tagIdsOfTasks = compiledOnce((db, taskIds: readonly number[]) =>
  db
    .selectFrom('task_tags')
    .select(['task_tags.task_id', 'task_tags.tag_id'])
    .where('task_tags.task_id', 'in', taskIds)
    .orderBy('task_tags.task_id')
    .orderBy('task_tags.tag_id'),
);

/** Tag ids per task id, ascending, for all `taskIds` in one query. */
export async function findTagIdsByTask(db: Database, taskIds: readonly number[]): Promise<Map<number, number[]>> {
  const byTask = new Map<number, number[]>();
  if (taskIds.length === 0) return byTask;
  const rows = await tagIdsOfTasks.execute(db, boundedIdList(taskIds));
  for (const row of rows) {
    const list = byTask.get(row.task_id);
    if (list) list.push(row.tag_id);
    else byTask.set(row.task_id, [row.tag_id]);
  }
  return byTask;
}

const parentsAmong = compiledOnce((db, taskIds: readonly number[]) =>
  db.selectFrom('tasks').select('tasks.parent_task_id').distinct().where('tasks.parent_task_id', 'in', taskIds),
);

/** Which of `taskIds` have at least one subtask, in one query. */
export async function findParentIds(db: Database, taskIds: readonly number[]): Promise<Set<number>> {
  if (taskIds.length === 0) return new Set();
  const rows = await parentsAmong.execute(db, boundedIdList(taskIds));
  return new Set(rows.map((r) => Number(r.parent_task_id)));
}

export function toTaskPublic(row: TaskRow, tags: number[], isParent: boolean): TaskPublic {
  return {
    id: row.id,
    title: row.title,
    description: row.description ?? '',
    status: row.status,
    priority: row.priority,
    estimated_hours: formatHours(row.estimated_hours),
    actual_hours: row.actual_hours === null ? null : formatHours(row.actual_hours),
    deadline: formatTimestamp(row.deadline),
    priority_escalated: Boolean(row.priority_escalated),
    assigned_to: row.assigned_to,
    assigned_to_user: row.assigned_to_user,
    created_by: row.created_by,
    created_by_user: row.created_by_user,
    parent_task: row.parent_task_id,
    is_parent: isParent,
    tags,
    created_at: formatTimestamp(row.created_at),
    updated_at: formatTimestamp(row.updated_at),
  };
}

/** Full Task objects for `rows`, keeping their order: two extra queries whatever the page size. */
export async function hydrateTasks(db: Database, rows: readonly TaskRow[]): Promise<TaskPublic[]> {
  const ids = rows.map((r) => r.id);
  const [tags, parents] = await Promise.all([findTagIdsByTask(db, ids), findParentIds(db, ids)]);
  return rows.map((row) => toTaskPublic(row, tags.get(row.id) ?? [], parents.has(row.id)));
}

export async function findTaskView(db: Database, id: number): Promise<TaskPublic | undefined> {
  const row = await findTaskRow(db, id);
  if (!row) return undefined;
  const [view] = await hydrateTasks(db, [row]);
  return view;
}

export type NewTask = Omit<Insertable<TasksTable>, 'id' | 'deadline_warning_sent_for'>;

export async function insertTask(db: Database, task: NewTask): Promise<number> {
  const row = await db.insertInto('tasks').values(task).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

export type TaskChanges = Omit<Updateable<TasksTable>, 'id' | 'created_by' | 'created_at'>;

export async function updateTask(db: Database, id: number, changes: TaskChanges): Promise<void> {
  if (Object.keys(changes).length === 0) return;
  await db.updateTable('tasks').set(changes).where('id', '=', id).execute();
}

export async function updateTasksStatus(db: Database, ids: readonly number[], status: TaskStatus, now: string): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('tasks').set({ status, updated_at: now }).where('id', 'in', ids).execute();
}

/** Deletes a task; its subtasks stay, detached (explicitly, not only through the foreign key). */
export async function deleteTask(db: Database, id: number, now: string): Promise<void> {
  await db.updateTable('tasks').set({ parent_task_id: null, updated_at: now }).where('parent_task_id', '=', id).execute();
  await db.deleteFrom('tasks').where('id', '=', id).execute();
}

export async function replaceTaskTags(db: Database, taskId: number, tagIds: readonly number[]): Promise<void> {
  await db.deleteFrom('task_tags').where('task_id', '=', taskId).execute();
  if (tagIds.length > 0) {
    await db
      .insertInto('task_tags')
      .values(tagIds.map((tagId) => ({ task_id: taskId, tag_id: tagId })))
      .execute();
  }
}

/** Upper bound of the ancestor walk: deeper chains are refused as if they were cycles. */
export const MAX_TASK_DEPTH = 1000;

/** True when making `parentId` the parent of `taskId` would make the task its own ancestor. */
export async function wouldCreateCycle(db: Database, taskId: number, parentId: number): Promise<boolean> {
  if (taskId === parentId) return true;
  const result = await sql<{ id: number; depth: number }>`
    with recursive ancestors (id, parent_task_id, depth) as (
      select id, parent_task_id, 0 from tasks where id = ${parentId}
      union all
      select t.id, t.parent_task_id, a.depth + 1
      from tasks t join ancestors a on t.id = a.parent_task_id
      where a.depth < ${MAX_TASK_DEPTH}
    )
    select id, depth from ancestors where id = ${taskId} or depth >= ${MAX_TASK_DEPTH}
    limit 1`.execute(db);
  return result.rows.length > 0;
}

/** One batch of the scoped, filtered tasks after task `afterId`, in id order: keyset pagination for exports. */
export async function listTaskRowsAfter(
  db: Database,
  scope: TaskScope,
  filters: TaskFilters,
  afterId: number,
  limit: number,
  now: string,
): Promise<TaskRow[]> {
  return withUsernames(scopedTasks(db, scope, filters, now)).where('tasks.id', '>', afterId).orderBy('tasks.id').limit(limit).execute();
}

/** Tag names per task id, alphabetical, for all `taskIds` in one query. */
export async function findTagNamesByTask(db: Database, taskIds: readonly number[]): Promise<Map<number, string[]>> {
  const byTask = new Map<number, string[]>();
  if (taskIds.length === 0) return byTask;
  const rows = await db
    .selectFrom('task_tags')
    .innerJoin('tags', 'tags.id', 'task_tags.tag_id')
    .select(['task_tags.task_id', 'tags.name'])
    .where('task_tags.task_id', 'in', [...taskIds])
    .orderBy('task_tags.task_id')
    .orderBy(sql`lower(tags.name)`)
    .execute();
  for (const row of rows) byTask.set(row.task_id, [...(byTask.get(row.task_id) ?? []), row.name]);
  return byTask;
}

export async function userExists(db: Database, id: number): Promise<boolean> {
  const row = await db.selectFrom('users').select('users.id').where('users.id', '=', id).executeTakeFirst();
  return row !== undefined;
}
