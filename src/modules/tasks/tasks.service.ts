// The one place where tasks change: create, update, delete and bulk status updates. Each function
// loads, authorizes (tasks.policy) and writes inside one transaction, records history, and returns
// the ids it touched plus a list of events computed in that transaction. The notifications those
// events call for are written in the same transaction and returned, so the caller pushes them to
// sockets only after the commit; an event whose recipient is the actor is still reported, but
// produces no notification.
//
// History shape: "created" (to_status = the initial status); a PATCH writes at most one row —
// "status_changed" (from/to set) when the status changed, else "updated" — whose `changes` lists
// every changed field name, "status" included; a bulk update writes "bulk_update" (from/to,
// changes ["status"]) for each task whose status actually changed.
import type { Database } from '../../db/database.js';
import { lockRows, lockTaskHierarchy } from '../../db/locks.js';
import type { TaskPriority, TaskStatus } from '../../db/schema.js';
import { AppError, invalid, notFound } from '../../errors.js';
import { parseId, parseIds } from '../../lib/ids.js';
import { insertNotifications } from '../notifications/notifications.repository.js';
import type { NotificationPublic } from '../notifications/notifications.schemas.js';
import { notificationsForTaskEvents } from '../notifications/task-notifications.js';
import { enqueueTaskWebhooks } from '../webhooks/task-webhooks.js';
import { insertHistory, type NewHistoryEntry } from './history.repository.js';
import { formatHours, formatTimestamp, parseDateTime, parseHours } from './task-input.js';
import {
  canSeeTask,
  checkCanModifyTasks,
  checkCreateTask,
  checkModifyTask,
  checkParentChoice,
  enforce,
  TASK_NOT_FOUND,
  type Actor,
  type WorkHours,
} from './tasks.policy.js';
import {
  deleteTask as deleteTaskRow,
  findTagIdsByTask,
  findTaskRecord,
  findTaskRecords,
  findTaskView,
  insertTask,
  replaceTaskTags,
  updateTask as updateTaskRow,
  updateTasksStatus,
  userExists,
  wouldCreateCycle,
  type TaskChanges,
} from './tasks.repository.js';
import type { BulkUpdate, TaskCreate, TaskPublic, TaskUpdate } from './tasks.schemas.js';

export type TaskEvent =
  | { type: 'assigned'; taskId: number; taskTitle: string; userId: number; actorId: number }
  | { type: 'unassigned'; taskId: number; taskTitle: string; userId: number; actorId: number }
  | {
      type: 'status_changed';
      taskId: number;
      taskTitle: string;
      /** The assignee after the change. */
      userId: number;
      actorId: number;
      from: TaskStatus;
      to: TaskStatus;
    };

export interface TaskChangeResult<T> {
  result: T;
  events: TaskEvent[];
  /** Written in the change's transaction; push them only once it has committed. */
  notifications: NotificationPublic[];
}

/** Records the notifications the events call for, in the change's transaction. */
async function withNotifications<T>(trx: Database, result: T, events: TaskEvent[], timestamp: string): Promise<TaskChangeResult<T>> {
  const notifications = await insertNotifications(trx, notificationsForTaskEvents(events), timestamp);
  return { result, events, notifications };
}

export const ASSIGNEE_NOT_FOUND = 'Assigned user not found';

// ---------------------------------------------------------------------------------------------
// Input normalisation (422s), before any database work.

export interface NormalizedCreate {
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  estimatedHours: number;
  actualHours: number | null;
  deadline: string;
  assignedTo: number | undefined;
  parentTask: number | null;
  tags: number[];
  priorityEscalated: boolean | undefined;
}

export type NormalizedUpdate = Partial<Omit<NormalizedCreate, 'assignedTo'>> & { assignedTo?: number };

function checkTitle(title: string): string {
  if (title.trim() === '') throw invalid(['body', 'title'], 'must not be blank');
  return title;
}

/** Distinct ids, ascending. */
export function uniqueIds(ids: readonly number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

export function normalizeCreate(input: TaskCreate): NormalizedCreate {
  return {
    title: checkTitle(input.title),
    description: input.description ?? '',
    status: input.status ?? 'pending',
    priority: input.priority ?? 'medium',
    estimatedHours: parseHours(input.estimated_hours, ['body', 'estimated_hours'], { allowZero: false }),
    actualHours:
      input.actual_hours === undefined || input.actual_hours === null
        ? null
        : parseHours(input.actual_hours, ['body', 'actual_hours'], { allowZero: true }),
    deadline: parseDateTime(input.deadline, ['body', 'deadline']),
    assignedTo: input.assigned_to === undefined ? undefined : parseId(input.assigned_to, ['body', 'assigned_to']),
    parentTask: input.parent_task === undefined || input.parent_task === null ? null : parseId(input.parent_task, ['body', 'parent_task']),
    tags: uniqueIds(parseIds(input.tags ?? [], ['body', 'tags'])),
    priorityEscalated: input.priority_escalated,
  };
}

export function normalizeUpdate(input: TaskUpdate): NormalizedUpdate {
  const out: NormalizedUpdate = {};
  if (input.title !== undefined) out.title = checkTitle(input.title);
  if (input.description !== undefined) out.description = input.description ?? '';
  if (input.status !== undefined) out.status = input.status;
  if (input.priority !== undefined) out.priority = input.priority;
  if (input.estimated_hours !== undefined) {
    out.estimatedHours = parseHours(input.estimated_hours, ['body', 'estimated_hours'], { allowZero: false });
  }
  if (input.actual_hours !== undefined) {
    out.actualHours =
      input.actual_hours === null ? null : parseHours(input.actual_hours, ['body', 'actual_hours'], { allowZero: true });
  }
  if (input.deadline !== undefined) out.deadline = parseDateTime(input.deadline, ['body', 'deadline']);
  if (input.assigned_to !== undefined) out.assignedTo = parseId(input.assigned_to, ['body', 'assigned_to']);
  if (input.parent_task !== undefined) {
    out.parentTask = input.parent_task === null ? null : parseId(input.parent_task, ['body', 'parent_task']);
  }
  if (input.tags !== undefined) out.tags = uniqueIds(parseIds(input.tags, ['body', 'tags']));
  if (input.priority_escalated !== undefined) out.priorityEscalated = input.priority_escalated;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shared checks inside a transaction.

/** Runs `work` in a new transaction, or in the caller's when `db` already is one (e.g. seeding). */
export function inTransaction<T>(db: Database, work: (trx: Database) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

/** The task as this transaction leaves it: what the response shows is what was committed. */
async function committedView(trx: Database, taskId: number): Promise<TaskPublic> {
  const view = await findTaskView(trx, taskId);
  if (!view) throw notFound(TASK_NOT_FOUND);
  return view;
}

async function requireAssignee(trx: Database, userId: number): Promise<void> {
  if (!(await userExists(trx, userId))) throw notFound(ASSIGNEE_NOT_FOUND);
}

// Referenced rows are locked against deletion until the transaction commits, so a tag or parent
// deleted by a concurrent request is a 404 here rather than a foreign-key failure at insert.
async function requireTags(trx: Database, tagIds: readonly number[]): Promise<void> {
  const existing = await lockRows(trx, 'tags', tagIds, 'key share');
  const missing = tagIds.filter((id) => !existing.has(id));
  if (missing.length > 0) throw notFound(`Tag not found: ${missing.join(', ')}`);
}

async function requireParent(trx: Database, actor: Actor, parentId: number): Promise<void> {
  const exists = (await lockRows(trx, 'tasks', [parentId], 'key share')).has(parentId);
  enforce(checkParentChoice(actor, exists ? await findTaskRecord(trx, parentId) : undefined));
}

// ---------------------------------------------------------------------------------------------
// Operations.

export async function createTask(
  db: Database,
  actor: Actor,
  input: NormalizedCreate,
  now: Date,
  hours: WorkHours,
): Promise<TaskChangeResult<{ taskId: number; task: TaskPublic }>> {
  const assignedTo = input.assignedTo ?? actor.id;
  enforce(checkCreateTask(actor, { assignedTo, priority: input.priority }, now, hours));
  const timestamp = now.toISOString();

  return inTransaction(db, async (trx) => {
    if (assignedTo !== actor.id) await requireAssignee(trx, assignedTo);
    if (input.parentTask !== null) await requireParent(trx, actor, input.parentTask);
    await requireTags(trx, input.tags);

    const taskId = await insertTask(trx, {
      title: input.title,
      description: input.description,
      status: input.status,
      priority: input.priority,
      estimated_hours: input.estimatedHours,
      actual_hours: input.actualHours,
      deadline: input.deadline,
      priority_escalated: actor.role === 'manager' ? (input.priorityEscalated ?? false) : false,
      assigned_to: assignedTo,
      created_by: actor.id,
      parent_task_id: input.parentTask,
      created_at: timestamp,
      updated_at: timestamp,
    });
    await replaceTaskTags(trx, taskId, input.tags);
    await insertHistory(trx, [{ taskId, userId: actor.id, action: 'created', toStatus: input.status }], timestamp);
    await enqueueTaskWebhooks(trx, 'created', [{ taskId }], timestamp);
    const events: TaskEvent[] = [
      { type: 'assigned', taskId, taskTitle: input.title, userId: assignedTo, actorId: actor.id },
    ];
    return withNotifications(trx, { taskId, task: await committedView(trx, taskId) }, events, timestamp);
  });
}

export async function updateTask(
  db: Database,
  actor: Actor,
  taskId: number,
  input: NormalizedUpdate,
  now: Date,
  hours: WorkHours,
): Promise<TaskChangeResult<{ taskId: number; changed: string[]; task: TaskPublic }>> {
  const timestamp = now.toISOString();

  return inTransaction(db, async (trx) => {
    // Lock order: hierarchy (only when re-parenting), then the task row, then referenced rows.
    if (input.parentTask !== undefined && input.parentTask !== null) await lockTaskHierarchy(trx);
    await lockRows(trx, 'tasks', [taskId], 'no key update');
    const task = await findTaskRecord(trx, taskId);
    if (!task || !canSeeTask(actor, task)) throw notFound(TASK_NOT_FOUND);
    enforce(checkModifyTask(actor, task, now, hours, input.assignedTo));

    const changes: TaskChanges = {};
    const changed: string[] = [];
    const record = <K extends keyof TaskChanges>(field: string, column: K, value: TaskChanges[K]) => {
      changes[column] = value;
      changed.push(field);
    };

    if (input.title !== undefined && input.title !== task.title) record('title', 'title', input.title);
    if (input.description !== undefined && input.description !== (task.description ?? '')) {
      record('description', 'description', input.description);
    }
    if (input.status !== undefined && input.status !== task.status) record('status', 'status', input.status);
    if (input.priority !== undefined && input.priority !== task.priority) record('priority', 'priority', input.priority);
    if (input.estimatedHours !== undefined && input.estimatedHours !== formatHours(task.estimated_hours)) {
      record('estimated_hours', 'estimated_hours', input.estimatedHours);
    }
    if (
      input.actualHours !== undefined &&
      input.actualHours !== (task.actual_hours === null ? null : formatHours(task.actual_hours))
    ) {
      record('actual_hours', 'actual_hours', input.actualHours);
    }
    const currentDeadline = formatTimestamp(task.deadline);
    if (input.deadline !== undefined && input.deadline !== currentDeadline) {
      record('deadline', 'deadline', input.deadline);
    }
    if (input.assignedTo !== undefined && input.assignedTo !== task.assigned_to) {
      await requireAssignee(trx, input.assignedTo);
      record('assigned_to', 'assigned_to', input.assignedTo);
    }
    if (input.parentTask !== undefined && input.parentTask !== task.parent_task_id) {
      if (input.parentTask !== null) {
        await requireParent(trx, actor, input.parentTask);
        if (await wouldCreateCycle(trx, task.id, input.parentTask)) {
          throw invalid(['body', 'parent_task'], 'A task cannot be its own parent or ancestor');
        }
      }
      record('parent_task', 'parent_task_id', input.parentTask);
    }
    const escalated = Boolean(task.priority_escalated);
    if (actor.role === 'manager' && input.priorityEscalated !== undefined && input.priorityEscalated !== escalated) {
      record('priority_escalated', 'priority_escalated', input.priorityEscalated);
    } else if (escalated && changes.deadline !== undefined && changes.deadline > currentDeadline) {
      // Moving the deadline later re-arms the one-step escalation job (not a change the user made).
      changes.priority_escalated = false;
    }
    if (input.tags !== undefined) {
      const current = (await findTagIdsByTask(trx, [task.id])).get(task.id) ?? [];
      if (current.join(',') !== input.tags.join(',')) {
        await requireTags(trx, input.tags);
        await replaceTaskTags(trx, task.id, input.tags);
        changed.push('tags');
      }
    }

    if (changed.length === 0) return { result: { taskId, changed, task: await committedView(trx, taskId) }, events: [], notifications: [] };

    await updateTaskRow(trx, task.id, { ...changes, updated_at: timestamp });
    const statusChanged = changes.status !== undefined;
    await insertHistory(
      trx,
      [
        {
          taskId: task.id,
          userId: actor.id,
          action: statusChanged ? 'status_changed' : 'updated',
          fromStatus: statusChanged ? task.status : null,
          toStatus: statusChanged ? changes.status : null,
          changes: changed,
        },
      ],
      timestamp,
    );
    await enqueueTaskWebhooks(trx, 'updated', [{ taskId, changed, from: task.status, to: changes.status }], timestamp);

    const title = changes.title ?? task.title;
    const assignee = changes.assigned_to ?? task.assigned_to;
    const events: TaskEvent[] = [];
    if (changes.assigned_to !== undefined) {
      events.push({ type: 'assigned', taskId, taskTitle: title, userId: changes.assigned_to, actorId: actor.id });
      events.push({ type: 'unassigned', taskId, taskTitle: title, userId: task.assigned_to, actorId: actor.id });
    }
    if (changes.status !== undefined) {
      events.push({
        type: 'status_changed',
        taskId,
        taskTitle: title,
        userId: assignee,
        actorId: actor.id,
        from: task.status,
        to: changes.status,
      });
    }
    return withNotifications(trx, { taskId, changed, task: await committedView(trx, taskId) }, events, timestamp);
  });
}

export async function deleteTask(
  db: Database,
  actor: Actor,
  taskId: number,
  now: Date,
  hours: WorkHours,
): Promise<TaskChangeResult<null>> {
  return inTransaction(db, async (trx) => {
    await lockRows(trx, 'tasks', [taskId], 'update');
    const task = await findTaskRecord(trx, taskId);
    if (!task || !canSeeTask(actor, task)) throw notFound(TASK_NOT_FOUND);
    enforce(checkModifyTask(actor, task, now, hours));
    await enqueueTaskWebhooks(trx, 'deleted', [{ taskId: task.id }], now.toISOString());
    await deleteTaskRow(trx, task.id, now.toISOString());
    return { result: null, events: [], notifications: [] };
  });
}

export async function bulkUpdateStatus(
  db: Database,
  actor: Actor,
  input: BulkUpdate,
  now: Date,
  hours: WorkHours,
): Promise<TaskChangeResult<{ updatedCount: number }>> {
  enforce(checkCanModifyTasks(actor));
  const ids = uniqueIds(parseIds(input.task_ids, ['body', 'task_ids']));
  const timestamp = now.toISOString();

  return inTransaction(db, async (trx) => {
    await lockRows(trx, 'tasks', ids, 'no key update');
    const tasks = await findTaskRecords(trx, ids);
    const visible = new Set(tasks.filter((t) => canSeeTask(actor, t)).map((t) => t.id));
    const missing = ids.filter((id) => !visible.has(id));
    if (missing.length > 0) {
      throw notFound(missing.length === 1 ? `Task not found: ${missing[0]}` : `Tasks not found: ${missing.join(', ')}`);
    }
    for (const task of tasks) {
      const decision = checkModifyTask(actor, task, now, hours);
      if (!decision.ok) throw new AppError(decision.status, `Task ${task.id}: ${decision.detail}`);
    }

    const changing = tasks.filter((t) => t.status !== input.status);
    await updateTasksStatus(
      trx,
      changing.map((t) => t.id),
      input.status,
      timestamp,
    );
    const history: NewHistoryEntry[] = changing.map((t) => ({
      taskId: t.id,
      userId: actor.id,
      action: 'bulk_update',
      fromStatus: t.status,
      toStatus: input.status,
      changes: ['status'],
    }));
    await insertHistory(trx, history, timestamp);
    const webhookChanges = changing.map((t) => ({ taskId: t.id, changed: ['status'], from: t.status, to: input.status }));
    await enqueueTaskWebhooks(trx, 'updated', webhookChanges, timestamp);
    const events: TaskEvent[] = changing.map((t) => ({
      type: 'status_changed',
      taskId: t.id,
      taskTitle: t.title,
      userId: t.assigned_to,
      actorId: actor.id,
      from: t.status,
      to: input.status,
    }));
    return withNotifications(trx, { updatedCount: ids.length }, events, timestamp);
  });
}
