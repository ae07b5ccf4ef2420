// The open notification sockets of this instance, by user. It pushes notifications to them, keeps
// them honest (a heartbeat drops dead peers; a socket whose session was revoked or whose access
// token expired is closed with 4001) and caps how many one user may hold. Each heartbeat also
// pushes what was committed but never pushed, so nothing waits for a reconnect.
//
// Delivery is at least once: a notification counts as delivered only once a socket has written
// it out; one claimed for a socket that closed before writing it is released, to be sent again.
// A new socket receives its backlog before any live push (those wait, in order, until it is sent).
// A live push and a replay of the same row may cross (the replay claims a row pushed a moment ago
// and not yet marked delivered, or a push arrives late, after the replay), so each socket remembers
// what it was sent over the last heartbeats and never sends a notification twice.
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { Database } from '../../db/database.js';
import type { Clock } from '../../lib/clock.js';
import { findLiveSessionIds } from '../auth/sessions.repository.js';
import { claimUndelivered, claimUndeliveredForUsers, markDelivered, releaseDelivery } from './notifications.repository.js';
import type { NotificationPublic } from './notifications.schemas.js';

/** Close codes of the notification socket (4000–4999 are the application's). */
export const CLOSE = {
  goingAway: 1001,
  /** Bad, expired or revoked token, or the socket's session was revoked. */
  unauthorized: 4001,
  /** Authenticated, but inactive or unverified. */
  forbidden: 4003,
  /** The user already holds WS_MAX_SOCKETS_PER_USER sockets. */
  tooManySockets: 4008,
} as const;

/** How many undelivered notifications a socket receives when it connects. */
export const BACKLOG_LIMIT = 50;
/** A peer that lets this much pile up unread is too slow to keep. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const SESSION_CHECK_CHUNK = 500;
/** Missed notifications pushed per chunk of users and replay. */
const REPLAY_LIMIT = 1000;
/** Live pushes held for a socket whose backlog is on its way; beyond this the heartbeat catches up. */
const MAX_HELD = 200;

export interface SocketClient {
  socket: WebSocket;
  userId: number;
  sessionId: number;
  /** The access token's `exp`, in seconds. */
  tokenExpiresAt: number;
  alive: boolean;
  expiryTimer?: NodeJS.Timeout;
  /** Live pushes that arrived before the backlog was sent: sent right after it, in order. */
  held?: Array<{ id: number; message: string }>;
  /** Notifications sent to this socket since the last heartbeat, and in the one before (see `sweep`). */
  sent?: Map<number, Sending>;
  sentBefore?: Map<number, Sending>;
}

/** One notification sent to one socket. */
interface Sending {
  state: 'writing' | 'written' | 'failed';
  /** Claimed (marked delivered) for this socket: released again should the write fail. */
  claimed: boolean;
}

export interface SocketHubOptions {
  db: Database;
  clock: Clock;
  log: FastifyBaseLogger;
  heartbeatSeconds: number;
  maxSocketsPerUser: number;
}

export const notificationMessage = (notification: NotificationPublic) => JSON.stringify({ type: 'notification', notification });

export class SocketHub {
  private readonly byUser = new Map<number, Set<SocketClient>>();
  private readonly timer: NodeJS.Timeout;
  private sweeping = false;
  /** Notification messages written to sockets since start (metrics). */
  notificationsSent = 0;
  /** Written out since the last flush (to mark delivered) and claimed but never written (to release). */
  private readonly written = new Set<number>();
  private readonly unwritten = new Set<number>();
  private flushScheduled = false;

  constructor(private readonly options: SocketHubOptions) {
    this.timer = setInterval(() => void this.sweep(), options.heartbeatSeconds * 1000);
    this.timer.unref();
  }

  get size(): number {
    let n = 0;
    for (const clients of this.byUser.values()) n += clients.size;
    return n;
  }

  /** Adds the socket unless its user is at the cap; false when refused. */
  add(client: SocketClient): boolean {
    const clients = this.byUser.get(client.userId) ?? new Set<SocketClient>();
    if (clients.size >= this.options.maxSocketsPerUser) return false;
    clients.add(client);
    this.byUser.set(client.userId, clients);
    client.held = [];
    client.sent = new Map();
    client.sentBefore = new Map();
    client.socket.on('pong', () => {
      client.alive = true;
    });
    const untilExpiry = client.tokenExpiresAt * 1000 - this.options.clock.now().getTime();
    client.expiryTimer = setTimeout(() => this.closeClient(client, CLOSE.unauthorized, 'Token has expired'), Math.min(Math.max(untilExpiry, 0), 2 ** 31 - 1));
    client.expiryTimer.unref();
    return true;
  }

  remove(client: SocketClient): void {
    clearTimeout(client.expiryTimer);
    const clients = this.byUser.get(client.userId);
    if (!clients) return;
    clients.delete(client);
    if (clients.size === 0) this.byUser.delete(client.userId);
  }

  /**
   * Sends the user's undelivered backlog (oldest first, at most 50) to one socket, then the live
   * pushes that arrived meanwhile (without repeating one the backlog carried).
   */
  async sendBacklog(client: SocketClient): Promise<void> {
    const backlog = await claimUndelivered(this.options.db, client.userId, BACKLOG_LIMIT);
    for (const notification of backlog) this.sendNotification(client, notification.id, notificationMessage(notification), true);
    const held = client.held ?? [];
    client.held = undefined;
    for (const { id, message } of held) this.sendNotification(client, id, message, false);
  }

  /** Pushes committed notifications to their recipients' sockets here. */
  push(notifications: readonly NotificationPublic[]): void {
    for (const notification of notifications) {
      const message = notificationMessage({ ...notification, is_delivered: true });
      for (const client of this.byUser.get(notification.user_id) ?? []) {
        if (client.held) {
          if (client.held.length < MAX_HELD) client.held.push({ id: notification.id, message });
        } else {
          this.sendNotification(client, notification.id, message, false);
        }
      }
    }
  }

  /**
   * Pushes to the connected users whatever was committed for them but never pushed (after a bus
   * outage, or made by the command line). Also part of every heartbeat.
   */
  async replayBacklogs(): Promise<void> {
    const userIds = [...this.byUser.keys()];
    for (let i = 0; i < userIds.length; i += SESSION_CHECK_CHUNK) {
      const missed = await claimUndeliveredForUsers(this.options.db, userIds.slice(i, i + SESSION_CHECK_CHUNK), REPLAY_LIMIT);
      for (const notification of missed) {
        const message = notificationMessage(notification);
        const ready = [...(this.byUser.get(notification.user_id) ?? [])].filter((client) => !client.held);
        if (ready.length === 0) this.settle(notification.id, false);
        for (const client of ready) this.sendNotification(client, notification.id, message, true);
      }
    }
  }

  /**
   * Re-checks a socket's session right after it joined: a revocation that committed between the
   * socket's authentication and its joining found nothing to close, so this catches it.
   */
  async confirm(client: SocketClient): Promise<boolean> {
    await this.closeDeadSessions([client]);
    return this.byUser.get(client.userId)?.has(client) ?? false;
  }

  /** Closes the sockets of these users whose sessions are no longer live. */
  async recheckUsers(userIds: readonly number[]): Promise<void> {
    const clients = userIds.flatMap((id) => [...(this.byUser.get(id) ?? [])]);
    await this.closeDeadSessions(clients);
  }

  closeAll(code: number, reason: string): void {
    for (const clients of this.byUser.values()) {
      for (const client of clients) {
        clearTimeout(client.expiryTimer);
        client.socket.close(code, reason);
      }
    }
    this.byUser.clear();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One heartbeat: drop peers that never answered the last ping, expire tokens, re-check sessions. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const nowSeconds = this.options.clock.now().getTime() / 1000;
      const all = [...this.byUser.values()].flatMap((clients) => [...clients]);
      for (const client of all) {
        // What was sent before the previous heartbeat is marked delivered by now: no replay claims it again.
        client.sentBefore = client.sent;
        client.sent = new Map();
        if (!client.alive) {
          client.socket.terminate();
          this.remove(client);
        } else if (client.tokenExpiresAt <= nowSeconds) {
          this.closeClient(client, CLOSE.unauthorized, 'Token has expired');
        } else {
          client.alive = false;
          client.socket.ping();
        }
      }
      await this.closeDeadSessions([...this.byUser.values()].flatMap((clients) => [...clients]));
      await this.replayBacklogs();
    } catch (error) {
      this.options.log.error({ err: error }, 'notification socket sweep failed');
    } finally {
      this.sweeping = false;
    }
  }

  private async closeDeadSessions(clients: SocketClient[]): Promise<void> {
    if (clients.length === 0) return;
    const now = this.options.clock.now().toISOString();
    const sessionIds = [...new Set(clients.map((c) => c.sessionId))];
    const live = new Set<number>();
    for (let i = 0; i < sessionIds.length; i += SESSION_CHECK_CHUNK) {
      for (const id of await findLiveSessionIds(this.options.db, sessionIds.slice(i, i + SESSION_CHECK_CHUNK), now)) live.add(id);
    }
    for (const client of clients) {
      if (!live.has(client.sessionId)) this.closeClient(client, CLOSE.unauthorized, 'Session has been revoked');
    }
  }

  private closeClient(client: SocketClient, code: number, reason: string): void {
    this.remove(client);
    client.socket.close(code, reason);
  }

  /**
   * Writes a notification to a socket, unless the socket was sent it already, and records the
   * outcome once the write finished: delivered, or — for one claimed for this socket (`claimed`)
   * that could not be written — released again.
   */
  private sendNotification(client: SocketClient, id: number, message: string, claimed: boolean): void {
    const earlier = client.sent?.get(id) ?? client.sentBefore?.get(id);
    if (earlier && earlier.state !== 'failed') {
      // Written already: the claim is right. Still in flight: its outcome settles this claim too.
      if (claimed && earlier.state === 'writing') earlier.claimed = true;
      return;
    }
    const sending: Sending = { state: 'writing', claimed };
    const sent = this.send(client, message, (error) => {
      sending.state = error ? 'failed' : 'written';
      if (!error) this.settle(id, true);
      else if (sending.claimed) this.settle(id, false);
    });
    if (sent) {
      client.sent?.set(id, sending);
      this.notificationsSent += 1;
    } else if (claimed) {
      this.settle(id, false);
    }
  }

  /** Collects delivery outcomes and writes them in one go (a written notification wins). */
  private settle(id: number, written: boolean): void {
    (written ? this.written : this.unwritten).add(id);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const delivered = [...this.written];
      const released = [...this.unwritten].filter((n) => !this.written.has(n));
      this.written.clear();
      this.unwritten.clear();
      Promise.all([markDelivered(this.options.db, delivered), releaseDelivery(this.options.db, released)]).catch((error: unknown) =>
        this.options.log.error({ err: error }, 'could not record notification deliveries'),
      );
    });
  }

  /** Sends unless the socket is closing or its peer is too slow (then it is dropped); true when sent. */
  private send(client: SocketClient, message: string, written?: (error?: Error) => void): boolean {
    if (client.socket.readyState !== client.socket.OPEN) return false;
    if (client.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.options.log.warn({ userId: client.userId }, 'dropping a notification socket that does not read');
      client.socket.terminate();
      this.remove(client);
      return false;
    }
    client.socket.send(message, written);
    return true;
  }
}
