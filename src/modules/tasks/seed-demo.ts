// `ctms seed-demo`: a small demo team (one user per role) with tags, tasks, subtasks and history,
// written in one transaction through the task service (so history looks like real use).
// Idempotent: when any demo user already exists, no user or task is written and `created` is false.
// Either way the demo developer gets a time zone in which it is working hours now (see
// demoDeveloperTimeZone), so the demo works at any hour.
import { sql } from 'kysely';
import { minutesOfDay, type Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import type { Role, TaskPriority, TaskStatus } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { hashPassword } from '../../lib/hash.js';
import { workingMinutesLeft, type Actor, type WorkHours } from './tasks.policy.js';
import { addComment } from '../comments/comments.service.js';
import { createTask, normalizeCreate, updateTask } from './tasks.service.js';

export interface DemoLogin {
  username: string;
  password: string;
  role: Role;
}

export interface SeedDemoResult {
  /** False when the demo team already existed and nothing was written. */
  created: boolean;
  users: DemoLogin[];
  /** The demo developer's time zone, chosen so that it is working hours there now. */
  developerTimezone: string;
  /** Existing users whose row this run changed (a second run resets the developer's time zone). */
  changedUserIds: number[];
}

/**
 * Canonical IANA zones from UTC-11 to UTC+14, by offset, the best-known city first. Every
 * whole-hour offset also has a zone without daylight saving time, so every hour of the day is
 * covered all year; the half and three-quarter hour zones are there too.
 */
const DEMO_ZONES = [
  'Pacific/Pago_Pago', 'Pacific/Honolulu', 'Pacific/Marquesas', 'America/Anchorage', 'Pacific/Gambier', 'America/Los_Angeles',
  'Pacific/Pitcairn', 'America/Denver', 'America/Phoenix', 'America/Chicago', 'America/Mexico_City', 'America/New_York',
  'America/Bogota', 'America/Halifax', 'America/Caracas', 'America/St_Johns', 'America/Sao_Paulo', 'America/Noronha',
  'Atlantic/Azores', 'Atlantic/Cape_Verde', 'Europe/London', 'Africa/Abidjan', 'Europe/Paris', 'Africa/Lagos', 'Europe/Athens',
  'Africa/Johannesburg', 'Europe/Istanbul', 'Asia/Tehran', 'Asia/Dubai', 'Asia/Kabul', 'Asia/Karachi', 'Asia/Kolkata',
  'Asia/Kathmandu', 'Asia/Dhaka', 'Asia/Yangon', 'Asia/Bangkok', 'Asia/Shanghai', 'Australia/Eucla', 'Asia/Tokyo',
  'Australia/Darwin', 'Australia/Adelaide', 'Australia/Sydney', 'Australia/Brisbane', 'Australia/Lord_Howe', 'Pacific/Noumea',
  'Pacific/Auckland', 'Pacific/Fiji', 'Pacific/Chatham', 'Pacific/Tongatapu', 'Pacific/Kiritimati',
] as const;

/**
 * Where the demo developer works: the default time zone (DEFAULT_TIMEZONE) while the first half of
 * the working day runs there; otherwise the zone whose working day began most recently, so the
 * demo keeps working for as long as possible. Ties go to the earlier zone in the list.
 */
export function demoDeveloperTimeZone(now: Date, defaultZone: string, hours: WorkHours): string {
  const length = minutesOfDay(hours.workHoursEnd) - minutesOfDay(hours.workHoursStart);
  let best = defaultZone;
  let bestLeft = workingMinutesLeft(now, defaultZone, hours);
  if (bestLeft >= length / 2) return defaultZone;
  for (const zone of DEMO_ZONES) {
    const left = workingMinutesLeft(now, zone, hours);
    if (left > bestLeft) [best, bestLeft] = [zone, left];
  }
  return best;
}

const DEMO_DEVELOPER = 'demo_dev';

export const DEMO_USERS: readonly DemoLogin[] = [
  { username: 'demo_manager', password: 'DemoManager123!', role: 'manager' },
  { username: DEMO_DEVELOPER, password: 'DemoDeveloper123!', role: 'developer' },
  { username: 'demo_auditor', password: 'DemoAuditor123!', role: 'auditor' },
];

const DEMO_TAGS = ['backend', 'frontend', 'bug', 'docs'] as const;
type DemoTag = (typeof DEMO_TAGS)[number];

interface DemoTask {
  key: string;
  title: string;
  description: string;
  assignee: Role;
  priority: TaskPriority;
  /** Reached through status changes after creation, so history shows them. */
  statuses: TaskStatus[];
  estimated: number;
  actual?: number;
  /** Deadline relative to now, in hours (negative: overdue). */
  dueInHours: number;
  tags: DemoTag[];
  parent?: string;
}

const DEMO_TASKS: DemoTask[] = [
  {
    key: 'ci',
    title: 'Set up the CI pipeline',
    description: 'Build, lint and test every pull request.',
    assignee: 'developer',
    priority: 'high',
    statuses: ['in_progress'],
    estimated: 6,
    actual: 3.5,
    dueInHours: 48,
    tags: ['backend'],
  },
  {
    key: 'ci-lint',
    title: 'Add a lint step',
    description: '',
    assignee: 'developer',
    priority: 'medium',
    statuses: ['in_progress', 'completed'],
    estimated: 1,
    actual: 1.5,
    dueInHours: 24,
    tags: ['backend'],
    parent: 'ci',
  },
  {
    key: 'ci-cache',
    title: 'Cache dependencies between runs',
    description: '',
    assignee: 'developer',
    priority: 'low',
    statuses: [],
    estimated: 2,
    dueInHours: 72,
    tags: ['backend'],
    parent: 'ci',
  },
  {
    key: 'login-bug',
    title: 'Fix the login redirect loop',
    description: 'Users with an expired session bounce between /login and /dashboard.',
    assignee: 'developer',
    priority: 'critical',
    statuses: ['in_progress', 'completed'],
    estimated: 3,
    actual: 2,
    dueInHours: -24,
    tags: ['bug', 'frontend'],
  },
  {
    key: 'api-docs',
    title: 'Write the API documentation',
    description: 'Cover every endpoint with an example request and response.',
    assignee: 'developer',
    priority: 'medium',
    statuses: [],
    estimated: 8,
    dueInHours: -2,
    tags: ['docs'],
  },
  {
    key: 'design-review',
    title: 'Review the dashboard design',
    description: 'Waiting for the final mock-ups.',
    assignee: 'developer',
    priority: 'medium',
    statuses: ['blocked'],
    estimated: 2,
    dueInHours: 120,
    tags: ['frontend'],
  },
  {
    key: 'planning',
    title: 'Plan the next quarter',
    description: '',
    assignee: 'manager',
    priority: 'high',
    statuses: ['in_progress'],
    estimated: 4,
    dueInHours: 168,
    tags: [],
  },
];

export async function seedDemo(db: Database, config: Config, clock: Clock): Promise<SeedDemoResult> {
  const users = DEMO_USERS.map((u) => ({ ...u }));
  const existing = await db
    .selectFrom('users')
    .select('id')
    .where(
      sql`lower(username)`,
      'in',
      users.map((u) => u.username.toLowerCase()),
    )
    .executeTakeFirst();
  const now = clock.now();
  const iso = now.toISOString();
  const developerTimezone = demoDeveloperTimeZone(now, config.defaultTimezone, config);
  const zoneOf = (role: Role) => (role === 'developer' ? developerTimezone : 'UTC');
  if (existing) {
    const changed = await db
      .updateTable('users')
      .set({ timezone: developerTimezone, updated_at: iso })
      .where(sql`lower(username)`, '=', DEMO_DEVELOPER.toLowerCase())
      .where('role', '=', 'developer')
      .returning('id')
      .execute();
    return { created: false, users, developerTimezone, changedUserIds: changed.map((row) => row.id) };
  }

  const hashes = await Promise.all(users.map((u) => hashPassword(u.password, config.bcryptRounds)));

  await db.transaction().execute(async (trx) => {
    const actors = new Map<Role, Actor>();
    for (const [i, user] of users.entries()) {
      const row = await trx
        .insertInto('users')
        .values({
          username: user.username,
          email: `${user.username}@example.com`,
          hashed_password: hashes[i] ?? '',
          role: user.role,
          timezone: zoneOf(user.role),
          email_verified: true,
          is_active: true,
          created_at: iso,
          updated_at: iso,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      actors.set(user.role, { id: row.id, role: user.role, timezone: zoneOf(user.role) });
    }
    const manager = actors.get('manager');
    if (!manager) throw new Error('demo manager missing');

    const tagIds = new Map<DemoTag, number>();
    for (const name of DEMO_TAGS) {
      const found = await trx.selectFrom('tags').select('id').where(sql`lower(name)`, '=', name).executeTakeFirst();
      const id = found?.id ?? (await trx.insertInto('tags').values({ name, created_at: iso }).returning('id').executeTakeFirstOrThrow()).id;
      tagIds.set(name, id);
    }

    const taskIds = new Map<string, number>();
    for (const task of DEMO_TASKS) {
      const assignee = actors.get(task.assignee) ?? manager;
      const input = normalizeCreate({
        title: task.title,
        description: task.description,
        priority: task.priority,
        estimated_hours: task.estimated,
        deadline: new Date(now.getTime() + task.dueInHours * 3_600_000).toISOString(),
        assigned_to: assignee.id,
        parent_task: task.parent ? (taskIds.get(task.parent) ?? null) : null,
        tags: task.tags.map((name) => tagIds.get(name) ?? 0).filter((id) => id > 0),
      });
      const { result } = await createTask(trx, manager, input, now, config);
      taskIds.set(task.key, result.taskId);
      for (const status of task.statuses) {
        await updateTask(trx, manager, result.taskId, { status }, now, config);
      }
      if (task.actual !== undefined) await updateTask(trx, manager, result.taskId, { actualHours: task.actual }, now, config);
    }
    // A comment of the manager on the first task (the docs' comment examples edit it).
    const managerName = users.find((user) => user.role === 'manager')?.username ?? '';
    const firstTask = taskIds.get(DEMO_TASKS[0]?.key ?? '');
    if (firstTask !== undefined) {
      await addComment(trx, { ...manager, username: managerName }, firstTask, `The runners are ready, @${DEMO_DEVELOPER}: over to you.`, now);
    }
  });

  return { created: true, users, developerTimezone, changedUserIds: [] };
}
