import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { fixedClock } from '../../src/lib/clock.js';
import { verifyPassword } from '../../src/lib/hash.js';
import { seedDemo } from '../../src/modules/tasks/seed-demo.js';
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
});
