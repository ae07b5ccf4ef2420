// The webhook delivery worker, one in every instance. It looks for due deliveries every
// WEBHOOK_POLL_INTERVAL_MS (and at once when woken after a local write), claims a batch with one
// conditional UPDATE under a lease (webhooks.repository.ts), so that with several instances each
// delivery is sent by one of them at a time, sends them, and records each outcome: succeeded, a
// retry after an exponential backoff with jitter, or failed once WEBHOOK_MAX_ATTEMPTS are spent.
// A claim whose instance died is retried by any instance once its lease runs out. `stop` takes no
// new claims and waits for the attempts in flight, each bounded by WEBHOOK_TIMEOUT_MS.
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import type { Clock } from '../../lib/clock.js';
import { decryptWebhookSecret, signWebhookBody } from './secrets.js';
import { sendWebhook, type AttemptResult } from './sender.js';
import {
  claimDueDeliveries,
  findWebhookTarget,
  finishDelivery,
  hasDueDeliveries,
  type AttemptOutcome,
  type ClaimedDelivery,
} from './webhooks.repository.js';

/** Deliveries claimed (and sent concurrently) at a time. */
const BATCH = 10;
/** A claim outlives the attempt's own bound by this much before another instance may take it. */
const LEASE_MARGIN_MS = 60_000;
const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;

export interface DeliveryWorker {
  start(): void;
  /** Look for due deliveries now (e.g. just after a change committed). */
  wake(): void;
  /** Resolves once no attempt is in flight and none will start. */
  stop(): Promise<void>;
}

export interface WorkerLogger {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface DeliveryWorkerOptions {
  db: Database;
  config: Config;
  clock: Clock;
  log: WorkerLogger;
}

/** The delay before attempt `attempt + 1`: base × 2^(attempt−1), capped at an hour, the upper half jittered. */
export function retryDelayMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(baseMs * 2 ** Math.max(0, attempt - 1), MAX_RETRY_DELAY_MS);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function createDeliveryWorker({ db, config, clock, log }: DeliveryWorkerOptions): DeliveryWorker {
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let again = false;

  const userAgent = `CTMS-Webhooks/${config.appVersion}`;

  const schedule = () => {
    if (!running) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      trigger();
    }, config.webhookPollIntervalMs);
    timer.unref();
  };

  const trigger = () => {
    if (!running) return;
    if (current !== undefined) {
      again = true;
      return;
    }
    current = (async () => {
      do {
        again = false;
        try {
          await drain();
        } catch (error) {
          log.error({ err: error }, 'webhook delivery run failed');
        }
      } while (again && running);
    })().finally(() => {
      current = undefined;
      schedule();
    });
  };

  /** Claims and sends batches until nothing is due. */
  const drain = async () => {
    while (running) {
      const now = clock.now();
      // A read first: on SQLite a claiming UPDATE takes the write lock even when nothing is due.
      if (!(await hasDueDeliveries(db, now.toISOString()))) return;
      const claimId = `${process.pid}-${randomUUID()}`;
      const leaseUntil = new Date(now.getTime() + config.webhookTimeoutMs + LEASE_MARGIN_MS).toISOString();
      const claimed = await claimDueDeliveries(db, { now: now.toISOString(), leaseUntil, claimId, limit: BATCH });
      if (claimed.length === 0) return;
      await Promise.all(claimed.map((delivery) => attempt(delivery, claimId)));
    }
  };

  const attempt = async (delivery: ClaimedDelivery, claimId: string) => {
    try {
      const target = await findWebhookTarget(db, delivery.webhook_id);
      // Deleted meanwhile: its deliveries went with it.
      if (!target) return;
      const secret = decryptWebhookSecret(target.secret, config.secretKey);
      let result: AttemptResult;
      let retryable = true;
      if (!target.active) {
        result = { ok: false, statusCode: null, error: 'Webhook is inactive', durationMs: 0 };
        retryable = false;
      } else if (secret === undefined) {
        result = { ok: false, statusCode: null, error: 'Signing key unreadable: SECRET_KEY changed since the webhook was created', durationMs: 0 };
        retryable = false;
      } else {
        result = await sendWebhook(
          target.url,
          delivery.payload,
          {
            'content-type': 'application/json',
            'user-agent': userAgent,
            'x-ctms-event': delivery.event,
            'x-ctms-delivery': delivery.delivery_id,
            'x-ctms-signature': signWebhookBody(delivery.payload, secret),
          },
          { timeoutMs: config.webhookTimeoutMs, allowPrivate: config.webhookAllowPrivate },
        );
      }
      const finished = clock.now();
      const retry = !result.ok && retryable && delivery.attempt < config.webhookMaxAttempts;
      const outcome: AttemptOutcome = {
        state: result.ok ? 'succeeded' : retry ? 'pending' : 'failed',
        statusCode: result.statusCode,
        error: result.error,
        durationMs: result.durationMs,
        nextAttemptAt: retry ? new Date(finished.getTime() + retryDelayMs(delivery.attempt, config.webhookBackoffBaseMs)).toISOString() : null,
      };
      if (!(await finishDelivery(db, delivery.id, claimId, outcome))) {
        log.warn({ delivery: delivery.delivery_id }, 'webhook delivery claim expired before its outcome was recorded');
      } else if (outcome.state === 'failed') {
        const details = { delivery: delivery.delivery_id, webhook: delivery.webhook_id, attempt: delivery.attempt, status: result.statusCode, error: result.error };
        log.warn(details, 'webhook delivery failed for good');
      }
    } catch (error) {
      // Left as claimed: it is retried when the lease runs out.
      log.error({ err: error, delivery: delivery.delivery_id }, 'webhook delivery attempt failed');
    }
  };

  return {
    start() {
      if (running) return;
      running = true;
      trigger();
    },
    wake() {
      trigger();
    },
    async stop() {
      running = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await current;
    },
  };
}
