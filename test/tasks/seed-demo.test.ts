import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { fixedClock } from '../../src/lib/clock.js';
import { verifyPassword } from '../../src/lib/hash.js';
import { normalizeTimeZone } from '../../src/lib/timezone.js';
import { demoDeveloperTimeZone, seedDemo } from '../../src/modules/tasks/seed-demo.js';
import { DEFAULT_WORK_HOURS, isWithinWorkingHours } from '../../src/modules/tasks/tasks.policy.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { countRows } from '../helpers/tasks.js';

describe('seed-demo', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.cleanup();
  });

  it('creates a verified demo team with tasks, subtasks, tags and history, once', async () => {
    const db = database.handle.db;
    const clock = fixedClock('2026-11-25T22:00:00Z');
    const first = await seedDemo(db, testConfig(), clock);
    expect(first.created).toBe(true);
    expect(first.users.map((u) => u.role).sort()).toEqual(['auditor', 'developer', 'manager']);

    for (const login of first.users) {
      const user = await db
        .selectFrom('users')
        .select(['role', 'email_verified', 'is_active', 'hashed_password'])
        .where('username', '=', login.username)
        .executeTakeFirstOrThrow();
      expect(user.role).toBe(login.role);
      expect(Boolean(user.email_verified) && Boolean(user.is_active)).toBe(true);
      expect(await verifyPassword(login.password, user.hashed_password)).toBe(true);
    }

    const tasks = await db.selectFrom('tasks').select(['status', 'parent_task_id', 'deadline']).execute();
    expect(tasks.length).toBeGreaterThanOrEqual(5);
    expect(tasks.some((task) => task.parent_task_id !== null)).toBe(true);
    expect(new Set(tasks.map((task) => task.status)).size).toBeGreaterThanOrEqual(3);
    expect(await countRows(db, 'tags')).toBeGreaterThanOrEqual(3);
    expect(await countRows(db, 'task_tags')).toBeGreaterThan(0);
    const actions = await db.selectFrom('task_history').select('action').distinct().execute();
    expect(actions.map((a) => a.action).sort()).toEqual(expect.arrayContaining(['created', 'status_changed']));

    const counts = [await countRows(db, 'tasks'), await countRows(db, 'task_history')];
    const second = await seedDemo(db, testConfig(), clock);
    expect(second.created).toBe(false);
    expect(second.users).toEqual(first.users);
    expect([await countRows(db, 'tasks'), await countRows(db, 'task_history')]).toEqual(counts);
  });

  it('gives the demo developer a time zone in which it is working hours now, and moves it on a later run', async () => {
    const db = database.handle.db;
    const developerZone = async () =>
      (await db.selectFrom('users').select('timezone').where('username', '=', 'demo_dev').executeTakeFirstOrThrow()).timezone;
    // Seeded at 22:00Z by the test above: UTC is off hours, so another zone was chosen.
    const night = new Date('2026-11-25T22:00:00Z');
    expect(isWithinWorkingHours(night, await developerZone(), DEFAULT_WORK_HOURS)).toBe(true);
    expect(await developerZone()).not.toBe('UTC');

    const morning = new Date('2026-11-26T03:10:00Z');
    const again = await seedDemo(db, testConfig(), fixedClock(morning));
    expect(again.created).toBe(false);
    expect(await developerZone()).toBe(again.developerTimezone);
    expect(isWithinWorkingHours(morning, again.developerTimezone, DEFAULT_WORK_HOURS)).toBe(true);
  });
});

describe("the demo developer's time zone", () => {
  const halfHoursOfADay = Array.from({ length: 48 }, (_, i) => new Date(Date.UTC(2026, 2, 8, 0, 30 * i)));

  it.each([
    ['09:00', '18:00'],
    ['07:30', '16:00'],
    ['13:00', '14:00'],
  ])('is a canonical IANA zone inside %s-%s at every half hour of a day', (start, end) => {
    const hours = { workHoursStart: start, workHoursEnd: end };
    for (const now of halfHoursOfADay) {
      const zone = demoDeveloperTimeZone(now, 'UTC', hours);
      expect(normalizeTimeZone(zone), `${now.toISOString()} → ${zone}`).toBe(zone);
      expect(isWithinWorkingHours(now, zone, hours), `${now.toISOString()} → ${zone}`).toBe(true);
    }
  });

  it('keeps DEFAULT_TIMEZONE during the first half of its working day, then picks a zone whose day just began', () => {
    expect(demoDeveloperTimeZone(new Date('2026-11-25T10:00:00Z'), 'UTC', DEFAULT_WORK_HOURS)).toBe('UTC');
    expect(demoDeveloperTimeZone(new Date('2026-11-25T04:00:00Z'), 'Asia/Kolkata', DEFAULT_WORK_HOURS)).toBe('Asia/Kolkata');
    // 15:00 UTC: UTC has 3 of its 9 hours left; in a zone at UTC-6 it is 09:00.
    const zone = demoDeveloperTimeZone(new Date('2026-11-25T15:00:00Z'), 'UTC', DEFAULT_WORK_HOURS);
    expect(zone).toBe('America/Chicago');
  });
});
