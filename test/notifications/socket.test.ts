// The live notification socket over real WebSocket connections to a listening server: who may
// connect, the undelivered backlog, live pushes, the client actions, junk that must not hurt, the
// close on every kind of revocation, token expiry, the heartbeat and the per-user cap.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactQueryTokens } from '../../src/app.js';
import { fixedClock } from '../../src/lib/clock.js';
import { issueAccessToken, issueRefreshToken } from '../../src/modules/auth/tokens.js';
import { insertNotifications } from '../../src/modules/notifications/notifications.repository.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { captureLogs } from '../helpers/auth.js';
import { createSession, createUser, DEFAULT_PASSWORD } from '../helpers/factories.js';
import { eventually, listen, openSocket, socketPair, socketUrl } from '../helpers/sockets.js';
import { createTask, signIn } from '../helpers/tasks.js';

type Session = Awaited<ReturnType<typeof signIn>>;

const notify = (t: TestApp, userId: number, count: number, type: 'status_change' | 'task_assigned' = 'status_change') =>
  insertNotifications(
    t.db,
    Array.from({ length: count }, (_, i) => ({ userId, taskId: null, taskTitle: `T${i}`, message: `message ${i}`, type })),
    new Date().toISOString(),
  );

const deliveredFlags = async (t: TestApp, userId: number) =>
  (await t.db.selectFrom('notifications').select(['id', 'is_delivered']).where('user_id', '=', userId).orderBy('id').execute()).map((r) =>
    Boolean(r.is_delivered),
  );

describe('notification socket', () => {
  let t: TestApp;
  let address: string;
  let manager: Session;

  beforeAll(async () => {
    // A long heartbeat: whatever closes a socket here is the immediate path, not the periodic sweep.
    t = await buildTestApp({ wsHeartbeatSeconds: 3600, wsMaxSocketsPerUser: 3 });
    address = await listen(t.app);
    manager = await signIn(t.app, { role: 'manager' });
  });
  afterAll(async () => {
    await t.close();
  });

  const connect = (token: string, path?: string) => openSocket(socketUrl(address, token, path));
  /** A socket that is open and registered (it answered a ping), so nothing can overtake its joining. */
  const connectReady = async (token: string) => {
    const socket = await connect(token);
    await socket.roundTrip();
    return socket;
  };

  describe('refuses', () => {
    it('a missing token with 4001', async () => {
      const socket = await openSocket(`ws://${address}/ws/notifications`);
      expect((await socket.closed).code).toBe(4001);
    });

    it.each([
      ['garbage', () => 'not-a-jwt'],
      ['a refresh token', (s: Session) => issueRefreshToken(t.config, s.user.id, s.sessionId).token],
      ['a token signed with another key', (s: Session) => issueAccessToken({ ...t.config, secretKey: 'x'.repeat(40) }, s.user.id, s.sessionId).token],
      ['an expired token', (s: Session) => issueAccessToken(t.config, s.user.id, s.sessionId, new Date(Date.now() - 3600_000)).token],
    ])('%s with 4001', async (_name, token) => {
      const dev = await signIn(t.app);
      const socket = await connect(token(dev));
      const closed = await socket.closed;
      expect(closed.code).toBe(4001);
      expect(closed.reason.length).toBeGreaterThan(0);
    });

    it('a token whose session was revoked with 4001', async () => {
      const dev = await signIn(t.app);
      await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: dev.headers });
      expect((await (await connect(dev.accessToken)).closed).code).toBe(4001);
    });

    it('an unverified user with 4003', async () => {
      const user = await createUser(t.app, { verified: false });
      const session = await createSession(t.app, user);
      const closed = await (await connect(session.accessToken)).closed;
      expect(closed).toEqual({ code: 4003, reason: 'Email not verified' });
    });

    it('a plain HTTP request with 426 and a detail', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/ws/notifications' });
      expect(res.statusCode).toBe(426);
      expect(res.json()).toEqual({ detail: 'This endpoint accepts WebSocket connections only' });
    });

    it('more sockets than the per-user cap with 4008, and accepts again once one closes', async () => {
      const dev = await signIn(t.app);
      const open = await Promise.all([1, 2, 3].map(() => connectReady(dev.accessToken)));
      const extra = await connect(dev.accessToken);
      expect((await extra.closed).code).toBe(4008);
      const before = t.app.socketHub.size;
      await open[0]!.close();
      await eventually(() => t.app.socketHub.size === before - 1, 5000, 'the closed socket to leave the hub');
      const again = await connectReady(dev.accessToken);
      await Promise.all([again, ...open.slice(1)].map((s) => s.close()));
    });
  });

  describe('on connect', () => {
    it('sends at most 50 undelivered notifications oldest first, marks them delivered, and the rest next time', async () => {
      const dev = await signIn(t.app);
      const made = await notify(t, dev.user.id, 60);
      const first = await connect(dev.accessToken);
      const received = await first.waitForCount(50);
      expect(received.map((m) => (m.notification as { id: number }).id)).toEqual(made.slice(0, 50).map((n) => n.id));
      expect(received[0]).toEqual({
        type: 'notification',
        notification: expect.objectContaining({ user_id: dev.user.id, message: 'message 0', is_delivered: true, read: false }),
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(first.messages).toHaveLength(50);
      expect(await deliveredFlags(t, dev.user.id)).toEqual([...Array(50).fill(true), ...Array(10).fill(false)]);
      await first.close();

      const second = await connect(dev.accessToken, '/ws/notifications/');
      const rest = await second.waitForCount(10);
      expect(rest.map((m) => (m.notification as { id: number }).id)).toEqual(made.slice(50).map((n) => n.id));
      expect(await deliveredFlags(t, dev.user.id)).toEqual(Array(60).fill(true));
      await second.close();
    });
  });

  describe('live', () => {
    it('pushes a notification the moment a task is assigned, and marks it delivered', async () => {
      const dev = await signIn(t.app);
      const socket = await connectReady(dev.accessToken);
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/tasks',
        headers: manager.headers,
        payload: { title: 'Live one', estimated_hours: 1, deadline: '2026-12-31T10:00:00Z', assigned_to: dev.user.id },
      });
      expect(res.statusCode).toBe(201);
      const message = await socket.next((m) => m.type === 'notification');
      expect(message.notification).toMatchObject({ notification_type: 'task_assigned', task_id: res.json().id, task_title: 'Live one', is_delivered: true });
      await eventually(async () => (await deliveredFlags(t, dev.user.id)).every(Boolean), 5000, 'delivered flag');
      await socket.close();
    });

    it('pushes to every open socket of the recipient and to nobody else', async () => {
      const dev = await signIn(t.app);
      const bystander = await signIn(t.app);
      const tabs = [await connectReady(dev.accessToken), await connectReady(dev.accessToken)];
      const other = await connectReady(bystander.accessToken);
      const taskId = await createTask(t.db, { assignedTo: dev.user.id, createdBy: manager.user.id });
      await t.app.inject({ method: 'PATCH', url: `/api/tasks/${taskId}`, headers: manager.headers, payload: { status: 'blocked' } });
      for (const tab of tabs) expect((await tab.next((m) => m.type === 'notification')).notification).toMatchObject({ notification_type: 'status_change', task_id: taskId });
      await other.roundTrip();
      expect(other.messages).toEqual([{ type: 'pong' }, { type: 'pong' }]);
      await Promise.all([...tabs, other].map((s) => s.close()));
    });
  });

  describe('client messages', () => {
    let dev: Session;
    let socket: Awaited<ReturnType<typeof connect>>;
    let ids: number[];

    beforeAll(async () => {
      dev = await signIn(t.app);
      ids = (await notify(t, dev.user.id, 3)).map((n) => n.id);
      socket = await connect(dev.accessToken);
      await socket.waitForCount(3);
    });
    afterAll(async () => {
      await socket.close();
    });

    const isRead = async (id: number) => Boolean((await t.db.selectFrom('notifications').select('read').where('id', '=', id).executeTakeFirstOrThrow()).read);

    it('confirms mark_read and marks the notification read', async () => {
      socket.send({ action: 'mark_read', notification_id: ids[0] });
      expect(await socket.next((m) => m.type === 'read_confirmation')).toEqual({ type: 'read_confirmation', notification_id: ids[0] });
      expect(await isRead(ids[0]!)).toBe(true);
      expect(await isRead(ids[1]!)).toBe(false);
    });

    it('answers an error for another user\'s notification and leaves it unread', async () => {
      const [foreign] = await notify(t, manager.user.id, 1);
      socket.send({ action: 'mark_read', notification_id: foreign!.id });
      expect(await socket.next((m) => m.type === 'error')).toEqual({ type: 'error', detail: 'Notification not found', notification_id: foreign!.id });
      expect(await isRead(foreign!.id)).toBe(false);
    });

    it('confirms mark_all_read and marks every notification of the user read', async () => {
      socket.send({ action: 'mark_all_read' });
      expect(await socket.next((m) => m.type === 'all_read_confirmation')).toEqual({ type: 'all_read_confirmation', updated_count: 2 });
      expect(await Promise.all(ids.map(isRead))).toEqual([true, true, true]);
    });

    it('ignores malformed, binary, oversized and unknown messages without closing', async () => {
      const junk: Array<string | Buffer> = [
        'not json',
        '',
        '[]',
        'null',
        '42',
        '"mark_all_read"',
        '{"action":"explode"}',
        '{"action":"mark_read"}',
        '{"action":"mark_read","notification_id":"abc"}',
        '{"action":"mark_read","notification_id":1e300}',
        '{"action":"mark_read","notification_id":-1}',
        '{"action":"mark_read","notification_id":1.5}',
        '{"__proto__":{"action":"mark_all_read"}}',
        '{"action":"mark_all_read"' + ' '.repeat(8000) + '}',
        JSON.stringify({ action: 'mark_all_read', pad: 'x'.repeat(500_000) }),
        Buffer.from([0xff, 0xfe, 0x00, 0x01]),
        '{"action":"mark_read","notification_id":"\u0000"}',
      ];
      const before = socket.messages.length;
      for (const message of junk) socket.ws.send(message);
      await socket.roundTrip();
      expect(socket.messages.slice(before)).toEqual([{ type: 'pong' }]);
      expect(socket.ws.readyState).toBe(socket.ws.OPEN);
    });

    it('ends the connection with 1009 for a frame over 1 MiB', async () => {
      const victim = await connect(dev.accessToken);
      victim.ws.send('x'.repeat(1024 * 1024 + 1));
      expect((await victim.closed).code).toBe(1009);
    });
  });

  describe('closes with 4001 when the session is revoked', () => {
    const expectRevoked = async (socket: Awaited<ReturnType<typeof connect>>) => {
      // Whether the revocation lands before or after the socket has joined, it ends with 4001.
      const closed = await socket.closed;
      expect(closed.code).toBe(4001);
      expect(closed.reason).toMatch(/^Session (has been revoked|ended)/);
    };

    it('by logout', async () => {
      const dev = await signIn(t.app);
      const socket = await connect(dev.accessToken);
      const other = await createSession(t.app, dev.user);
      const survivor = await connect(other.accessToken);
      expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: dev.headers })).statusCode).toBe(200);
      await expectRevoked(socket);
      await survivor.roundTrip();
      await survivor.close();
    });

    it('by logout-all, every socket of the user', async () => {
      const dev = await signIn(t.app);
      const second = await createSession(t.app, dev.user);
      const sockets = [await connect(dev.accessToken), await connect(second.accessToken)];
      expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout-all', headers: dev.headers })).statusCode).toBe(200);
      for (const socket of sockets) await expectRevoked(socket);
    });

    it('by revoking the session from another device', async () => {
      const dev = await signIn(t.app);
      const phone = await createSession(t.app, dev.user);
      const socket = await connect(phone.accessToken);
      const res = await t.app.inject({ method: 'DELETE', url: `/api/auth/sessions/${phone.sessionId}`, headers: dev.headers });
      expect(res.statusCode).toBe(204);
      await expectRevoked(socket);
    });

    it('by a password change, for the other sessions only', async () => {
      const dev = await signIn(t.app);
      const laptop = await createSession(t.app, dev.user);
      const elsewhere = await connect(laptop.accessToken);
      const here = await connect(dev.accessToken);
      const res = await t.app.inject({
        method: 'PATCH',
        url: '/api/auth/users/me',
        headers: dev.headers,
        payload: { current_password: DEFAULT_PASSWORD, new_password: 'An0ther-Passw0rd!' },
      });
      expect(res.statusCode).toBe(200);
      await expectRevoked(elsewhere);
      await here.roundTrip();
      await here.close();
    });

    it('by deactivation', async () => {
      const dev = await signIn(t.app);
      const socket = await connect(dev.accessToken);
      const res = await t.app.inject({ method: 'PATCH', url: `/api/auth/users/${dev.user.id}`, headers: manager.headers, payload: { is_active: false } });
      expect(res.statusCode).toBe(200);
      await expectRevoked(socket);
    });

    it('by eviction when logins exceed the device cap', async () => {
      const dev = await signIn(t.app);
      const socket = await connect(dev.accessToken);
      for (let i = 0; i < t.config.maxSessionsPerUser; i += 1) {
        const login = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: dev.user.username, password: DEFAULT_PASSWORD } });
        expect(login.statusCode).toBe(200);
      }
      await expectRevoked(socket);
    });
  });
});

describe('notification socket heartbeat and expiry', () => {
  let t: TestApp;
  let address: string;
  const clock = fixedClock(new Date());

  beforeAll(async () => {
    t = await buildTestApp({ wsHeartbeatSeconds: 1 }, { clock });
    address = await listen(t.app);
  });
  afterAll(async () => {
    await t.close();
  });

  it('keeps a peer that answers pings and drops one that does not', async () => {
    const dev = await signIn(t.app);
    const healthy = await openSocket(socketUrl(address, dev.accessToken));
    const silent = await openSocket(socketUrl(address, dev.accessToken), { autoPong: false });
    const dropped = await silent.closed;
    expect(dropped.code).toBe(1006);
    expect(healthy.ws.readyState).toBe(healthy.ws.OPEN);
    await healthy.roundTrip();
    await healthy.close();
  });

  it('closes with 4001 when the access token expires', async () => {
    const dev = await signIn(t.app);
    const socket = await openSocket(socketUrl(address, dev.accessToken));
    await socket.roundTrip();
    clock.set(new Date(clock.now().getTime() + (t.config.accessTokenExpireMinutes * 60 + 1) * 1000));
    expect(await socket.closed).toEqual({ code: 4001, reason: 'Token has expired' });
  });

  it('pushes at the next heartbeat a notification committed without a push (e.g. by `ctms jobs run`)', async () => {
    const dev = await signIn(t.app);
    const socket = await openSocket(socketUrl(address, dev.accessToken));
    await socket.roundTrip();
    const [made] = await notify(t, dev.user.id, 1);
    const message = await socket.next((m) => m.type === 'notification', 5000);
    expect(message.notification).toMatchObject({ id: made!.id, is_delivered: true });
    expect(await deliveredFlags(t, dev.user.id)).toEqual([true]);
    await socket.close();
  });

  it('closes a socket whose session was revoked behind the app\'s back (e.g. by the CLI) at the next sweep', async () => {
    const dev = await signIn(t.app);
    const socket = await openSocket(socketUrl(address, dev.accessToken));
    await t.db.updateTable('user_sessions').set({ revoked_at: clock.now().toISOString() }).where('id', '=', dev.sessionId).execute();
    expect(await socket.closed).toEqual({ code: 4001, reason: 'Session has been revoked' });
  });
});

describe('notification socket on shutdown', () => {
  it('closes open sockets with 1001 (going away)', async () => {
    const t = await buildTestApp();
    const address = await listen(t.app);
    const dev = await signIn(t.app);
    const socket = await openSocket(socketUrl(address, dev.accessToken));
    await socket.roundTrip();
    const closing = t.close();
    expect(await socket.closed).toEqual({ code: 1001, reason: 'Server shutting down' });
    await closing;
  });
});

describe('notification socket logs', () => {
  it.each([
    ['/ws/notifications?token=abc', '/ws/notifications?token=[redacted]'],
    ['/x?a=1&ACCESS_TOKEN=abc&b=2', '/x?a=1&ACCESS_TOKEN=[redacted]&b=2'],
    ['/x?%74oken=abc', '/x?%74oken=[redacted]'],
    ['/x?refresh%5Ftoken=abc', '/x?refresh%5Ftoken=[redacted]'],
    ['/x?tokens=abc&%zz=1', '/x?tokens=abc&%zz=1'],
  ])('redacts token parameters in %s', (url, expected) => {
    expect(redactQueryTokens(url)).toBe(expected);
  });

  it('never write the access token of the query string', async () => {
    const logs = captureLogs('debug');
    const t = await buildTestApp({}, { logger: logs.logger });
    try {
      const address = await listen(t.app);
      const dev = await signIn(t.app);
      const socket = await openSocket(socketUrl(address, dev.accessToken));
      await socket.roundTrip();
      await socket.close();
      // The parameter's name percent-encoded still names the token.
      const encoded = await openSocket(`ws://${address}/ws/notifications?%74oken=${dev.accessToken}`);
      await encoded.roundTrip();
      await encoded.close();
      expect(logs.text()).toContain('/ws/notifications?token=[redacted]');
      expect(logs.text()).toContain('/ws/notifications?%74oken=[redacted]');
      expect(logs.text()).not.toContain(dev.accessToken);
    } finally {
      await t.close();
    }
  });
});

describe('socket hub delivery', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp({ wsHeartbeatSeconds: 3600 });
  });
  afterAll(async () => {
    await t.close();
  });

  const clientFor = (socket: import('ws').WebSocket, userId: number) => ({
    socket,
    userId,
    sessionId: 1,
    tokenExpiresAt: Date.now() / 1000 + 3600,
    alive: true,
  });

  it('releases a backlog claimed for a socket that closed before it was written, so the next one gets it', async () => {
    const dev = await signIn(t.app);
    const made = await notify(t, dev.user.id, 5);
    const pair = await socketPair();
    await pair.client.close();
    const client = clientFor(pair.server, dev.user.id);
    expect(t.app.socketHub.add(client)).toBe(true);
    await t.app.socketHub.sendBacklog(client);
    t.app.socketHub.remove(client);
    await eventually(async () => (await deliveredFlags(t, dev.user.id)).every((flag) => !flag), 5000, 'the claim to be released');
    await pair.close();

    const next = await socketPair();
    const again = clientFor(next.server, dev.user.id);
    t.app.socketHub.add(again);
    await t.app.socketHub.sendBacklog(again);
    const received = await next.client.waitForCount(5);
    expect(received.map((m) => (m.notification as { id: number }).id)).toEqual(made.map((n) => n.id));
    await eventually(async () => (await deliveredFlags(t, dev.user.id)).every(Boolean), 5000, 'delivered flags');
    t.app.socketHub.remove(again);
    await next.close();
  });

  it('sends the backlog before a live push that arrived while it was being read', async () => {
    const dev = await signIn(t.app);
    const old = await notify(t, dev.user.id, 3);
    const pair = await socketPair();
    const client = clientFor(pair.server, dev.user.id);
    t.app.socketHub.add(client);
    const [fresh] = await notify(t, dev.user.id, 1, 'task_assigned');
    t.app.socketHub.push([fresh!]);
    await t.app.socketHub.sendBacklog(client);
    const received = await pair.client.waitForCount(4);
    expect(received.map((m) => (m.notification as { id: number }).id)).toEqual([...old.map((n) => n.id), fresh!.id]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(pair.client.messages).toHaveLength(4);
    t.app.socketHub.remove(client);
    await pair.close();
  });
});

describe('notification socket limits', () => {
  let t: TestApp;
  let address: string;

  beforeAll(async () => {
    t = await buildTestApp({ wsHeartbeatSeconds: 3600, refreshReuseGraceSeconds: 0 });
    address = await listen(t.app);
  });
  afterAll(async () => {
    await t.close();
  });

  it('ignores a flood of messages beyond its allowance, and keeps serving afterwards', async () => {
    const dev = await signIn(t.app);
    const socket = await openSocket(socketUrl(address, dev.accessToken));
    await socket.roundTrip();
    for (let i = 0; i < 300; i += 1) socket.send({ action: 'mark_all_read' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const confirmations = socket.messages.filter((m) => m.type === 'all_read_confirmation').length;
    expect(confirmations).toBeGreaterThan(0);
    expect(confirmations).toBeLessThan(60);
    await socket.roundTrip();
    await socket.close();
  });

  it('closes with 4001 when its session is revoked by refresh-token reuse', async () => {
    const user = await createUser(t.app);
    const login = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: DEFAULT_PASSWORD } });
    const refreshToken = login.cookies.find((c) => c.name === 'refresh_token')!.value;
    const socket = await openSocket(socketUrl(address, login.json().access));
    await socket.roundTrip();
    const rotated = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { refresh_token: refreshToken } });
    expect(rotated.statusCode).toBe(200);
    const replay = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { refresh_token: refreshToken } });
    expect(replay.statusCode).toBe(400);
    const closed = await socket.closed;
    expect(closed.code).toBe(4001);
  });

  it('cuts off a peer that never answers the close handshake when the server shuts down', async () => {
    const app = await buildTestApp({ wsHeartbeatSeconds: 3600 });
    const at = await listen(app.app);
    const dev = await signIn(app.app);
    const socket = await openSocket(socketUrl(at, dev.accessToken));
    await socket.roundTrip();
    // The client stops reading: it never sees the server's close frame, so never answers it.
    (socket.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const started = Date.now();
    await app.close();
    // ws would otherwise wait 30 s for the handshake.
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 20_000);
});
