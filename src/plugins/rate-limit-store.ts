// Where rate-limit counters live: in Redis when REDIS_URL is set (so every instance counts against
// the same limits), in this process otherwise. A Redis outage never fails a request: counting falls
// back to the local counters (one warning), and goes back to Redis once it answers again. Both
// halves are @fastify/rate-limit's own stores; this class only chooses between them.
import { createRequire } from 'node:module';
import type { FastifyBaseLogger } from 'fastify';
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { Redis } from 'ioredis';
import { closeRedis, REDIS_COMMAND_TIMEOUT_MS } from '../lib/redis.js';

type Counted = { current: number; ttl: number };
type Callback = (error: Error | null, result?: Counted) => void;

interface PluginStore {
  incr(key: string, callback: Callback, timeWindow: number, max: number): void;
}

const require = createRequire(import.meta.url);
const LocalStore = require('@fastify/rate-limit/store/LocalStore') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  cache: number,
) => PluginStore;
const RedisStore = require('@fastify/rate-limit/store/RedisStore') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  redis: Redis,
  keyPrefix: string,
) => PluginStore;

/** Keys kept in memory (least recently used dropped first): enough that a flood of addresses cannot evict a counter that matters. */
const LOCAL_KEYS = 100_000;
/** After a failed command, counting stays local this long before Redis is tried again. */
const RETRY_AFTER_FAILURE_MS = 5_000;
/** How long the start waits for the first connection to Redis (counting is local until it answers). */
const CONNECT_WAIT_MS = 2_000;

export interface CounterStore {
  /** The store class to give @fastify/rate-limit (every limiter shares one instance: keys are namespaced by the caller). */
  readonly storeClass: FastifyRateLimitStoreCtor;
  /** Resolves once the first connection attempt to Redis succeeded or failed (at most CONNECT_WAIT_MS). */
  connected(): Promise<void>;
  close(): Promise<void>;
}

export function createCounterStore(options: { redisUrl: string | null; keyPrefix: string; log: FastifyBaseLogger }): CounterStore {
  const local = new LocalStore(false, false, LOCAL_KEYS);
  const redis = options.redisUrl
    ? new Redis(options.redisUrl, {
        // Fail at once while disconnected rather than queueing: the local counters take over.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        // A command slower than this counts as an outage for this request.
        commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
        retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
      })
    : null;
  const shared = new FallbackStore(local, redis && new RedisStore(false, false, redis, `${options.keyPrefix}:rate-limit:`), redis, options.log);
  redis?.on('error', (error: Error) => shared.reportDown(error));

  return {
    storeClass: class {
      constructor() {
        return shared;
      }
    } as unknown as FastifyRateLimitStoreCtor,
    connected: () =>
      new Promise<void>((resolve) => {
        if (!redis || redis.status === 'ready') return resolve();
        const timer = setTimeout(done, CONNECT_WAIT_MS);
        function done() {
          clearTimeout(timer);
          redis?.off('ready', done).off('error', done);
          resolve();
        }
        redis.once('ready', done).once('error', done);
      }),
    async close() {
      if (!redis) return;
      await closeRedis(redis);
    },
  };
}

class FallbackStore implements FastifyRateLimitStore {
  private down = false;
  private retryAt = 0;

  constructor(
    private readonly local: PluginStore,
    private readonly remote: PluginStore | null,
    private readonly redis: Redis | null,
    private readonly log: FastifyBaseLogger,
  ) {}

  incr(key: string, callback: Callback, timeWindow: number, max: number): void {
    if (!this.remote || !this.redisUsable()) {
      if (this.redis) this.reportDown(new Error(`Redis connection is ${this.redis.status}`));
      return this.local.incr(key, callback, timeWindow, max);
    }
    this.remote.incr(
      key,
      (error, result) => {
        if (error || !result) {
          this.reportDown(error ?? new Error('no answer'));
          this.retryAt = Date.now() + RETRY_AFTER_FAILURE_MS;
          return this.local.incr(key, callback, timeWindow, max);
        }
        if (this.down) this.log.info('Redis is back: rate-limit counters are shared again');
        this.down = false;
        callback(null, result);
      },
      timeWindow,
      max,
    );
  }

  /** Every limiter counts in this one store; their keys say which limit they belong to. */
  child(): FastifyRateLimitStore {
    return this;
  }

  reportDown(error: Error): void {
    if (this.down) return;
    this.down = true;
    this.log.warn({ err: error.message }, 'Redis unavailable: rate limits are counted by this instance alone until it returns');
  }

  private redisUsable(): boolean {
    return this.redis?.status === 'ready' && Date.now() >= this.retryAt;
  }
}
