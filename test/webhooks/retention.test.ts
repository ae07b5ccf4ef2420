// The delivery log does not grow without end: retention removes succeeded and failed deliveries
// older than WEBHOOK_DELIVERY_RETENTION_DAYS, and never one still waiting to be sent.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runRetention, WEBHOOK_DELIVERY_RETENTION_DAYS } from '../../src/jobs/retention.js';
import type { WebhookDeliveryState } from '../../src/db/schema.js';
import { encryptWebhookSecret } from '../../src/modules/webhooks/secrets.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

it('removes finished deliveries past the retention, keeping recent and unfinished ones', async () => {
  const now = new Date('2026-11-30T12:00:00Z');
  const old = new Date(now.getTime() - (WEBHOOK_DELIVERY_RETENTION_DAYS + 1) * 86_400_000).toISOString();
  const recent = new Date(now.getTime() - 86_400_000).toISOString();
  const { id: webhookId } = await t.db
    .insertInto('webhooks')
    .values({ url: 'https://93.184.215.14/', events: '["task.created"]', secret: encryptWebhookSecret('whsec_x', t.config.secretKey), active: true, created_by: null, created_at: old, updated_at: old })
    .returning('id')
    .executeTakeFirstOrThrow();
  const rows: Array<[string, WebhookDeliveryState, string]> = [
    ['old-succeeded', 'succeeded', old],
    ['old-failed', 'failed', old],
    ['old-pending', 'pending', old],
    ['old-delivering', 'delivering', old],
    ['recent-succeeded', 'succeeded', recent],
  ];
  await t.db
    .insertInto('webhook_deliveries')
    .values(rows.map(([deliveryId, state, createdAt]) => ({ webhook_id: webhookId, event: 'task.created', delivery_id: deliveryId, payload: '{}', state, created_at: createdAt })))
    .execute();

  const removed = await runRetention(t.db, t.config, now);
  expect(removed.webhookDeliveries).toBe(2);
  const left = await t.db.selectFrom('webhook_deliveries').select('delivery_id').orderBy('delivery_id').execute();
  expect(left.map((row) => row.delivery_id)).toEqual(['old-delivering', 'old-pending', 'recent-succeeded']);
});
