// Deadline warnings (§7): an unfinished task due within the hour warns its assignee, once per
// deadline. Two guards make "once" hold even when runs overlap: the task's
// deadline_warning_sent_for marker is claimed by a conditional update (only the run whose update
// changed the row goes on), and the notification's dedupe key (task and deadline) is unique.
// Moving the deadline gives a new key and a stale marker, so the new deadline is warned again.
import type { Database } from '../db/database.js';
import type { NewNotification } from '../modules/notifications/notifications.repository.js';
import type { NotificationPublic } from '../modules/notifications/notifications.schemas.js';
import { formatTimestamp } from '../modules/tasks/task-input.js';
import { insertNotificationsInBatches } from './batches.js';

export const DEADLINE_WARNING_WINDOW_MS = 60 * 60 * 1000;

export const deadlineWarningKey = (taskId: number, deadline: string): string => `deadline_warning:${taskId}:${deadline}`;

/** Warns the assignees of tasks due in (now, now + 1 h]; returns the notifications written. Run it in a transaction. */
export async function sendDeadlineWarnings(trx: Database, now: Date): Promise<NotificationPublic[]> {
  const nowIso = now.toISOString();
  const claimed = await trx
    .updateTable('tasks')
    .set((eb) => ({ deadline_warning_sent_for: eb.ref('deadline') }))
    .where('status', '<>', 'completed')
    .where('deadline', '>', nowIso)
    .where('deadline', '<=', new Date(now.getTime() + DEADLINE_WARNING_WINDOW_MS).toISOString())
    .where((eb) => eb.or([eb('deadline_warning_sent_for', 'is', null), eb('deadline_warning_sent_for', '<>', eb.ref('deadline'))]))
    .returning(['id', 'title', 'assigned_to', 'deadline'])
    .execute();
  const warnings = claimed.map((task): NewNotification => {
    const deadline = formatTimestamp(task.deadline);
    return {
      userId: task.assigned_to,
      taskId: task.id,
      taskTitle: task.title,
      message: `Task "${task.title}" is due within the hour (at ${deadline})`,
      type: 'deadline_warning',
      dedupeKey: deadlineWarningKey(task.id, deadline),
    };
  });
  // A key already present (a warning for this very deadline, before it was moved away and back) is skipped.
  return insertNotificationsInBatches(trx, warnings, nowIso);
}
