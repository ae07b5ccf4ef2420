// The benchmark's data, written straight through the project's own database code (Kysely, batched
// inserts in one transaction): a manager, developers with their own tasks, tags, subtasks and
// notifications, plus users whose only job is to log in. Access tokens are minted for live session
// rows as a login would (the login scenario itself goes through the real endpoint).
import { randomUUID } from 'node:crypto';
import type { Insertable } from 'kysely';
import type { Config } from '../src/config.js';
import type { Database } from '../src/db/database.js';
import type { TasksTable } from '../src/db/schema.js';
import { sha256 } from '../src/lib/hash.js';
import { issueAccessToken, refreshLifetimeSeconds } from '../src/modules/auth/tokens.js';

export const PASSWORD = 'BenchPassword-1';
export const DEVELOPERS = 10;
export const LOGIN_USERS = 8;
const TAGS = 20;
const NOTIFICATIONS_PER_DEVELOPER = 60;
const BATCH = 500;
const STATUSES = ['pending', 'in_progress', 'blocked', 'completed'] as const;
const PRIORITIES = ['low', 'medium', 'high', 'critical'] as const;

export interface Seeded {
  managerId: number;
  developerIds: number[];
  loginUsernames: string[];
  taskIds: number[];
  tagIds: number[];
  developerTimezone: string;
}

/**
 * An IANA zone where it is now about noon, so that developers are inside their working hours
 * (09:00–18:00) for the next several hours whatever the time of the run.
 */
export function noonTimezone(now = new Date()): string {
  const offset = 12 - now.getUTCHours(); // −11 … +12 hours from UTC
  if (offset === 0) return 'Etc/GMT';
  // The Etc/GMT zones' signs are POSIX-inverted: Etc/GMT-3 is UTC+3.
  return `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}

async function insertUsers(
  db: Database,
  names: string[],
  role: 'manager' | 'developer',
  hash: string,
  timezone: string,
): Promise<number[]> {
  const now = new Date().toISOString();
  const ids: number[] = [];
  for (let i = 0; i < names.length; i += BATCH) {
    const rows = await db
      .insertInto('users')
      .values(
        names.slice(i, i + BATCH).map((username) => ({
          username,
          email: `${username}@bench.invalid`,
          hashed_password: hash,
          role,
          timezone,
          email_verified: true,
          is_active: true,
          created_at: now,
          updated_at: now,
        })),
      )
      .returning('id')
      .execute();
    ids.push(...rows.map((r) => r.id));
  }
  return ids;
}

function taskRow(n: number, total: number, assignee: number, managerId: number, now: number): Insertable<TasksTable> {
  const created = new Date(now - (total - n) * 60_000).toISOString();
  const status = STATUSES[n % 4] ?? 'pending';
  return {
    title: `Task ${n}: ${['Fix', 'Build', 'Review', 'Document', 'Deploy'][n % 5]} the ${['parser', 'board', 'report', 'API', 'pipeline'][n % 7 % 5]}`,
    description: `Benchmark task number ${n}. ${'Some realistic description text. '.repeat(1 + (n % 4))}`.trim(),
    status,
    priority: PRIORITIES[(n * 7) % 4] ?? 'medium',
    estimated_hours: 1 + (n % 16) / 2,
    actual_hours: status === 'completed' ? 1 + (n % 10) / 2 : null,
    deadline: new Date(now + ((n % 60) - 20) * 86_400_000).toISOString(),
    priority_escalated: false,
    assigned_to: assignee,
    created_by: managerId,
    created_at: created,
    updated_at: created,
  };
}

/** Inserts `count` tasks (every fifth a subtask of the one before), with tags; returns their ids. */
export async function insertTasks(db: Database, count: number, assignees: readonly number[], managerId: number, tagIds: readonly number[]): Promise<number[]> {
  const now = Date.now();
  const ids: number[] = [];
  for (let start = 0; start < count; start += BATCH) {
    const size = Math.min(BATCH, count - start);
    const ns = Array.from({ length: size }, (_, k) => start + k);
    const assigneeOf = (n: number) => assignees[n % assignees.length] ?? managerId;
    // Parents first, then the subtasks that point at them.
    const parents = ns.filter((n) => n % 5 !== 4);
    const parentRows = await db
      .insertInto('tasks')
      .values(parents.map((n) => taskRow(n, count, assigneeOf(n), managerId, now)))
      .returning('id')
      .execute();
    const idOf = new Map(parents.map((n, k) => [n, parentRows[k]?.id ?? 0]));
    const children = ns.filter((n) => n % 5 === 4);
    if (children.length > 0) {
      const childRows = await db
        .insertInto('tasks')
        .values(children.map((n) => ({ ...taskRow(n, count, assigneeOf(n), managerId, now), parent_task_id: idOf.get(n - 1) ?? null })))
        .returning('id')
        .execute();
      children.forEach((n, k) => idOf.set(n, childRows[k]?.id ?? 0));
    }
    const batchIds = ns.map((n) => idOf.get(n) ?? 0);
    ids.push(...batchIds);
    const links = ns.flatMap((n, k) => {
      const id = batchIds[k] ?? 0;
      const first = tagIds[n % tagIds.length];
      const second = tagIds[(n * 7 + 3) % tagIds.length];
      if (first === undefined || n % 4 === 3) return [];
      return second === undefined || second === first || n % 3 !== 0 ? [{ task_id: id, tag_id: first }] : [{ task_id: id, tag_id: first }, { task_id: id, tag_id: second }];
    });
    for (let i = 0; i < links.length; i += BATCH) await db.insertInto('task_tags').values(links.slice(i, i + BATCH)).execute();
  }
  return ids;
}

export async function seed(db: Database, options: { tasks: number; passwordHash: string }): Promise<Seeded> {
  const developerTimezone = noonTimezone();
  return db.transaction().execute(async (trx) => {
    const [managerId = 0] = await insertUsers(trx, ['bench_manager'], 'manager', options.passwordHash, 'UTC');
    const developerIds = await insertUsers(
      trx,
      Array.from({ length: DEVELOPERS }, (_, i) => `bench_dev${i + 1}`),
      'developer',
      options.passwordHash,
      developerTimezone,
    );
    const loginUsernames = Array.from({ length: LOGIN_USERS }, (_, i) => `bench_login${i + 1}`);
    await insertUsers(trx, loginUsernames, 'developer', options.passwordHash, developerTimezone);
    const now = new Date().toISOString();
    const tagRows = await trx
      .insertInto('tags')
      .values(Array.from({ length: TAGS }, (_, i) => ({ name: `tag-${i + 1}`, created_at: now })))
      .returning('id')
      .execute();
    const tagIds = tagRows.map((r) => r.id);
    // One task in eleven stays with the manager; the rest go round the developers.
    const taskIds = await insertTasks(trx, options.tasks, [managerId, ...developerIds], managerId, tagIds);
    const notifications = developerIds.flatMap((userId) =>
      Array.from({ length: NOTIFICATIONS_PER_DEVELOPER }, (_, k) => {
        const taskId = taskIds[(userId * 31 + k) % taskIds.length] ?? null;
        return {
          user_id: userId,
          task_id: taskId,
          task_title: `Task ${taskId}`,
          message: `Task "Task ${taskId}" changed from pending to in progress`,
          notification_type: 'status_change' as const,
          read: k % 2 === 0,
          is_delivered: true,
          created_at: new Date(Date.now() - (NOTIFICATIONS_PER_DEVELOPER - k) * 60_000).toISOString(),
        };
      }),
    );
    for (let i = 0; i < notifications.length; i += BATCH) await trx.insertInto('notifications').values(notifications.slice(i, i + BATCH)).execute();
    return { managerId, developerIds, loginUsernames, taskIds, tagIds, developerTimezone };
  });
}

/** Live session rows for these users (one each), and an access token for each, as a login issues. */
export async function mintTokens(db: Database, config: Config, userIds: readonly number[]): Promise<string[]> {
  const now = new Date();
  const iso = now.toISOString();
  const expires = new Date(now.getTime() + refreshLifetimeSeconds(config) * 1000).toISOString();
  const tokens: string[] = [];
  for (let i = 0; i < userIds.length; i += BATCH) {
    const rows = await db
      .insertInto('user_sessions')
      .values(
        userIds.slice(i, i + BATCH).map((userId) => ({
          user_id: userId,
          refresh_token_hash: sha256(randomUUID()),
          device_id: randomUUID(),
          user_agent: 'ctms-bench',
          ip: '127.0.0.1',
          created_at: iso,
          last_used: iso,
          expires_at: expires,
        })),
      )
      .returning(['id', 'user_id'])
      .execute();
    for (const row of rows) tokens.push(issueAccessToken(config, row.user_id, row.id, now).token);
  }
  return tokens;
}

/** Developers for ws-fanout, one task each (assigned to them, created by the manager). */
export async function seedListeners(db: Database, count: number, managerId: number, passwordHash: string, timezone: string) {
  return db.transaction().execute(async (trx) => {
    const names = Array.from({ length: count }, (_, i) => `bench_ws${i + 1}_${randomUUID().slice(0, 6)}`);
    const userIds = await insertUsers(trx, names, 'developer', passwordHash, timezone);
    const taskIds: number[] = [];
    for (let i = 0; i < userIds.length; i += BATCH) {
      const slice = userIds.slice(i, i + BATCH);
      const ids = await insertTasks(trx, slice.length, slice, managerId, []);
      // All pending: the fan-out's bulk update to in_progress changes (and so notifies) every one.
      await trx.updateTable('tasks').set({ status: 'pending', actual_hours: null }).where('id', 'in', ids).execute();
      taskIds.push(...ids);
    }
    return { userIds, taskIds };
  });
}
