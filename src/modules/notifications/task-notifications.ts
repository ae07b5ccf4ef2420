// Which notifications a task change produces (§7): the new assignee hears of an assignment, the
// previous one of the reassignment, the assignee of a status change — never the actor of their own
// action. Pure: the task service inserts the result in its transaction.
import type { TaskEvent } from '../tasks/tasks.service.js';
import type { NewNotification } from './notifications.repository.js';

const STATUS_LABELS: Record<string, string> = {
  pending: 'pending',
  in_progress: 'in progress',
  blocked: 'blocked',
  completed: 'completed',
};

export function notificationsForTaskEvents(events: readonly TaskEvent[]): NewNotification[] {
  const out: NewNotification[] = [];
  for (const event of events) {
    if (event.userId === event.actorId) continue;
    const base = { userId: event.userId, taskId: event.taskId, taskTitle: event.taskTitle };
    switch (event.type) {
      case 'assigned':
        out.push({ ...base, type: 'task_assigned', message: `You have been assigned to task "${event.taskTitle}"` });
        break;
      case 'unassigned':
        out.push({ ...base, type: 'task_unassigned', message: `You are no longer assigned to task "${event.taskTitle}"` });
        break;
      case 'status_changed':
        out.push({
          ...base,
          type: 'status_change',
          message: `Task "${event.taskTitle}" changed from ${STATUS_LABELS[event.from] ?? event.from} to ${STATUS_LABELS[event.to] ?? event.to}`,
        });
        break;
    }
  }
  return out;
}
