// Who may see and change which task, as pure functions of (actor, task, now): no database, no
// request. Routes and the task service turn a denial into its HTTP error with `enforce`.
//
// Order of checks for a developer: role → visibility (404) → ownership / reassignment (403) →
// working hours (403). Managers and auditors are never time-restricted.
import type { Role, TaskPriority } from '../../db/schema.js';
import { AppError } from '../../errors.js';
import { isValidTimeZone, localTime } from '../../lib/timezone.js';

export interface Actor {
  id: number;
  role: Role;
  timezone: string;
}

/** The parts of a task the rules look at. */
export interface TaskAccessView {
  assigned_to: number;
  priority: TaskPriority;
}

export type Decision = { ok: true } | { ok: false; status: 403 | 404; detail: string };

const ALLOW: Decision = { ok: true };
const deny = (status: 403 | 404, detail: string): Decision => ({ ok: false, status, detail });

/** Working hours: [start, end) on the developer's local wall clock. */
export const WORKING_HOURS = { startHour: 9, endHour: 18 } as const;
const WINDOW_LABEL = `${pad(WORKING_HOURS.startHour)}:00-${pad(WORKING_HOURS.endHour)}:00`;

export const TASK_NOT_FOUND = 'Task not found';
export const PARENT_NOT_FOUND = 'Parent task not found';

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** True when `now`, read on a wall clock in `timeZone`, is within [09:00, 18:00). Unknown zones read as UTC. */
export function isWithinWorkingHours(now: Date, timeZone: string): boolean {
  const { hour } = localTime(now, isValidTimeZone(timeZone) ? timeZone : 'UTC');
  return hour >= WORKING_HOURS.startHour && hour < WORKING_HOURS.endHour;
}

function workingHoursDenial(actor: Actor, verb: 'create' | 'modify', now: Date): Decision {
  const zone = isValidTimeZone(actor.timezone) ? actor.timezone : 'UTC';
  const { hour, minute } = localTime(now, zone);
  return deny(
    403,
    `Developers can only ${verb} tasks during working hours (${WINDOW_LABEL} in their timezone); ` +
      `it is ${pad(hour)}:${pad(minute)} in ${zone}. Critical tasks are exempt.`,
  );
}

/** Manager and auditor see every task; a developer sees only the tasks assigned to them. */
export function canSeeTask(actor: Actor, task: Pick<TaskAccessView, 'assigned_to'>): boolean {
  return actor.role !== 'developer' || task.assigned_to === actor.id;
}

/** The same rule as canSeeTask, as a filter for list queries (applied in SQL). */
export interface TaskScope {
  assignedTo?: number;
}

export function taskListScope(actor: Actor): TaskScope {
  return actor.role === 'developer' ? { assignedTo: actor.id } : {};
}

/** Creating a task assigned to `assignedTo` with `priority` (the requested one). */
export function checkCreateTask(actor: Actor, request: { assignedTo: number; priority: TaskPriority }, now: Date): Decision {
  if (actor.role === 'auditor') return deny(403, 'Auditors cannot create tasks');
  if (actor.role === 'manager') return ALLOW;
  if (request.assignedTo !== actor.id) return deny(403, 'Developers can only create tasks assigned to themselves');
  if (request.priority !== 'critical' && !isWithinWorkingHours(now, actor.timezone)) {
    return workingHoursDenial(actor, 'create', now);
  }
  return ALLOW;
}

/** The role part of every change to existing tasks (checked first, before any task is loaded in bulk). */
export function checkCanModifyTasks(actor: Actor): Decision {
  return actor.role === 'auditor' ? deny(403, 'Auditors cannot modify tasks') : ALLOW;
}

/**
 * Updating (or deleting, or bulk-updating) `task`. `newAssignee` is the requested `assigned_to`,
 * when the change asks for one. The critical exception looks at the task's CURRENT priority.
 */
export function checkModifyTask(actor: Actor, task: TaskAccessView, now: Date, newAssignee?: number): Decision {
  const byRole = checkCanModifyTasks(actor);
  if (!byRole.ok || actor.role === 'manager') return byRole;
  if (!canSeeTask(actor, task)) return deny(404, TASK_NOT_FOUND);
  if (task.assigned_to !== actor.id) return deny(403, 'Developers can only modify their own tasks');
  if (newAssignee !== undefined && newAssignee !== task.assigned_to) {
    return deny(403, 'Developers cannot reassign tasks');
  }
  if (task.priority !== 'critical' && !isWithinWorkingHours(now, actor.timezone)) {
    return workingHoursDenial(actor, 'modify', now);
  }
  return ALLOW;
}

/** A parent must exist and be visible to the caller; otherwise it answers as if it did not exist. */
export function checkParentChoice(actor: Actor, parent: Pick<TaskAccessView, 'assigned_to'> | undefined): Decision {
  if (!parent || !canSeeTask(actor, parent)) return deny(404, PARENT_NOT_FOUND);
  return ALLOW;
}

/** Throws the HTTP error of a denial; does nothing when allowed. */
export function enforce(decision: Decision): void {
  if (!decision.ok) throw new AppError(decision.status, decision.detail);
}
