// The bus that carries after-commit events between instances: new notifications, and "this user's
// sessions were revoked". Without Redis it is a no-op (one instance: the local hub is all there is);
// with REDIS_URL it is Redis pub/sub. Every message names its origin so an instance ignores its own
// echo (it already delivered locally). A Redis outage is logged once and never reaches the caller:
// publishing fails fast while disconnected, and the subscriber reports each reconnection so the
// instance can replay what its sockets missed; a publisher that dropped events asks every instance
// to replay once it is connected again.
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import { closeRedis, REDIS_COMMAND_TIMEOUT_MS } from '../../lib/redis.js';
import type { NotificationPublic } from './notifications.schemas.js';

export type BusEvent =
  | { kind: 'notifications'; notifications: NotificationPublic[] }
  | { kind: 'sessions_revoked'; userIds: number[] }
  /** The sender could not publish for a while: every instance replays what its sockets missed. */
  | { kind: 'replay' };

export interface BusHandlers {
  /** An event published by another instance. */
  onEvent(event: BusEvent): void;
  /** The bus came back after an outage, or another instance could not publish for a while: events were lost. */
  onReconnect(): void;
}

export interface MessageBus {
  readonly kind: 'local' | 'redis';
  publish(event: BusEvent): void;
  /** Whether events reach other instances right now. */
  healthy(): boolean;
  /** Resolves when the bus answers a round trip (Redis PING); rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const localBus = (): MessageBus => ({
  kind: 'local',
  publish: () => undefined,
  healthy: () => true,
  ping: async () => undefined,
  close: async () => undefined,
});

interface Envelope {
  origin: string;
  event: BusEvent;
}

export function redisBus(url: string, channel: string, handlers: BusHandlers, log: FastifyBaseLogger): MessageBus {
  const origin = randomUUID();
  const options = {
    // Never queue commands while disconnected: a publish during an outage fails at once instead of
    // piling up in memory (the notifications are in the database; sockets replay them).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
    lazyConnect: false,
  };
  // A publish Redis does not answer fails like one it refuses: the others are told to replay.
  const publisher = new Redis(url, { ...options, commandTimeout: REDIS_COMMAND_TIMEOUT_MS });
  const subscriber = new Redis(url, { ...options, enableOfflineQueue: true });
  let down = false;
  let everReady = false;
  /** An event could not be published; the others are told to replay once the publisher is back. */
  let dropped = false;

  const reportDown = (error: unknown) => {
    if (down) return;
    down = true;
    log.warn({ err: error instanceof Error ? error.message : String(error) }, 'Redis unavailable: live notifications reach only sockets on this instance until it returns');
  };
  publisher.on('error', reportDown);
  // Another instance's subscriber may have come back before this publisher: it replayed then, and
  // would miss what this one failed to publish since. A replay request covers that window.
  publisher.on('ready', () => {
    if (!dropped) return;
    dropped = false;
    publisher.publish(channel, JSON.stringify({ origin, event: { kind: 'replay' } } satisfies Envelope)).catch(() => (dropped = true));
  });
  subscriber.on('error', reportDown);
  let subscribed = false;
  subscriber.on('close', () => {
    subscribed = false;
    if (everReady) reportDown(new Error('connection closed'));
  });
  // Subscribe on every (re)connection: a subscription that failed while Redis was away at start is
  // never replayed by ioredis, and subscribing twice to a channel is harmless.
  subscriber.on('ready', () => {
    subscriber.subscribe(channel).then(
      () => {
        subscribed = true;
        // Back after an outage (or Redis was away at start): events published meanwhile were lost.
        const recovering = everReady || down;
        everReady = true;
        if (down) log.info('Redis is back: cross-instance notifications resumed');
        down = false;
        if (recovering) handlers.onReconnect();
      },
      reportDown,
    );
  });
  subscriber.on('message', (_channel: string, raw: string) => {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(raw) as Envelope;
    } catch {
      return;
    }
    // Anyone who can publish on the channel can send any JSON: only an object with an event object is read.
    if (typeof envelope !== 'object' || envelope === null || envelope.origin === origin) return;
    if (typeof envelope.event !== 'object' || envelope.event === null) return;
    try {
      if (envelope.event.kind === 'replay') return handlers.onReconnect();
      handlers.onEvent(envelope.event);
    } catch (error) {
      log.error({ err: error }, 'failed to handle a bus event');
    }
  });

  return {
    kind: 'redis',
    publish(event) {
      if (publisher.status !== 'ready') {
        dropped = true;
        return reportDown(new Error(`Redis connection is ${publisher.status}`));
      }
      publisher.publish(channel, JSON.stringify({ origin, event } satisfies Envelope)).catch((error: unknown) => {
        dropped = true;
        reportDown(error);
      });
    },
    healthy: () => !down && subscribed && publisher.status === 'ready',
    async ping() {
      if (!subscribed) throw new Error(`Redis subscription is not active (connection ${subscriber.status})`);
      await publisher.ping();
    },
    async close() {
      await closeRedis(subscriber, publisher);
    },
  };
}
