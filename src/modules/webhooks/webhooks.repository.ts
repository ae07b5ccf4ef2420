// Webhooks and their delivery queue: plain functions over a database or a transaction.
import { sql, type ExpressionBuilder, type Selectable } from 'kysely';
import { skipLockedRows } from '../../db/claims.js';
import type { Database } from '../../db/database.js';
import type { DB, WebhookDeliveriesTable, WebhookDeliveryState } from '../../db/schema.js';
import type { WebhookEventName } from './webhook-events.js';
import type { WebhookDelivery, WebhookPublic } from './webhooks.schemas.js';

const PUBLIC_COLUMNS = ['id', 'url', 'events', 'active', 'created_at'] as const;

interface WebhookPublicRow {
  id: number;
  url: string;
  events: string;
  active: unknown;
  created_at: string;
}

const toPublic = (row: WebhookPublicRow): WebhookPublic => ({
  id: row.id,
  url: row.url,
  events: JSON.parse(row.events) as WebhookEventName[],
  active: Boolean(row.active),
  created_at: row.created_at,
});

export async function listWebhooks(db: Database): Promise<WebhookPublic[]> {
  return (await db.selectFrom('webhooks').select(PUBLIC_COLUMNS).orderBy('id').execute()).map(toPublic);
}

export async function findWebhook(db: Database, id: number): Promise<WebhookPublic | undefined> {
  const row = await db.selectFrom('webhooks').select(PUBLIC_COLUMNS).where('id', '=', id).executeTakeFirst();
  return row && toPublic(row);
}

export interface NewWebhook {
  url: string;
  events: readonly WebhookEventName[];
  /** Already encrypted (secrets.ts). */
  secret: string;
  createdBy: number;
  now: string;
}

export async function insertWebhook(db: Database, webhook: NewWebhook): Promise<WebhookPublic> {
  const row = await db
    .insertInto('webhooks')
    .values({
      url: webhook.url,
      events: JSON.stringify(webhook.events),
      secret: webhook.secret,
      active: true,
      created_by: webhook.createdBy,
      created_at: webhook.now,
      updated_at: webhook.now,
    })
    .returning(PUBLIC_COLUMNS)
    .executeTakeFirstOrThrow();
  return toPublic(row);
}

export interface WebhookChanges {
  url?: string;
  events?: readonly WebhookEventName[];
  active?: boolean;
}

export async function updateWebhook(db: Database, id: number, changes: WebhookChanges, now: string): Promise<WebhookPublic | undefined> {
  const row = await db
    .updateTable('webhooks')
    .set({
      ...(changes.url !== undefined && { url: changes.url }),
      ...(changes.events !== undefined && { events: JSON.stringify(changes.events) }),
      ...(changes.active !== undefined && { active: changes.active }),
      updated_at: now,
    })
    .where('id', '=', id)
    .returning(PUBLIC_COLUMNS)
    .executeTakeFirst();
  return row && toPublic(row);
}

/** Deletes the webhook and its deliveries (cascade); false when there was none. */
export async function deleteWebhook(db: Database, id: number): Promise<boolean> {
  const result = await db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** What the worker needs to send: the target and the encrypted key; undefined once deleted. */
export async function findWebhookTarget(db: Database, id: number): Promise<{ url: string; secret: string; active: boolean } | undefined> {
  const row = await db.selectFrom('webhooks').select(['url', 'secret', 'active']).where('id', '=', id).executeTakeFirst();
  return row && { url: row.url, secret: row.secret, active: Boolean(row.active) };
}

export async function listDeliveries(db: Database, webhookId: number, limit: number): Promise<WebhookDelivery[]> {
  const rows = await db
    .selectFrom('webhook_deliveries')
    .select(['id', 'delivery_id', 'event', 'state', 'attempt', 'status_code', 'error', 'duration_ms', 'created_at', 'last_attempt_at', 'next_attempt_at'])
    .where('webhook_id', '=', webhookId)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ ...row, event: row.event as WebhookEventName }));
}

// ---------------------------------------------------------------------------------------------
// The queue.

export type ClaimedDelivery = Pick<Selectable<WebhookDeliveriesTable>, 'id' | 'webhook_id' | 'event' | 'delivery_id' | 'payload' | 'attempt'>;

/** Due: pending and its time has come, or being delivered under a lease that has expired. */
const due = (now: string) => (eb: ExpressionBuilder<DB, 'webhook_deliveries'>) =>
  eb.or([
    eb.and([eb('state', '=', 'pending'), eb('next_attempt_at', '<=', now)]),
    eb.and([eb('state', '=', 'delivering'), eb('locked_until', '<=', now)]),
  ]);

export async function hasDueDeliveries(db: Database, now: string): Promise<boolean> {
  return (await db.selectFrom('webhook_deliveries').select('id').where(due(now)).limit(1).executeTakeFirst()) !== undefined;
}

/**
 * Claims up to `limit` due deliveries for `claimId` until `leaseUntil`, counting the attempt. One
 * conditional UPDATE: whichever instance runs it first takes a row; the others skip it.
 */
export async function claimDueDeliveries(
  db: Database,
  claim: { now: string; leaseUntil: string; claimId: string; limit: number },
): Promise<ClaimedDelivery[]> {
  const candidates = skipLockedRows(db, db.selectFrom('webhook_deliveries').select('id').where(due(claim.now)).orderBy('id').limit(claim.limit));
  return db
    .updateTable('webhook_deliveries')
    .set({
      state: 'delivering',
      locked_by: claim.claimId,
      locked_until: claim.leaseUntil,
      last_attempt_at: claim.now,
      attempt: sql<number>`attempt + 1`,
    })
    .where('id', 'in', candidates)
    .where(due(claim.now))
    .returning(['id', 'webhook_id', 'event', 'delivery_id', 'payload', 'attempt'])
    .execute();
}

export interface AttemptOutcome {
  state: Exclude<WebhookDeliveryState, 'delivering'>;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  nextAttemptAt: string | null;
}

/** Records an attempt's outcome, if the claim is still ours (a lease that ran out may have moved on). */
export async function finishDelivery(db: Database, id: number, claimId: string, outcome: AttemptOutcome): Promise<boolean> {
  const result = await db
    .updateTable('webhook_deliveries')
    .set({
      state: outcome.state,
      status_code: outcome.statusCode,
      error: outcome.error === null ? null : outcome.error.slice(0, 500),
      duration_ms: Math.round(outcome.durationMs),
      next_attempt_at: outcome.nextAttemptAt,
      locked_by: null,
      locked_until: null,
    })
    .where('id', '=', id)
    .where('locked_by', '=', claimId)
    .where('state', '=', 'delivering')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
