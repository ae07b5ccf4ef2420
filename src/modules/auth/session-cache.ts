// The session check's cache (issue 10): an instance may answer the check from a session read
// shortly before, instead of a round trip to the database, and still no instance accepts a token
// once the request that revoked its session (or changed its user) has been answered.
//
// It needs Redis, the channel every instance listens on; without REDIS_URL (or with
// SESSION_CACHE_MS=0) it is off and every check reads the database. The rules that make it exact:
//  - An entry is used for at most `lifetimeMs` after its read began, and only while it would be
//    accepted (live, active, verified, not yet expired); anything else is read again.
//  - An instance uses its entries only while it holds a lease: every lifetime/4 it renews its
//    entry in a Redis sorted set of holders and publishes a tick to its own channel; receiving the
//    tick extends the lease to when the tick was sent + lifetime (less a tenth, for clock drift).
//    Messages on one subscription arrive in the order they were published, so an instance holding a
//    lease has received every revocation published before its last tick.
//  - A change calls forget(userIds) after its commit: the entries go here at once, and one Redis
//    script lists the holders and publishes the user ids. forget resolves when every other holder
//    has acknowledged, or when the last of their leases ends. PUBLISH also says how many instances
//    heard the message: when more did than the holders listed (the set was lost or evicted, or a
//    clock stepped), forget also waits for that many acknowledgements. When Redis cannot be reached
//    or does not answer in time, it resolves once the lifetime has passed (by then every entry read
//    before the commit has expired on every instance configured alike).
//  - A read that began before a forget (or a lapse of the lease) is not stored: an epoch counter
//    says whether one happened meanwhile.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { closeRedis, REDIS_COMMAND_TIMEOUT_MS } from '../../lib/redis.js';
import type { SessionWithUser } from './sessions.repository.js';

export interface SessionCache {
  readonly enabled: boolean;
  /** A cached session that would be accepted, read within the lifetime; undefined: read the database. */
  get(sessionId: number, nowIso: string): SessionWithUser | undefined;
  /** Taken before reading a session from the database, and handed to remember() with the result. */
  readStarted(): ReadTicket;
  /** Keeps a session just read, unless a forget (or a lapse of the lease) happened since its read began. */
  remember(session: SessionWithUser, ticket: ReadTicket): void;
  /**
   * After the commit of a change to these users or their sessions: resolves once no instance can
   * answer a session check from an entry read before the change.
   */
  forget(userIds: readonly number[]): Promise<void>;
  close(): Promise<void>;
}

export interface ReadTicket {
  epoch: number;
  startedAt: number;
}

export const disabledSessionCache: SessionCache = {
  enabled: false,
  get: () => undefined,
  readStarted: () => ({ epoch: 0, startedAt: 0 }),
  remember: () => undefined,
  forget: async () => undefined,
  close: async () => undefined,
};

/** Most sessions one instance keeps; beyond it the oldest entry goes. */
const MAX_ENTRIES = 10_000;

interface Entry {
  session: SessionWithUser;
  userId: number;
  readAt: number;
}

/** Whether the session check would accept this session at `nowIso` (the only entries kept or used). */
const acceptable = (session: SessionWithUser, nowIso: string) =>
  session.revokedAt === null && session.expiresAt > nowIso && session.user.is_active && session.user.email_verified;

// KEYS[1] holders; ARGV: origin, lifetime ms, own channel, tick sequence.
const RENEW_LEASE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PUBLISH', ARGV[3], 'tick:' .. ARGV[4])
return 1`;

// KEYS[1] holders; ARGV: forget channel, message. Returns how many subscribers received the
// message, then the holders with a lease, each followed by its lease's end (ms from now).
const PUBLISH_FORGET = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local holders = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')
local receivers = redis.call('PUBLISH', ARGV[1], ARGV[2])
for i = 2, #holders, 2 do holders[i] = tostring(tonumber(holders[i]) - now) end
table.insert(holders, 1, tostring(receivers))
return holders`;

type LeaseRedis = Redis & {
  renewLease(holders: string, origin: string, lifetimeMs: number, channel: string, seq: number): Promise<number>;
  publishForget(holders: string, channel: string, message: string): Promise<string[]>;
};

interface PendingForget {
  /** The holders listed that have not acknowledged yet. */
  waitingFor: Set<string>;
  acknowledged: Set<string>;
  /** How many other instances heard the forget, each of which acknowledges it. */
  receivers: number;
  done: () => void;
}

interface ForgetRequest {
  /** The forgetting instance's origin, where acknowledgements go. */
  from: string;
  id: string;
  users: number[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A message of the forget channel as an instance publishes it, or null for anything else. */
function forgetRequestOf(message: string): ForgetRequest | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { from, id, users } = parsed as Record<string, unknown>;
  if (typeof from !== 'string' || !UUID.test(from) || typeof id !== 'string' || !UUID.test(id) || !Array.isArray(users)) return null;
  return { from, id, users: users.filter((user): user is number => Number.isSafeInteger(user)) };
}

/** What it logs with: the app's logger, or the CLI's error output. */
export interface CacheLog {
  warn(fields: object, message: string): void;
  info(message: string): void;
}

export interface SessionCacheOptions {
  redisUrl: string;
  keyPrefix: string;
  lifetimeMs: number;
  log: CacheLog;
  /** false: only forget() (the CLI), never holding entries nor a lease. */
  holdEntries?: boolean;
}

export function redisSessionCache(options: SessionCacheOptions): SessionCache {
  const { lifetimeMs, log } = options;
  const holdEntries = options.holdEntries ?? true;
  const origin = randomUUID();
  const holdersKey = `${options.keyPrefix}:session-cache:holders`;
  const forgetChannel = `${options.keyPrefix}:session-cache:forget`;
  const channelOf = (instance: string) => `${options.keyPrefix}:session-cache:to:${instance}`;
  const ownChannel = channelOf(origin);
  const connection = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
  };
  const commands = new Redis(options.redisUrl, {
    ...connection,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectionName: `${options.keyPrefix}:session-cache`,
  }) as LeaseRedis;
  commands.defineCommand('renewLease', { numberOfKeys: 1, lua: RENEW_LEASE });
  commands.defineCommand('publishForget', { numberOfKeys: 1, lua: PUBLISH_FORGET });
  const subscriber = new Redis(options.redisUrl, { ...connection, enableOfflineQueue: true, connectionName: `${options.keyPrefix}:session-cache:subscriber` });

  const entries = new Map<number, Entry>();
  let epoch = 0;
  /** performance.now() until which this instance has heard every forget (its lease). */
  let leaseUntil = 0;
  let tickSeq = 0;
  const ticksSent = new Map<number, number>();
  const pending = new Map<string, PendingForget>();
  let warned = false;

  const dropAll = () => {
    epoch += 1;
    entries.clear();
  };
  const dropUsers = (userIds: readonly number[]) => {
    epoch += 1;
    if (entries.size === 0) return;
    const users = new Set(userIds);
    for (const [sessionId, entry] of entries) if (users.has(entry.userId)) entries.delete(sessionId);
  };
  const leaseHeld = (now: number) => {
    if (now < leaseUntil) return true;
    // A lapsed lease may have missed forgets: nothing kept before it can be trusted again.
    if (entries.size > 0) dropAll();
    return false;
  };
  const warn = (error: unknown) => {
    if (warned) return;
    warned = true;
    log.warn({ err: error instanceof Error ? error.message : String(error) }, 'Redis unavailable: session checks read the database until it returns');
  };
  commands.on('error', warn);
  subscriber.on('error', warn);

  let subscribed = false;
  // Messages published while no subscription is active are lost, and a new subscription's ticks
  // say nothing about them: everything kept goes with the connection, and reads that began before
  // the new subscription are not kept (their forgets may be among the lost).
  subscriber.on('close', () => {
    const wasSubscribed = subscribed;
    subscribed = false;
    leaseUntil = 0;
    dropAll();
    // Deaf, it holds nothing: other instances' forgets need not wait for its lease to end.
    if (wasSubscribed && holdEntries && commands.status === 'ready') commands.zrem(holdersKey, origin).catch(warn);
  });
  subscriber.on('ready', () => {
    const channels = holdEntries ? [forgetChannel, ownChannel] : [ownChannel];
    subscriber.subscribe(...channels).then(() => {
      subscribed = true;
      dropAll();
      if (holdEntries) renew();
      if (warned) log.info('Redis is back: session checks may use the cache again');
      warned = false;
    }, warn);
  });
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === forgetChannel) return onForget(message);
    if (channel !== ownChannel) return;
    const [kind, first, second] = message.split(':');
    if (kind === 'tick') return onTick(Number(first));
    if (kind === 'ack' && first !== undefined && second !== undefined) onAck(first, second);
  });

  function onTick(seq: number) {
    const sentAt = ticksSent.get(seq);
    if (sentAt === undefined) return;
    for (const old of ticksSent.keys()) if (old <= seq) ticksSent.delete(old);
    const now = performance.now();
    if (now >= leaseUntil) dropAll();
    leaseUntil = Math.max(leaseUntil, sentAt + lifetimeMs - lifetimeMs / 10);
  }

  function onForget(message: string) {
    const request = forgetRequestOf(message);
    if (request === null || request.from === origin) return;
    dropUsers(request.users);
    commands.publish(channelOf(request.from), `ack:${request.id}:${origin}`).catch(warn);
  }

  function onAck(forgetId: string, from: string) {
    const waiting = pending.get(forgetId);
    if (!waiting) return;
    waiting.waitingFor.delete(from);
    waiting.acknowledged.add(from);
    if (waiting.waitingFor.size === 0 && waiting.acknowledged.size >= waiting.receivers) waiting.done();
  }

  const renew = () => {
    // Without a subscription it would hear no forget: it must not claim a lease others wait for.
    if (commands.status !== 'ready' || !subscribed) return;
    const now = performance.now();
    // A tick older than the lifetime could no longer extend the lease: one never echoed is forgotten.
    for (const [seq, sentAt] of ticksSent) {
      if (now - sentAt < lifetimeMs) break;
      ticksSent.delete(seq);
    }
    tickSeq += 1;
    ticksSent.set(tickSeq, now);
    commands.renewLease(holdersKey, origin, lifetimeMs, ownChannel, tickSeq).catch(warn);
  };
  const renewal = holdEntries ? setInterval(renew, Math.max(lifetimeMs / 4, 10)) : undefined;
  renewal?.unref();
  if (holdEntries) commands.on('ready', renew);

  /** Resolves true once this instance can publish and hear acknowledgements, false at `deadline`. */
  const connected = async (deadline: number): Promise<boolean> => {
    while (commands.status !== 'ready' || !subscribed) {
      const left = deadline - performance.now();
      if (left <= 0 || commands.status === 'end') return false;
      await sleep(Math.min(left, 20));
    }
    return true;
  };
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(ms, 0)));
  const TIMED_OUT = Symbol('timed out');
  /** `promise`'s value, or TIMED_OUT once `deadline` (a performance.now() time) has passed. */
  const before = <T>(promise: Promise<T>, deadline: number): Promise<T | typeof TIMED_OUT> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), Math.max(deadline - performance.now(), 0));
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };

  return {
    enabled: true,
    get(sessionId, nowIso) {
      const now = performance.now();
      if (!leaseHeld(now)) return undefined;
      const entry = entries.get(sessionId);
      if (!entry) return undefined;
      if (now - entry.readAt >= lifetimeMs || !acceptable(entry.session, nowIso)) {
        entries.delete(sessionId);
        return undefined;
      }
      return entry.session;
    },
    readStarted: () => ({ epoch, startedAt: performance.now() }),
    remember(session, ticket) {
      if (!holdEntries || ticket.epoch !== epoch || !leaseHeld(performance.now())) return;
      // Only sessions the check accepts are kept (their expiry is checked on every use).
      if (session.revokedAt !== null || !session.user.is_active || !session.user.email_verified) return;
      if (entries.size >= MAX_ENTRIES && !entries.has(session.sessionId)) entries.delete(entries.keys().next().value as number);
      entries.set(session.sessionId, { session, userId: session.user.id, readAt: ticket.startedAt });
    },
    async forget(userIds) {
      const deadline = performance.now() + lifetimeMs;
      dropUsers(userIds);
      const id = randomUUID();
      // Registered before publishing: an acknowledgement may arrive before the script's reply.
      const waiting: PendingForget = { waitingFor: new Set(), acknowledged: new Set(), receivers: 0, done: () => undefined };
      pending.set(id, waiting);
      try {
        let reply: string[] | typeof TIMED_OUT;
        try {
          if (!(await connected(deadline))) throw new Error(`Redis connection is ${commands.status}`);
          const message = JSON.stringify({ from: origin, id, users: userIds });
          reply = await before(commands.publishForget(holdersKey, forgetChannel, message), deadline);
        } catch (error) {
          warn(error);
          reply = TIMED_OUT;
        }
        // Not known to have been heard: wait until every entry read before the change has expired.
        if (reply === TIMED_OUT) return await sleep(deadline - performance.now());

        // Its own subscriber hears it too (the CLI's does not listen on the forget channel).
        waiting.receivers = Math.max(Number(reply[0]) - (holdEntries ? 1 : 0), 0);
        let leasesEnd = 0;
        for (let i = 1; i + 1 < reply.length; i += 2) {
          if (reply[i] === origin || waiting.acknowledged.has(reply[i] as string)) continue;
          waiting.waitingFor.add(reply[i] as string);
          leasesEnd = Math.max(leasesEnd, Number(reply[i + 1]));
        }
        if (waiting.waitingFor.size === 0 && waiting.acknowledged.size >= waiting.receivers) return;
        // A holder that never answers stops using its entries when its lease ends. An instance that
        // heard the forget without a listed lease is waited for at most a lifetime, the longest it
        // can have used an entry read before the change (when configured alike).
        const unlisted = waiting.receivers > waiting.acknowledged.size + waiting.waitingFor.size;
        const giveUpAt = performance.now() + Math.max(leasesEnd, unlisted ? lifetimeMs : 0);
        await before(new Promise<void>((resolve) => (waiting.done = resolve)), giveUpAt);
      } finally {
        pending.delete(id);
      }
    },
    async close() {
      if (renewal) clearInterval(renewal);
      leaseUntil = 0;
      dropAll();
      for (const waiting of pending.values()) waiting.done();
      if (holdEntries && commands.status === 'ready') await commands.zrem(holdersKey, origin).catch(() => undefined);
      await closeRedis(subscriber, commands);
    },
  };
}
