// Migrations create the whole data model, identically on SQLite and PostgreSQL (run this file with
// TEST_DATABASE_URL set for the latter), and the database layer normalises values across dialects.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isForeignKeyViolation, isUniqueViolation } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let t: TestDatabase;
const now = '2026-11-25T10:00:00.000Z';

beforeAll(async () => {
  t = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  await t.cleanup();
});

const TABLES = {
  users: ['id', 'username', 'email', 'hashed_password', 'role', 'timezone', 'email_verified', 'is_active', 'created_at'],
  user_sessions: [
    'id', 'user_id', 'refresh_token_hash', 'device_id', 'created_at', 'last_used', 'expires_at', 'revoked_at',
    'previous_refresh_token_hash', 'refresh_rotated_at', 'revoked_reason',
  ],
  email_verification_tokens: ['id', 'user_id', 'token_hash', 'email', 'created_at', 'expires_at', 'used_at'],
  password_reset_tokens: ['id', 'user_id', 'token_hash', 'created_at', 'expires_at', 'used_at'],
  invitations: ['id', 'email', 'token_hash', 'invited_by', 'created_at', 'expires_at', 'used_at'],
  tasks: [
    'id', 'title', 'description', 'status', 'priority', 'estimated_hours', 'actual_hours', 'deadline',
    'priority_escalated', 'assigned_to', 'created_by', 'parent_task_id', 'created_at', 'updated_at',
  ],
  tags: ['id', 'name'],
  task_tags: ['task_id', 'tag_id'],
  task_history: ['id', 'task_id', 'user_id', 'action', 'from_status', 'to_status', 'changes', 'timestamp'],
  notifications: ['id', 'user_id', 'task_id', 'task_title', 'message', 'notification_type', 'read', 'is_delivered', 'created_at'],
  api_audit_logs: [
    'id', 'user_id', 'endpoint', 'method', 'status_code', 'request_body', 'response_body', 'ip', 'user_agent',
    'duration_ms', 'timestamp',
  ],
};

describe('migrations', () => {
  it('apply from an empty database, then report nothing pending', async () => {
    const first = await migrateToLatest(t.handle.db);
    expect(first.map((r) => r.status)).toEqual(first.map(() => 'Success'));
    expect(first.length).toBeGreaterThan(0);
    const second = await migrateToLatest(t.handle.db);
    expect(second).toEqual([]);
  });

  it('create every table of the data model with its columns', async () => {
    const tables = await t.handle.db.introspection.getTables();
    for (const [name, columns] of Object.entries(TABLES)) {
      const table = tables.find((tb) => tb.name === name);
      expect(table, name).toBeDefined();
      expect(table?.columns.map((c) => c.name)).toEqual(expect.arrayContaining(columns));
    }
  });

  async function insertUser(username: string, email: string) {
    return t.handle.db
      .insertInto('users')
      .values({
        username,
        email,
        hashed_password: 'x',
        role: 'developer',
        timezone: 'UTC',
        email_verified: true,
        is_active: true,
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
  }

  it('enforce case-insensitive unique usernames and e-mails, recognised in both dialects', async () => {
    await insertUser('Alice', 'alice@example.com');
    const dupName = await insertUser('alice', 'other@example.com').catch((e: unknown) => e);
    expect(isUniqueViolation(dupName)).toBe(true);
    const dupEmail = await insertUser('bob', 'ALICE@example.com').catch((e: unknown) => e);
    expect(isUniqueViolation(dupEmail)).toBe(true);
  });

  it('enforce foreign keys', async () => {
    const error = await t.handle.db
      .insertInto('user_sessions')
      .values({
        user_id: 999_999,
        refresh_token_hash: 'h',
        device_id: 'd',
        created_at: now,
        last_used: now,
        expires_at: now,
      })
      .execute()
      .catch((e: unknown) => e);
    expect(isForeignKeyViolation(error)).toBe(true);
  });

  it('return timestamps as ISO strings with Z, hours as numbers and booleans as JS truthiness', async () => {
    const user = await insertUser('carol', 'carol@example.com');
    const task = await t.handle.db
      .insertInto('tasks')
      .values({
        title: 'T',
        description: '',
        status: 'pending',
        priority: 'low',
        estimated_hours: 8.5,
        actual_hours: 1.25,
        deadline: '2026-12-01T12:00:00.000Z',
        priority_escalated: false,
        assigned_to: user.id,
        created_by: user.id,
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const row = await t.handle.db
      .selectFrom('tasks')
      .select(['deadline', 'estimated_hours', 'actual_hours', 'priority_escalated'])
      .where('id', '=', task.id)
      .executeTakeFirstOrThrow();
    expect(row.deadline).toBe('2026-12-01T12:00:00.000Z');
    expect(row.estimated_hours).toBe(8.5);
    expect(row.actual_hours).toBe(1.25);
    expect(Boolean(row.priority_escalated)).toBe(false);

    const counted = await t.handle.db
      .selectFrom('tasks')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('estimated_hours').as('hours')])
      .executeTakeFirstOrThrow();
    expect(counted).toEqual({ n: 1, hours: 8.5 });
    const compared = await t.handle.db
      .selectFrom('tasks')
      .select('id')
      .where('deadline', '<', '2026-12-01T12:00:00.001Z')
      .where('deadline', '>', sql<string>`${'2026-12-01T11:59:59.999Z'}`)
      .execute();
    expect(compared).toHaveLength(1);
  });
});
