// Outgoing webhooks: managers' subscriptions, and the delivery queue (a transactional outbox).
// A delivery row is written in the transaction of the change it reports, so it exists exactly when
// the change committed; a worker in every instance claims due rows (state + next_attempt_at, or an
// expired lease in locked_until) and sends them. `payload` is the exact request body, so a retry
// sends the same bytes under the same signature.
import type { Kysely } from 'kysely';
import { columnKinds, trueDefault } from './column-types.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnKinds(db);
  await db.schema
    .createTable('webhooks')
    .addColumn('id', t.id, (c) => (t.isPostgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('url', 'varchar(2048)', (c) => c.notNull())
    // JSON array of event names.
    .addColumn('events', t.json, (c) => c.notNull())
    // The signing key, encrypted with a key derived from SECRET_KEY (modules/webhooks/secrets.ts).
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('active', t.boolean, (c) => c.notNull().defaultTo(trueDefault(t)))
    .addColumn('created_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', t.id, (c) => (t.isPostgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('webhook_id', 'integer', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
    .addColumn('event', 'varchar(64)', (c) => c.notNull())
    .addColumn('delivery_id', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('payload', 'text', (c) => c.notNull())
    // pending | delivering | succeeded | failed
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    // Attempts started so far; the columns below describe the last one.
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status_code', 'integer')
    .addColumn('error', 'varchar(500)')
    .addColumn('duration_ms', 'integer')
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('last_attempt_at', t.timestamp)
    // When a pending delivery is due; null once it succeeded or failed for good.
    .addColumn('next_attempt_at', t.timestamp)
    // The claim of the instance sending it: a lease, reclaimed by any instance once expired.
    .addColumn('locked_until', t.timestamp)
    .addColumn('locked_by', 'varchar(64)')
    .execute();
  // The claim query: due pending rows, and expired leases.
  await db.schema.createIndex('webhook_deliveries_due_idx').on('webhook_deliveries').columns(['state', 'next_attempt_at']).execute();
  await db.schema.createIndex('webhook_deliveries_lease_idx').on('webhook_deliveries').columns(['state', 'locked_until']).execute();
  // The delivery log of one webhook, newest first.
  await db.schema.createIndex('webhook_deliveries_webhook_idx').on('webhook_deliveries').columns(['webhook_id', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('webhook_deliveries').ifExists().execute();
  await db.schema.dropTable('webhooks').ifExists().execute();
}
