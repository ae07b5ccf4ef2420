// GET /ws/notifications?token=<access token>: the live notification socket (§7). The token is
// checked like a Bearer token (signature, expiry, live session, active and verified user); a bad one
// closes the socket with 4001 (4003 for an inactive or unverified user). On connect the socket gets
// up to 50 undelivered notifications, oldest first; then new ones live. Client messages are handled
// one at a time, the database actions at most 10 a second (bursts of 20); malformed, oversized,
// binary, unknown or excess ones are ignored and never close the socket.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { AppError } from '../../errors.js';
import { authenticateToken } from '../../plugins/auth.js';
import { readToken } from '../auth/tokens.js';
import { markAllNotificationsRead, markNotificationRead } from './notifications.repository.js';
import { CLOSE, type SocketClient, type SocketHub } from './socket-hub.js';

/** Client messages above this size are ignored (the protocol's messages are tiny). */
export const MAX_CLIENT_MESSAGE_BYTES = 4096;
/** Frames above this size end the connection (ws answers 1009); below it, oversized messages are ignored. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Messages waiting for their turn on one socket; beyond this, new ones are dropped. */
const MAX_PENDING_MESSAGES = 32;
/** Client messages a socket may send: a burst of this many, refilled at this rate per second. */
const MESSAGE_BURST = 20;
const MESSAGES_PER_SECOND = 10;

/** A token bucket: one socket's allowance of messages that may touch the database. */
export function messageBudget(burst = MESSAGE_BURST, perSecond = MESSAGES_PER_SECOND, now: () => number = Date.now) {
  let tokens = burst;
  let last = now();
  return {
    take(): boolean {
      const at = now();
      tokens = Math.min(burst, tokens + ((at - last) / 1000) * perSecond);
      last = at;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
const ID_TEXT = /^[1-9][0-9]{0,9}$/;

type ClientAction = { action: 'mark_read'; notificationId: number } | { action: 'mark_all_read' } | { action: 'ping' };

/** The action a client message asks for, or null for anything that is not one of ours. */
export function parseClientMessage(data: RawData, isBinary: boolean): ClientAction | null {
  if (isBinary) return null;
  const bytes = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
  if (bytes > MAX_CLIENT_MESSAGE_BYTES) return null;
  let message: unknown;
  try {
    message = JSON.parse(Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8'));
  } catch {
    return null;
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return null;
  const { action, notification_id: id } = message as Record<string, unknown>;
  if (action === 'mark_all_read') return { action };
  if (action === 'ping') return { action };
  if (action === 'mark_read') {
    const notificationId = typeof id === 'number' ? id : typeof id === 'string' && ID_TEXT.test(id) ? Number(id) : NaN;
    if (Number.isInteger(notificationId) && notificationId >= 1 && notificationId <= 2_147_483_647) return { action, notificationId };
  }
  return null;
}

function tokenFrom(request: FastifyRequest): string | undefined {
  const token = (request.query as Record<string, unknown> | undefined)?.token;
  return typeof token === 'string' && token.length > 0 && token.length <= 4096 ? token : undefined;
}

export function notificationSocketHandler(app: FastifyInstance, hub: SocketHub) {
  return (socket: WebSocket, request: FastifyRequest): void => {
    let client: SocketClient | null = null;
    let pending = 0;
    // Messages run strictly in order, after authentication has finished.
    let turn: Promise<void> = authenticate();

    const budget = messageBudget();
    socket.on('message', (data, isBinary) => {
      if (pending >= MAX_PENDING_MESSAGES) return;
      pending += 1;
      turn = turn.then(() => handle(data, isBinary)).finally(() => (pending -= 1));
    });
    socket.on('close', () => {
      if (client) hub.remove(client);
    });

    async function authenticate(): Promise<void> {
      const token = tokenFrom(request);
      try {
        if (!token) throw new AppError(401, 'Missing token');
        const auth = await authenticateToken(app, token);
        const claims = readToken(app.config, token, 'access', app.clock.now());
        if (!claims) throw new AppError(401, 'Could not validate credentials');
        if (socket.readyState !== socket.OPEN) return;
        const candidate: SocketClient = { socket, userId: auth.user.id, sessionId: auth.sessionId, tokenExpiresAt: claims.expiresAt, alive: true };
        if (!hub.add(candidate)) {
          socket.close(CLOSE.tooManySockets, 'Too many open notification sockets for this user');
          return;
        }
        client = candidate;
        if (await hub.confirm(candidate)) await hub.sendBacklog(candidate);
      } catch (error) {
        if (error instanceof AppError) {
          socket.close(error.statusCode === 403 ? CLOSE.forbidden : CLOSE.unauthorized, error.detail.slice(0, 120));
          return;
        }
        request.log.error({ err: error }, 'notification socket failed to open');
        socket.close(1011, 'Internal error');
      }
    }

    async function handle(data: RawData, isBinary: boolean): Promise<void> {
      const current = client;
      if (!current || socket.readyState !== socket.OPEN) return;
      const message = parseClientMessage(data, isBinary);
      if (!message) return;
      // A flood of actions is ignored like any other junk: it must not turn into database load.
      if (message.action !== 'ping' && !budget.take()) return;
      try {
        if (message.action === 'ping') {
          socket.send(JSON.stringify({ type: 'pong' }));
        } else if (message.action === 'mark_all_read') {
          const updated = await markAllNotificationsRead(app.db, current.userId);
          socket.send(JSON.stringify({ type: 'all_read_confirmation', updated_count: updated }));
        } else {
          const found = await markNotificationRead(app.db, current.userId, message.notificationId);
          socket.send(
            JSON.stringify(
              found
                ? { type: 'read_confirmation', notification_id: message.notificationId }
                : { type: 'error', detail: 'Notification not found', notification_id: message.notificationId },
            ),
          );
        }
      } catch (error) {
        request.log.error({ err: error }, 'notification socket message failed');
      }
    }
  };
}
