// Task-side test factories: users signed in at the app's clock, tasks and tags inserted directly
// (no HTTP, no policy), and small readers for asserting on the database.
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../src/db/database.js';
import type { TaskPriority, TaskStatus } from '../../src/db/schema.js';
import { createUserWithSession } from './factories.js';

/** A user with a live session whose tokens are valid at the app's (possibly fixed) clock. */
export const signIn = createUserWithSession;

export type Session = Awaited<ReturnType<typeof signIn>>;

/** One user of each role signed in, and a second developer: the cast of a per-role test. */
export async function signInCast(app: FastifyInstance): Promise<{ manager: Session; dev: Session; otherDev: Session; auditor: Session }> {
  return {
    manager: await signIn(app, { role: 'manager' }),
    dev: await signIn(app, { role: 'developer' }),
    otherDev: await signIn(app, { role: 'developer' }),
    auditor: await signIn(app, { role: 'auditor' }),
  };
}

export interface TaskOptions {
  assignedTo: number;
  createdBy?: number;
  title?: string;
  description?: string;
  status?: TaskStatus;
  priority?: TaskPriority;
  estimatedHours?: number;
  actualHours?: number | null;
  deadline?: string;
  parentTaskId?: number | null;
  priorityEscalated?: boolean;
  createdAt?: string;
  updatedAt?: string;
  tags?: number[];
}

let taskCounter = 0;

/** The row of a task with these options, created at `createdAt` unless they say otherwise. */
function taskRow(options: TaskOptions, createdAt: string) {
  const created = options.createdAt ?? createdAt;
  return {
    title: options.title ?? `Task ${taskCounter}`,
    description: options.description ?? '',
    status: options.status ?? 'pending',
    priority: options.priority ?? 'medium',
    estimated_hours: options.estimatedHours ?? 5,
    actual_hours: options.actualHours ?? null,
    deadline: options.deadline ?? '2026-12-31T17:00:00.000Z',
    priority_escalated: options.priorityEscalated ?? false,
    assigned_to: options.assignedTo,
    created_by: options.createdBy ?? options.assignedTo,
    parent_task_id: options.parentTaskId ?? null,
    created_at: created,
    updated_at: options.updatedAt ?? created,
  };
}

const createdAtOf = (counter: number) => new Date(Date.UTC(2026, 0, 1) + counter * 1000).toISOString();

export async function createTask(db: Database, options: TaskOptions): Promise<number> {
  taskCounter += 1;
  const row = await db.insertInto('tasks').values(taskRow(options, createdAtOf(taskCounter))).returning('id').executeTakeFirstOrThrow();
  if (options.tags && options.tags.length > 0) {
    await db
      .insertInto('task_tags')
      .values(options.tags.map((tagId) => ({ task_id: row.id, tag_id: tagId })))
      .execute();
  }
  return row.id;
}

/** `count` tasks in a few multi-row inserts (for lists of thousands), each with the options `each(i)` gives (tags aside). */
export async function createTasks(db: Database, count: number, each: (i: number) => TaskOptions): Promise<void> {
  const rows = Array.from({ length: count }, (_, i) => {
    taskCounter += 1;
    return taskRow(each(i), createdAtOf(taskCounter));
  });
  for (let i = 0; i < rows.length; i += 200) await db.insertInto('tasks').values(rows.slice(i, i + 200)).execute();
}

let tagCounter = 0;

export async function createTag(db: Database, name?: string): Promise<number> {
  tagCounter += 1;
  const row = await db
    .insertInto('tags')
    .values({ name: name ?? `tag-${tagCounter}-${Math.random().toString(36).slice(2, 8)}`, created_at: new Date().toISOString() })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** The stored row of a task (status, assignment, parent …), or undefined. */
export async function readTask(db: Database, id: number) {
  return db
    .selectFrom('tasks')
    .select(['id', 'title', 'description', 'status', 'priority', 'estimated_hours', 'actual_hours', 'assigned_to', 'parent_task_id', 'updated_at'])
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function countRows(db: Database, table: 'tasks' | 'task_history' | 'task_tags' | 'tags'): Promise<number> {
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A snapshot of everything task-related, to assert that a rejected request changed nothing. */
export async function snapshotTasks(db: Database) {
  const tasks = await db.selectFrom('tasks').selectAll().orderBy('id').execute();
  const tags = await db.selectFrom('task_tags').selectAll().orderBy('task_id').orderBy('tag_id').execute();
  const history = await db.selectFrom('task_history').selectAll().orderBy('id').execute();
  return { tasks, tags, history };
}
