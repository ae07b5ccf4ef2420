// Pure access rules: no app, no database.
import { describe, expect, it } from 'vitest';
import type { Role, TaskPriority } from '../../src/db/schema.js';
import {
  canSeeTask,
  checkCanModifyTasks,
  checkCreateTask,
  checkModifyTask,
  checkParentChoice,
  DEFAULT_WORK_HOURS as HOURS,
  isWithinWorkingHours,
  taskListScope,
  type Actor,
} from '../../src/modules/tasks/tasks.policy.js';

const at = (iso: string) => new Date(iso);
const IN_HOURS = at('2026-11-25T10:00:00Z');
const OFF_HOURS = at('2026-11-25T20:00:00Z');
const actor = (role: Role, id = 1, timezone = 'UTC'): Actor => ({ id, role, timezone });
const task = (assigned_to: number, priority: TaskPriority = 'medium') => ({ assigned_to, priority });

describe('working hours window [09:00, 18:00) on the developer\'s wall clock', () => {
  it.each([
    ['UTC', '2026-11-25T08:59:59Z', false],
    ['UTC', '2026-11-25T09:00:00Z', true],
    ['UTC', '2026-11-25T17:59:59Z', true],
    ['UTC', '2026-11-25T18:00:00Z', false],
    // Asia/Kolkata is UTC+05:30: 09:00 local = 03:30Z, 18:00 local = 12:30Z.
    ['Asia/Kolkata', '2026-11-25T03:29:59Z', false],
    ['Asia/Kolkata', '2026-11-25T03:30:00Z', true],
    ['Asia/Kolkata', '2026-11-25T12:29:59Z', true],
    ['Asia/Kolkata', '2026-11-25T12:30:00Z', false],
    // New York, the day before DST starts (EST, UTC-5): 13:00Z is 08:00.
    ['America/New_York', '2026-03-07T13:00:00Z', false],
    ['America/New_York', '2026-03-07T14:00:00Z', true],
    // DST starts on 2026-03-08 (EDT, UTC-4): 09:00 local is 13:00Z, 18:00 local is 22:00Z.
    ['America/New_York', '2026-03-08T12:59:59Z', false],
    ['America/New_York', '2026-03-08T13:00:00Z', true],
    ['America/New_York', '2026-03-08T21:59:59Z', true],
    ['America/New_York', '2026-03-08T22:00:00Z', false],
    // DST ends on 2026-11-01 (back to EST, UTC-5): 09:00 local is 14:00Z, 18:00 local is 23:00Z.
    ['America/New_York', '2026-11-01T13:59:59Z', false],
    ['America/New_York', '2026-11-01T14:00:00Z', true],
    ['America/New_York', '2026-11-01T22:59:59Z', true],
    ['America/New_York', '2026-11-01T23:00:00Z', false],
  ])('in %s at %s the developer is within hours: %s', (zone, instant, expected) => {
    expect(isWithinWorkingHours(at(instant), zone, HOURS)).toBe(expected);
  });

  it.each([
    ['07:30', '16:00', '2026-11-25T07:29:59Z', false],
    ['07:30', '16:00', '2026-11-25T07:30:00Z', true],
    ['07:30', '16:00', '2026-11-25T15:59:59Z', true],
    ['07:30', '16:00', '2026-11-25T16:00:00Z', false],
    ['00:00', '24:00', '2026-11-25T00:00:00Z', true],
    ['00:00', '24:00', '2026-11-25T23:59:59Z', true],
  ])('with WORK_HOURS %s-%s, at %s (UTC) the developer is within hours: %s', (start, end, instant, expected) => {
    expect(isWithinWorkingHours(at(instant), 'UTC', { workHoursStart: start, workHoursEnd: end })).toBe(expected);
  });

  it('names the configured window in a denial, and allows what the default window would refuse', () => {
    const late = { workHoursStart: '12:00', workHoursEnd: '22:00' };
    const developer = actor('developer', 1, 'UTC');
    expect(checkModifyTask(developer, task(1), OFF_HOURS, late).ok).toBe(true);
    const early = checkCreateTask(developer, { assignedTo: 1, priority: 'low' }, IN_HOURS, late);
    expect(early).toEqual({
      ok: false,
      status: 403,
      detail: 'Developers can only create tasks during working hours (12:00-22:00 in their timezone); it is 10:00 in UTC. Critical tasks are exempt.',
    });
  });

  it('reads an unknown time zone as UTC instead of failing', () => {
    expect(isWithinWorkingHours(IN_HOURS, 'Not/AZone', HOURS)).toBe(true);
    expect(isWithinWorkingHours(OFF_HOURS, 'Not/AZone', HOURS)).toBe(false);
  });
});

describe('visibility', () => {
  it.each([
    ['manager', 2, true],
    ['auditor', 2, true],
    ['developer', 1, true],
    ['developer', 2, false],
  ] as const)('a %s sees a task assigned to user %i: %s', (role, assignee, expected) => {
    expect(canSeeTask(actor(role, 1), task(assignee))).toBe(expected);
  });

  it('scopes lists to the developer\'s own tasks and leaves others unscoped', () => {
    expect(taskListScope(actor('developer', 7))).toEqual({ assignedTo: 7 });
    expect(taskListScope(actor('manager', 7))).toEqual({});
    expect(taskListScope(actor('auditor', 7))).toEqual({});
  });
});

describe('create', () => {
  it.each([
    ['manager', 2, 'medium', IN_HOURS, true],
    ['manager', 2, 'medium', OFF_HOURS, true],
    ['developer', 1, 'medium', IN_HOURS, true],
    ['developer', 2, 'medium', IN_HOURS, false],
    ['developer', 1, 'medium', OFF_HOURS, false],
    ['developer', 1, 'critical', OFF_HOURS, true],
    ['auditor', 1, 'medium', IN_HOURS, false],
  ] as const)('a %s creating a task for user %i with %s priority at %s is allowed: %s', (role, assignee, priority, now, ok) => {
    expect(checkCreateTask(actor(role, 1), { assignedTo: assignee, priority }, now, HOURS).ok).toBe(ok);
  });

  it('names the working-hours window when a developer creates off hours', () => {
    const decision = checkCreateTask(actor('developer', 1, 'Asia/Kolkata'), { assignedTo: 1, priority: 'high' }, OFF_HOURS, HOURS);
    expect(decision).toMatchObject({ ok: false, status: 403 });
    expect(!decision.ok && decision.detail).toMatch(/working hours \(09:00-18:00 in their timezone\)/);
    expect(!decision.ok && decision.detail).toContain('Asia/Kolkata');
  });

  it('refuses a developer creating for someone else before looking at the clock', () => {
    const decision = checkCreateTask(actor('developer', 1), { assignedTo: 2, priority: 'medium' }, OFF_HOURS, HOURS);
    expect(decision).toEqual({ ok: false, status: 403, detail: 'Developers can only create tasks assigned to themselves' });
  });
});

describe('update and delete', () => {
  it.each([
    ['manager', 2, 'medium', OFF_HOURS, true, undefined],
    ['auditor', 1, 'medium', IN_HOURS, false, 403],
    ['developer', 1, 'medium', IN_HOURS, true, undefined],
    ['developer', 2, 'medium', IN_HOURS, false, 404],
    ['developer', 1, 'medium', OFF_HOURS, false, 403],
    ['developer', 1, 'critical', OFF_HOURS, true, undefined],
  ] as const)('a %s modifying a task of user %i (%s) at %s is allowed: %s', (role, assignee, priority, now, ok, status) => {
    const decision = checkModifyTask(actor(role, 1), task(assignee, priority), now, HOURS);
    expect(decision.ok).toBe(ok);
    if (!decision.ok) expect(decision.status).toBe(status);
  });

  it('checks visibility before working hours for a developer (404, not 403)', () => {
    expect(checkModifyTask(actor('developer', 1), task(2), OFF_HOURS, HOURS)).toMatchObject({ ok: false, status: 404 });
  });

  it('checks reassignment before working hours for a developer', () => {
    expect(checkModifyTask(actor('developer', 1), task(1), OFF_HOURS, HOURS, 2)).toEqual({
      ok: false,
      status: 403,
      detail: 'Developers cannot reassign tasks',
    });
  });

  it('lets a developer send back their own assignee unchanged', () => {
    expect(checkModifyTask(actor('developer', 1), task(1), IN_HOURS, HOURS, 1).ok).toBe(true);
  });

  it('lets a manager reassign at any hour', () => {
    expect(checkModifyTask(actor('manager', 1), task(2), OFF_HOURS, HOURS, 3).ok).toBe(true);
  });

  it('uses the task\'s current priority for the critical exception', () => {
    expect(checkModifyTask(actor('developer', 1), task(1, 'critical'), OFF_HOURS, HOURS).ok).toBe(true);
    expect(checkModifyTask(actor('developer', 1), task(1, 'high'), OFF_HOURS, HOURS).ok).toBe(false);
  });

  it.each([
    ['manager', true],
    ['developer', true],
    ['auditor', false],
  ] as const)('a %s may attempt changes to existing tasks: %s', (role, ok) => {
    expect(checkCanModifyTasks(actor(role)).ok).toBe(ok);
  });
});

describe('parent choice', () => {
  it('accepts a visible parent', () => {
    expect(checkParentChoice(actor('developer', 1), task(1)).ok).toBe(true);
    expect(checkParentChoice(actor('manager', 1), task(2)).ok).toBe(true);
  });

  it('answers 404 for a missing or invisible parent', () => {
    expect(checkParentChoice(actor('developer', 1), undefined)).toEqual({ ok: false, status: 404, detail: 'Parent task not found' });
    expect(checkParentChoice(actor('developer', 1), task(2))).toEqual({ ok: false, status: 404, detail: 'Parent task not found' });
  });
});
