// A notification reaches an open socket once, however its live push and the heartbeat's replay of
// undelivered rows interleave (the replay may claim a row pushed a moment ago and not yet marked
// delivered, or a push may arrive late, after the replay sent the row), while one that was never
// pushed is still replayed. Real sockets on a listening server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationPublic } from '../../src/modules/notifications/notifications.schemas.js';
import { insertNotifications } from '../../src/modules/notifications/notifications.repository.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { eventually, listen, openSocket, socketUrl, type TestSocket } from '../helpers/sockets.js';
import { createSession } from '../helpers/factories.js';
import { signIn } from '../helpers/tasks.js';

const notify = async (t: TestApp, userId: number): Promise<NotificationPublic> => {
  const [made] = await insertNotifications(
    t.db,
    [{ userId, taskId: null, taskTitle: 'T', message: 'assigned', type: 'task_assigned' }],
    new Date().toISOString(),
  );
  return made!;
};

const received = (socket: TestSocket, id: number) =>
  socket.messages.filter((m) => m.type === 'notification' && (m.notification as { id: number }).id === id).length;

const delivered = async (t: TestApp, id: number) =>
  Boolean((await t.db.selectFrom('notifications').select('is_delivered').where('id', '=', id).executeTakeFirstOrThrow()).is_delivered);

describe('each notification reaches a socket once', () => {
  let t: TestApp;
  let address: string;

  beforeAll(async () => {
    // The heartbeat is driven by the tests (replayBacklogs), never by the timer.
    t = await buildTestApp({ wsHeartbeatSeconds: 3600 });
    address = await listen(t.app);
  });
  afterAll(async () => {
    await t.close();
  });

  const connect = async () => {
    const dev = await signIn(t.app);
    const socket = await openSocket(socketUrl(address, dev.accessToken));
    await socket.roundTrip();
    return { dev, socket };
  };

  type Step = 'push' | 'replay';
  it.each<[string, Step[]]>([
    ['the replay runs right after the live push, before the push is marked delivered', ['push', 'replay']],
    ['the live push arrives after the replay already sent the row', ['replay', 'push']],
    ['it was never pushed live: the replay sends it (and the next one does not again)', ['replay', 'replay']],
  ])('when %s', async (_case, steps) => {
    const { dev, socket } = await connect();
    const made = await notify(t, dev.user.id);
    for (const step of steps) {
      if (step === 'push') t.app.notifier.deliver([made]);
      else await t.app.socketHub.replayBacklogs();
    }
    // Everything sent before the pong has arrived once the pong has.
    await socket.roundTrip();
    expect(received(socket, made.id)).toBe(1);
    await eventually(() => delivered(t, made.id), 5000, 'the delivered flag');
    await t.app.socketHub.replayBacklogs();
    await socket.roundTrip();
    expect(received(socket, made.id)).toBe(1);
    await socket.close();
  });

  it('on every socket of the user, each once', async () => {
    const { dev, socket } = await connect();
    const second = await openSocket(socketUrl(address, (await createSession(t.app, dev.user)).accessToken));
    await second.roundTrip();
    const made = await notify(t, dev.user.id);
    t.app.notifier.deliver([made]);
    await t.app.socketHub.replayBacklogs();
    t.app.notifier.deliver([made]);
    await Promise.all([socket.roundTrip(), second.roundTrip()]);
    expect([received(socket, made.id), received(second, made.id)]).toEqual([1, 1]);
    await Promise.all([socket.close(), second.close()]);
  });

  it('sends again on reconnect what a socket that closed never wrote out (at least once)', async () => {
    const { dev, socket } = await connect();
    await socket.close();
    const made = await notify(t, dev.user.id);
    t.app.notifier.deliver([made]);
    const again = await openSocket(socketUrl(address, (await createSession(t.app, dev.user)).accessToken));
    const message = await again.next((m) => m.type === 'notification');
    expect((message.notification as { id: number }).id).toBe(made.id);
    await again.close();
  });
});
