// The webhook events of task changes, queued by the tasks service inside its transaction: after
// the writes of a create or update (the task as committed), before the delete of a delete (the task
// as it was). An update that changes the status is also a task.status_changed.
import type { Database } from '../../db/database.js';
import type { TaskStatus } from '../../db/schema.js';
import { findTaskRowsByIds, hydrateTasks } from '../tasks/tasks.repository.js';
import type { TaskPublic } from '../tasks/tasks.schemas.js';
import { findSubscriptions, queueDeliveries } from './webhook-events.js';

export interface TaskChangeForWebhooks {
  taskId: number;
  /** Changed field names (updates). */
  changed?: readonly string[];
  /** The status before and after, when it changed. */
  from?: TaskStatus;
  to?: TaskStatus;
}

const EVENTS = { created: 'task.created', updated: 'task.updated', deleted: 'task.deleted' } as const;

export async function enqueueTaskWebhooks(
  trx: Database,
  kind: keyof typeof EVENTS,
  changes: readonly TaskChangeForWebhooks[],
  now: string,
): Promise<void> {
  if (changes.length === 0) return;
  const subscriptions = await findSubscriptions(trx);
  const main = subscriptions.get(EVENTS[kind]) ?? [];
  const statusChanges = kind === 'updated' ? changes.filter((c) => c.from !== undefined && c.to !== undefined && c.from !== c.to) : [];
  const statusHooks = statusChanges.length > 0 ? (subscriptions.get('task.status_changed') ?? []) : [];
  if (main.length === 0 && statusHooks.length === 0) return;

  const views = new Map<number, TaskPublic>();
  for (const task of await hydrateTasks(trx, await findTaskRowsByIds(trx, changes.map((c) => c.taskId)))) views.set(task.id, task);
  const withView = <T>(list: readonly TaskChangeForWebhooks[], data: (task: TaskPublic, change: TaskChangeForWebhooks) => T): T[] =>
    list.flatMap((change) => {
      const task = views.get(change.taskId);
      return task ? [data(task, change)] : [];
    });
  if (main.length > 0) {
    const items = withView(changes, (task, change) => (kind === 'updated' ? { task, changes: change.changed ?? [] } : { task }));
    await queueDeliveries(trx, main, EVENTS[kind], items, now);
  }
  if (statusHooks.length > 0) {
    await queueDeliveries(trx, statusHooks, 'task.status_changed', withView(statusChanges, (task, change) => ({ task, from: change.from, to: change.to })), now);
  }
}
