// Live notifications: the WebSocket endpoint, this instance's socket hub and the bus to the other
// instances, exposed to the rest of the app as `app.notifier` (see modules/notifications/notifier.ts).
// Without REDIS_URL everything stays in this process; with it, notifications and revocations reach
// the sockets held by every instance. Shutting down closes the sockets with 1001 (going away), so
// clients reconnect to another instance.
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../errors.js';
import { localBus, redisBus, type BusEvent, type MessageBus } from '../modules/notifications/bus.js';
import type { Notifier } from '../modules/notifications/notifier.js';
import { MAX_FRAME_BYTES, notificationSocketHandler } from '../modules/notifications/notifications.socket.js';
import { CLOSE, SocketHub } from '../modules/notifications/socket-hub.js';

declare module 'fastify' {
  interface FastifyInstance {
    notifier: Notifier;
    notificationBus: MessageBus;
    socketHub: SocketHub;
  }
}

/** How long closing sockets get to finish their close handshake when the server shuts down. */
const CLOSE_GRACE_MS = 1000;

export const notifierPlugin = fp(
  async (app: FastifyInstance) => {
    const { config } = app;
    const hub = new SocketHub({
      db: app.db,
      clock: app.clock,
      log: app.log,
      heartbeatSeconds: config.wsHeartbeatSeconds,
      maxSocketsPerUser: config.wsMaxSocketsPerUser,
    });
    const report = (what: string) => (error: unknown) => app.log.error({ err: error }, what);

    const receive = (event: BusEvent) => {
      if (event.kind === 'notifications' && Array.isArray(event.notifications)) hub.push(event.notifications);
      if (event.kind === 'sessions_revoked' && Array.isArray(event.userIds)) {
        hub.recheckUsers(event.userIds).catch(report('could not re-check notification sockets'));
      }
    };
    const bus: MessageBus = config.redisUrl
      ? redisBus(
          config.redisUrl,
          `${config.redisKeyPrefix}:notifications`,
          { onEvent: receive, onReconnect: () => void hub.replayBacklogs().catch(report('could not replay notification backlogs')) },
          app.log,
        )
      : localBus();

    const notifier: Notifier = {
      deliver(notifications) {
        if (notifications.length === 0) return;
        hub.push(notifications);
        bus.publish({ kind: 'notifications', notifications: [...notifications] });
      },
      sessionsRevoked(userIds) {
        if (userIds.length === 0) return;
        hub.recheckUsers(userIds).catch(report('could not re-check notification sockets'));
        bus.publish({ kind: 'sessions_revoked', userIds: [...userIds] });
      },
    };
    app.decorate('notifier', notifier);
    app.decorate('notificationBus', bus);
    app.decorate('socketHub', hub);

    await app.register(websocket, {
      options: { maxPayload: MAX_FRAME_BYTES },
      preClose(done) {
        hub.stop();
        hub.closeAll(CLOSE.goingAway, 'Server shutting down');
        const server = app.websocketServer;
        // Sockets outside the hub too: still authenticating, or refused and closing.
        for (const socket of server.clients) if (socket.readyState === socket.OPEN) socket.close(CLOSE.goingAway, 'Server shutting down');
        // A peer that never answers the close handshake is cut off rather than waited for.
        const cutOff = setTimeout(() => {
          for (const socket of server.clients) socket.terminate();
        }, CLOSE_GRACE_MS);
        server.close(() => {
          clearTimeout(cutOff);
          done();
        });
      },
    });
    app.route({
      method: 'GET',
      url: '/ws/notifications',
      schema: { hide: true },
      handler: async () => {
        throw new AppError(426, 'This endpoint accepts WebSocket connections only', { upgrade: 'websocket' });
      },
      wsHandler: notificationSocketHandler(app, hub),
    });
    app.addHook('onClose', async () => {
      hub.stop();
      await bus.close();
    });
  },
  { name: 'notifier', dependencies: ['auth'] },
);
