// Queuing webhook deliveries: called inside the transaction of the change an event reports (the
// tasks service, comments), so a delivery exists exactly when its change committed. The worker
// (delivery-worker.ts) sends it later; nothing here talks to the network.
import { randomUUID } from 'node:crypto';
import type { Database } from '../../db/database.js';

export const WEBHOOK_EVENTS = ['task.created', 'task.updated', 'task.status_changed', 'task.deleted', 'comment.created'] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/** Rows a single INSERT carries (well under either dialect's parameter limit). */
const INSERT_CHUNK = 500;

/** Active webhooks by subscribed event. */
export async function findSubscriptions(trx: Database): Promise<Map<WebhookEventName, number[]>> {
  const webhooks = await trx.selectFrom('webhooks').select(['id', 'events']).where('active', '=', true).orderBy('id').execute();
  const byEvent = new Map<WebhookEventName, number[]>();
  for (const webhook of webhooks) {
    for (const event of new Set(JSON.parse(webhook.events) as WebhookEventName[])) byEvent.set(event, [...(byEvent.get(event) ?? []), webhook.id]);
  }
  return byEvent;
}

/** Queues one delivery per webhook and item: each item is the `data` of one request body. */
export async function queueDeliveries(
  trx: Database,
  webhookIds: readonly number[],
  event: WebhookEventName,
  items: readonly object[],
  now: string,
): Promise<number> {
  // `delivered_at` is fixed here, so every attempt of a delivery is byte-identical.
  const bodies = items.map((item) => JSON.stringify({ event, delivered_at: now, data: item }));
  const rows = webhookIds.flatMap((webhookId) =>
    bodies.map((payload) => ({
      webhook_id: webhookId,
      event,
      delivery_id: randomUUID(),
      payload,
      state: 'pending' as const,
      created_at: now,
      next_attempt_at: now,
    })),
  );
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) await trx.insertInto('webhook_deliveries').values(rows.slice(i, i + INSERT_CHUNK)).execute();
  return rows.length;
}

/**
 * Queues `event` for every active webhook subscribed to it, one delivery per item of `data`. `data`
 * may be a function, called only when some webhook wants the event, so that building the payload
 * costs nothing otherwise. Call it inside the change's transaction. Returns the deliveries queued.
 */
export async function enqueueWebhookEvents(
  trx: Database,
  event: WebhookEventName,
  data: readonly object[] | (() => Promise<readonly object[]>),
  now: string,
): Promise<number> {
  const webhookIds = (await findSubscriptions(trx)).get(event) ?? [];
  if (webhookIds.length === 0) return 0;
  return queueDeliveries(trx, webhookIds, event, typeof data === 'function' ? await data() : data, now);
}
