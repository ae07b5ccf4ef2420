// Helpers for the scheduled-job tests: a runner bound to a test app's database, configuration and
// clock that records what it delivers, and readers of the rows the jobs write.
import { afterAll, beforeAll, expect } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { runJobs, type JobDependencies, type JobLogger, type JobName } from '../../src/jobs/runner.js';
import type { NotificationPublic } from '../../src/modules/notifications/notifications.schemas.js';
import { formatTimestamp } from '../../src/modules/tasks/task-input.js';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, type TestApp } from './app.js';
import { createUser, type TestUser } from './factories.js';
import { signIn } from './tasks.js';

/** The jobs tests' fixed "now": a Monday inside working hours, so developers and managers may act. */
export const JOBS_NOW = '2026-03-02T10:00:00.000Z';

export interface JobsFixture {
  t: TestApp;
  /** The assignee of the tasks under test. */
  dev: TestUser;
  /** A signed-in manager, who creates the tasks and may PATCH them. */
  manager: Awaited<ReturnType<typeof signIn>>;
}

/**
 * For one test file: a test app at JOBS_NOW (jobs not scheduled: the tests run them) with a developer
 * and a manager, built in beforeAll and closed in afterAll. Read the fields inside tests only.
 */
export function useJobsFixture(): JobsFixture {
  const fixture = {} as JobsFixture;
  beforeAll(async () => {
    const t = await buildTestApp({}, { clock: fixedClock(JOBS_NOW) });
    Object.assign(fixture, { t, dev: await createUser(t.app, { role: 'developer' }), manager: await signIn(t.app, { role: 'manager' }) });
  });
  afterAll(async () => {
    await fixture.t?.close();
  });
  return fixture;
}

export const quietLog: JobLogger = { debug: () => undefined, error: () => undefined };

/** `minutes` after `base`, as the ISO string the application stores. */
export const minutesAfter = (base: string | Date, minutes: number): string => new Date(new Date(base).getTime() + minutes * 60_000).toISOString();

export interface JobRunner {
  deps: JobDependencies;
  /** Every notification handed to `deliver`, in order. */
  delivered: NotificationPublic[];
  run(which?: readonly JobName[]): ReturnType<typeof runJobs>;
}

export function jobRunner(t: TestApp, overrides: Partial<JobDependencies> = {}): JobRunner {
  const delivered: NotificationPublic[] = [];
  const deps: JobDependencies = {
    db: t.db,
    config: t.config,
    log: quietLog,
    deliver: (notifications) => delivered.push(...notifications),
    ...overrides,
  };
  return { deps, delivered, run: (which) => runJobs(deps, t.app.clock.now(), which) };
}

/** The stored notifications about a task, oldest first. */
export function notificationsOfTask(db: Database, taskId: number) {
  return db.selectFrom('notifications').selectAll().where('task_id', '=', taskId).orderBy('id').execute();
}

/** Asserts that the task has exactly one stored notification and that it matches `fields`; returns it. */
export async function soleNotificationOfTask(db: Database, taskId: number, fields: Record<string, unknown>) {
  const rows = await notificationsOfTask(db, taskId);
  expect(rows).toEqual([expect.objectContaining(fields)]);
  return rows[0] as (typeof rows)[number];
}

/** The columns the jobs change, normalised across dialects (booleans, ISO timestamps). */
export async function jobColumns(db: Database, taskId: number) {
  const row = await db
    .selectFrom('tasks')
    .select(['priority', 'priority_escalated', 'deadline', 'deadline_warning_sent_for', 'updated_at'])
    .where('id', '=', taskId)
    .executeTakeFirstOrThrow();
  return {
    priority: row.priority,
    escalated: Boolean(row.priority_escalated),
    deadline: formatTimestamp(row.deadline),
    warnedFor: row.deadline_warning_sent_for === null ? null : formatTimestamp(row.deadline_warning_sent_for),
    updatedAt: formatTimestamp(row.updated_at),
  };
}
