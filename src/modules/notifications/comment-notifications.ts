// Which notifications a comment produces (§12): the task's assignee hears of a new comment
// (`comment_added`), and every user it mentions who can see the task is told so (`mentioned`) —
// never the author, and each user once: a mentioned assignee gets the `mentioned` notification
// only, as it is the more specific of the two. Pure: the comment service inserts the result in its
// transaction.
import type { NewNotification } from './notifications.repository.js';

export interface CommentEvent {
  taskId: number;
  taskTitle: string;
  authorId: number;
  authorName: string;
  /** The assignee to tell of a new comment; null when an edit only adds mentions. */
  assigneeId: number | null;
  /** Users mentioned (already filtered to those who can see the task). */
  mentionedIds: readonly number[];
}

export function notificationsForComment(event: CommentEvent): NewNotification[] {
  const base = { taskId: event.taskId, taskTitle: event.taskTitle };
  const mentioned = new Set(event.mentionedIds.filter((id) => id !== event.authorId));
  const out: NewNotification[] = [...mentioned].map((userId) => ({
    ...base,
    userId,
    type: 'mentioned',
    message: `${event.authorName} mentioned you in a comment on task "${event.taskTitle}"`,
  }));
  if (event.assigneeId !== null && event.assigneeId !== event.authorId && !mentioned.has(event.assigneeId)) {
    out.unshift({
      ...base,
      userId: event.assigneeId,
      type: 'comment_added',
      message: `${event.authorName} commented on task "${event.taskTitle}"`,
    });
  }
  return out;
}
