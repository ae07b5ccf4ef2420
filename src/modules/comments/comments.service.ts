// Writing comments: each operation checks the task's visibility and the comment rules, writes the
// comment, a task history row (action comment_added / comment_edited / comment_deleted, changes
// ["comment"]) and the notifications it calls for, all in one transaction. The caller pushes the
// returned notifications only after the commit. Given a transaction (seed-demo), they run in it.
//
// Mentions: `@username` of an active, verified user who can see the task; unknown or invisible
// names are ignored (no error, nothing that tells them apart). An edit notifies only the users it
// newly mentions; the assignee hears of new comments, not of edits.
import type { Database } from '../../db/database.js';
import { lockRows } from '../../db/locks.js';
import { invalid, notFound } from '../../errors.js';
import { notificationsForComment } from '../notifications/comment-notifications.js';
import { insertNotifications } from '../notifications/notifications.repository.js';
import type { NotificationPublic } from '../notifications/notifications.schemas.js';
import { insertHistory, type HistoryAction } from '../tasks/history.repository.js';
import { canSeeTask, enforce, TASK_NOT_FOUND, type Actor } from '../tasks/tasks.policy.js';
import { findTaskRecord, type TaskRecord } from '../tasks/tasks.repository.js';
import { inTransaction } from '../tasks/tasks.service.js';
import { enqueueWebhookEvents } from '../webhooks/webhook-events.js';
import { checkCanComment, checkDeleteComment, checkEditComment } from './comments.policy.js';
import {
  deleteComment as deleteCommentRow,
  findComment,
  findMentionableUsers,
  insertComment,
  updateCommentBody,
} from './comments.repository.js';
import type { CommentPublic } from './comments.schemas.js';
import { mentionCandidates, resolveMentions } from './mentions.js';

export const COMMENT_NOT_FOUND = 'Comment not found';

export type CommentAuthor = Actor & { username: string };

export interface CommentChange<T> {
  result: T;
  /** Written in the change's transaction; push them only once it has committed. */
  notifications: NotificationPublic[];
}

/** The stored text of a comment body: trimmed, and never blank (422). */
export function normalizeCommentBody(body: string): string {
  const trimmed = body.trim();
  if (trimmed === '') throw invalid(['body', 'body'], 'must not be blank');
  return trimmed;
}

/** The task, locked against deletion until commit, if the actor may see it; else 404. */
async function visibleTask(trx: Database, actor: Actor, taskId: number): Promise<TaskRecord> {
  const exists = (await lockRows(trx, 'tasks', [taskId], 'key share')).has(taskId);
  const task = exists ? await findTaskRecord(trx, taskId) : undefined;
  if (!task || !canSeeTask(actor, task)) throw notFound(TASK_NOT_FOUND);
  return task;
}

async function visibleComment(trx: Database, actor: Actor, taskId: number, commentId: number) {
  const task = await visibleTask(trx, actor, taskId);
  const comment = await findComment(trx, taskId, commentId);
  if (!comment) throw notFound(COMMENT_NOT_FOUND);
  return { task, comment };
}

/** Ids of the users `text` mentions who can see `task`. */
async function mentionedReaders(trx: Database, text: string, task: TaskRecord): Promise<number[]> {
  const candidates = mentionCandidates(text);
  const users = await findMentionableUsers(trx, candidates.flat());
  return resolveMentions(candidates, users)
    .filter((user) => canSeeTask(user, task))
    .map((user) => user.id);
}

const history = (trx: Database, task: TaskRecord, actor: Actor, action: HistoryAction, timestamp: string) =>
  insertHistory(trx, [{ taskId: task.id, userId: actor.id, action, changes: ['comment'] }], timestamp);

export async function addComment(
  db: Database,
  actor: CommentAuthor,
  taskId: number,
  body: string,
  now: Date,
): Promise<CommentChange<CommentPublic>> {
  enforce(checkCanComment(actor));
  const text = normalizeCommentBody(body);
  const timestamp = now.toISOString();
  return inTransaction(db, async (trx) => {
    const task = await visibleTask(trx, actor, taskId);
    const id = await insertComment(trx, { taskId, userId: actor.id, body: text }, timestamp);
    await history(trx, task, actor, 'comment_added', timestamp);
    const wanted = notificationsForComment({
      taskId,
      taskTitle: task.title,
      authorId: actor.id,
      authorName: actor.username,
      assigneeId: task.assigned_to,
      mentionedIds: await mentionedReaders(trx, text, task),
    });
    const notifications = await insertNotifications(trx, wanted, timestamp);
    const comment = await findComment(trx, taskId, id);
    if (!comment) throw notFound(COMMENT_NOT_FOUND);
    await enqueueWebhookEvents(trx, 'comment.created', [{ comment }], timestamp);
    return { result: comment, notifications };
  });
}

export async function editComment(
  db: Database,
  actor: CommentAuthor,
  taskId: number,
  commentId: number,
  body: string,
  now: Date,
): Promise<CommentChange<CommentPublic>> {
  const text = normalizeCommentBody(body);
  const timestamp = now.toISOString();
  return inTransaction(db, async (trx) => {
    const { task, comment } = await visibleComment(trx, actor, taskId, commentId);
    enforce(checkEditComment(actor, comment));
    if (comment.body === text) return { result: comment, notifications: [] };
    await updateCommentBody(trx, commentId, text, timestamp);
    await history(trx, task, actor, 'comment_edited', timestamp);
    const before = new Set(await mentionedReaders(trx, comment.body, task));
    const added = (await mentionedReaders(trx, text, task)).filter((id) => !before.has(id));
    const wanted = notificationsForComment({
      taskId,
      taskTitle: task.title,
      authorId: actor.id,
      authorName: actor.username,
      assigneeId: null,
      mentionedIds: added,
    });
    const notifications = await insertNotifications(trx, wanted, timestamp);
    return { result: { ...comment, body: text, updated_at: timestamp }, notifications };
  });
}

export async function removeComment(db: Database, actor: Actor, taskId: number, commentId: number, now: Date): Promise<void> {
  await inTransaction(db, async (trx) => {
    const { task, comment } = await visibleComment(trx, actor, taskId, commentId);
    enforce(checkDeleteComment(actor, comment));
    await deleteCommentRow(trx, commentId);
    await history(trx, task, actor, 'comment_deleted', now.toISOString());
  });
}
