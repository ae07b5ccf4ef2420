// Priority escalation (§7): an unfinished task due within 24 hours rises one priority step, once —
// priority_escalated is set, and moving the deadline later clears it again (tasks.service), which
// re-arms the escalation. Each step is one conditional update (priority_escalated = false, deadline
// still in the window, checked on the row as it is when updated), so of two overlapping runs only one
// changes a task, and only the tasks that run changed get a history row and a notification.
//
// A task already critical has no step left: it is not touched, not flagged and not notified. An
// escalated task's updated_at moves (its priority changed); the deadline-warning marker does not.
// History: one row per escalation, action "priority_escalated", changes ["priority",
// "priority_escalated"], user_id null (no user acted).
import type { Database } from '../db/database.js';
import type { TaskPriority } from '../db/schema.js';
import type { NewNotification } from '../modules/notifications/notifications.repository.js';
import type { NotificationPublic } from '../modules/notifications/notifications.schemas.js';
import { formatTimestamp } from '../modules/tasks/task-input.js';
import { batches, insertNotificationsInBatches } from './batches.js';

export const ESCALATION_WINDOW_MS = 24 * 60 * 60 * 1000;
export const ESCALATION_HISTORY_ACTION = 'priority_escalated';

/**
 * One step up; critical has none. Highest step first, so no task is raised twice in one run (its
 * new flag would stop that too).
 */
const STEPS: ReadonlyArray<readonly [from: TaskPriority, to: TaskPriority]> = [
  ['high', 'critical'],
  ['medium', 'high'],
  ['low', 'medium'],
];

export interface Escalation {
  taskId: number;
  from: TaskPriority;
  to: TaskPriority;
}

export interface EscalationResult {
  escalations: Escalation[];
  notifications: NotificationPublic[];
}

/** Escalates the tasks due in (now, now + 24 h]; run it in a transaction. */
export async function escalatePriorities(trx: Database, now: Date): Promise<EscalationResult> {
  const nowIso = now.toISOString();
  const windowEnd = new Date(now.getTime() + ESCALATION_WINDOW_MS).toISOString();
  const escalated: Array<Escalation & { title: string; assignedTo: number; deadline: string }> = [];
  for (const [from, to] of STEPS) {
    const rows = await trx
      .updateTable('tasks')
      .set({ priority: to, priority_escalated: true, updated_at: nowIso })
      .where('priority', '=', from)
      .where('priority_escalated', '=', false)
      .where('status', '<>', 'completed')
      .where('deadline', '>', nowIso)
      .where('deadline', '<=', windowEnd)
      .returning(['id', 'title', 'assigned_to', 'deadline'])
      .execute();
    for (const row of rows) {
      escalated.push({ taskId: row.id, from, to, title: row.title, assignedTo: row.assigned_to, deadline: formatTimestamp(row.deadline) });
    }
  }
  escalated.sort((a, b) => a.taskId - b.taskId);

  for (const batch of batches(escalated)) {
    await trx
      .insertInto('task_history')
      .values(
        batch.map((e) => ({
          task_id: e.taskId,
          user_id: null,
          action: ESCALATION_HISTORY_ACTION,
          from_status: null,
          to_status: null,
          changes: JSON.stringify(['priority', 'priority_escalated']),
          timestamp: nowIso,
        })),
      )
      .execute();
  }
  const notifications = await insertNotificationsInBatches(
    trx,
    escalated.map(
      (e): NewNotification => ({
        userId: e.assignedTo,
        taskId: e.taskId,
        taskTitle: e.title,
        message: `Task "${e.title}" is due within 24 hours (at ${e.deadline}): priority raised from ${e.from} to ${e.to}`,
        type: 'priority_escalated',
      }),
    ),
    nowIso,
  );
  return { escalations: escalated.map(({ taskId, from, to }) => ({ taskId, from, to })), notifications };
}
