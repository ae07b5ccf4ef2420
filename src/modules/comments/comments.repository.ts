// task_comments access: plain functions taking a database or a transaction. Comments are always
// read within one task, with the author's username joined in.
import { sql } from 'kysely';
import type { Database } from '../../db/database.js';
import { lowerLikePostgres } from '../../db/database.js';
import type { Role } from '../../db/schema.js';
import { formatTimestamp } from '../tasks/task-input.js';
import type { CommentPublic } from './comments.schemas.js';

const COLUMNS = [
  'task_comments.id',
  'task_comments.task_id',
  'task_comments.user_id',
  'users.username',
  'task_comments.body',
  'task_comments.created_at',
  'task_comments.updated_at',
] as const;

function withAuthor(db: Database) {
  return db.selectFrom('task_comments').innerJoin('users', 'users.id', 'task_comments.user_id').select(COLUMNS);
}

const toCommentPublic = (row: Omit<CommentPublic, never>): CommentPublic => ({
  ...row,
  created_at: formatTimestamp(row.created_at),
  updated_at: formatTimestamp(row.updated_at),
});

/** A task's comments, oldest first. */
export async function listComments(db: Database, taskId: number, page: { limit: number; offset: number }): Promise<CommentPublic[]> {
  const rows = await withAuthor(db)
    .where('task_comments.task_id', '=', taskId)
    .orderBy('task_comments.id')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  return rows.map(toCommentPublic);
}

export async function countComments(db: Database, taskId: number): Promise<number> {
  const row = await db
    .selectFrom('task_comments')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('task_id', '=', taskId)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** The comment `commentId` if it belongs to task `taskId`. */
export async function findComment(db: Database, taskId: number, commentId: number): Promise<CommentPublic | undefined> {
  const row = await withAuthor(db).where('task_comments.id', '=', commentId).where('task_comments.task_id', '=', taskId).executeTakeFirst();
  return row ? toCommentPublic(row) : undefined;
}

export async function insertComment(db: Database, comment: { taskId: number; userId: number; body: string }, now: string): Promise<number> {
  const row = await db
    .insertInto('task_comments')
    .values({ task_id: comment.taskId, user_id: comment.userId, body: comment.body, created_at: now, updated_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function updateCommentBody(db: Database, id: number, body: string, now: string): Promise<void> {
  await db.updateTable('task_comments').set({ body, updated_at: now }).where('id', '=', id).execute();
}

export async function deleteComment(db: Database, id: number): Promise<void> {
  await db.deleteFrom('task_comments').where('id', '=', id).execute();
}

export interface MentionableUser {
  id: number;
  username: string;
  role: Role;
  timezone: string;
}

/**
 * The active, verified users with any of these usernames (case-insensitive), keyed by lowercased
 * username: those who could read a mention.
 */
export async function findMentionableUsers(db: Database, usernames: readonly string[]): Promise<Map<string, MentionableUser>> {
  const byName = new Map<string, MentionableUser>();
  if (usernames.length === 0) return byName;
  const rows = await db
    .selectFrom('users')
    .select(['id', 'username', 'role', 'timezone'])
    .where(sql`lower(username)`, 'in', [...new Set(usernames.map(lowerLikePostgres))])
    .where('is_active', '=', true)
    .where('email_verified', '=', true)
    .execute();
  for (const row of rows) byName.set(row.username.toLowerCase(), row);
  return byName;
}
