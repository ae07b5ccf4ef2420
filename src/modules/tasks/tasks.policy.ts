// Who may see and change which task, as pure functions of (actor, task, now, working hours): no
// database, no request. Routes and the task service turn a denial into its HTTP error with `enforce`.
//
// Order of checks for a developer: role → visibility (404) → ownership / reassignment (403) →
// working hours (403). Managers and auditors are never time-restricted.
import { minutesOfDay, type Config } from '../../config.js';
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

/** Working hours (WORK_HOURS_START/END): [start, end) as HH:MM on the developer's local wall clock. */
export type WorkHours = Pick<Config, 'workHoursStart' | 'workHoursEnd'>;
export const DEFAULT_WORK_HOURS: WorkHours = { workHoursStart: '09:00', workHoursEnd: '18:00' };

export const TASK_NOT_FOUND = 'Task not found';
export const PARENT_NOT_FOUND = 'Parent task not found';

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * Minutes left in the working day when `now` is read on a wall clock in `timeZone` (the window is
 * [start, end)); 0 or less: outside working hours. Unknown zones read as UTC.
 */
export function workingMinutesLeft(now: Date, timeZone: string, hours: WorkHours): number {
  const { hour, minute, second } = localTime(now, isValidTimeZone(timeZone) ? timeZone : 'UTC');
  const minutes = hour * 60 + minute + second / 60;
  if (minutes < minutesOfDay(hours.workHoursStart)) return 0;
  return minutesOfDay(hours.workHoursEnd) - minutes;
}

/** True when `now`, read on a wall clock in `timeZone`, is within [start, end). Unknown zones read as UTC. */
export function isWithinWorkingHours(now: Date, timeZone: string, hours: WorkHours): boolean {
  return workingMinutesLeft(now, timeZone, hours) > 0;
}

function workingHoursDenial(actor: Actor, verb: 'create' | 'modify', now: Date, hours: WorkHours): Decision {
  const zone = isValidTimeZone(actor.timezone) ? actor.timezone : 'UTC';
  const { hour, minute } = localTime(now, zone);
  return deny(
    403,
    `Developers can only ${verb} tasks during working hours (${hours.workHoursStart}-${hours.workHoursEnd} in their timezone); ` +
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
export function checkCreateTask(
  actor: Actor,
  request: { assignedTo: number; priority: TaskPriority },
  now: Date,
  hours: WorkHours,
): Decision {
  if (actor.role === 'auditor') return deny(403, 'Auditors cannot create tasks');
  if (actor.role === 'manager') return ALLOW;
  if (request.assignedTo !== actor.id) return deny(403, 'Developers can only create tasks assigned to themselves');
  if (request.priority !== 'critical' && !isWithinWorkingHours(now, actor.timezone, hours)) {
    return workingHoursDenial(actor, 'create', now, hours);
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
export function checkModifyTask(actor: Actor, task: TaskAccessView, now: Date, hours: WorkHours, newAssignee?: number): Decision {
  const byRole = checkCanModifyTasks(actor);
  if (!byRole.ok || actor.role === 'manager') return byRole;
  if (!canSeeTask(actor, task)) return deny(404, TASK_NOT_FOUND);
  if (task.assigned_to !== actor.id) return deny(403, 'Developers can only modify their own tasks');
  if (newAssignee !== undefined && newAssignee !== task.assigned_to) {
    return deny(403, 'Developers cannot reassign tasks');
  }
  if (task.priority !== 'critical' && !isWithinWorkingHours(now, actor.timezone, hours)) {
    return workingHoursDenial(actor, 'modify', now, hours);
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
