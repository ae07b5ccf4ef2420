// Two instances of the app on two ports, sharing one database and one Redis, as a deployment behind
// a load balancer would: a notification created through one reaches a socket held by the other, a
// revocation on one closes sockets on the other, and Redis failing never fails a task write.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/processes.js';
import { buildSecondInstance, eventually, listen, openSocket, socketUrl } from '../helpers/sockets.js';
import { createTask, signIn } from '../helpers/tasks.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** A prefix of this file's own, so parallel test files sharing the Redis never see each other's events. */
const prefix = () => `ctms-test-${randomBytes(6).toString('hex')}`;

const taskBody = (assignedTo: number, title = 'Across instances') => ({ title, estimated_hours: 2, deadline: '2026-12-31T12:00:00Z', assigned_to: assignedTo });

const isDelivered = async (t: TestApp, id: number) =>
  Boolean((await t.db.selectFrom('notifications').select('is_delivered').where('id', '=', id).executeTakeFirstOrThrow()).is_delivered);

describe('two instances sharing a database and Redis', () => {
  let a: TestApp;
  let b: FastifyInstance;
  let addressA: string;
  const keyPrefix = prefix();

  beforeAll(async () => {
    const settings = { redisUrl: REDIS_URL, redisKeyPrefix: keyPrefix, wsHeartbeatSeconds: 3600 };
    a = await buildTestApp(settings);
    b = await buildSecondInstance(a, settings);
    addressA = await listen(a.app);
    await listen(b);
    // Both subscribers must be listening before the first event is published.
    await eventually(() => a.app.notifier !== undefined && b.notifier !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('delivers to a socket on instance A what a request to instance B created', async () => {
    const manager = await signIn(a.app, { role: 'manager' });
    const dev = await signIn(a.app);
    const socket = await openSocket(socketUrl(addressA, dev.accessToken));
    await socket.roundTrip();

    const res = await b.inject({ method: 'POST', url: '/api/tasks', headers: manager.headers, payload: taskBody(dev.user.id) });
    expect(res.statusCode).toBe(201);
    const message = await socket.next((m) => m.type === 'notification');
    const notification = message.notification as { id: number; task_id: number; notification_type: string };
    expect(notification).toMatchObject({ task_id: res.json().id, notification_type: 'task_assigned' });
    await eventually(() => isDelivered(a, notification.id), 5000, 'delivered flag');

    const bulk = await b.inject({ method: 'POST', url: '/api/tasks/bulk-update', headers: manager.headers, payload: { task_ids: [notification.task_id], status: 'completed' } });
    expect(bulk.statusCode).toBe(200);
    expect((await socket.next((m) => (m.notification as { notification_type?: string })?.notification_type === 'status_change')).notification).toMatchObject({
      task_id: notification.task_id,
    });
    await socket.close();
  });

  it('closes a socket on instance A when its session is logged out through instance B', async () => {
    const dev = await signIn(a.app);
    const socket = await openSocket(socketUrl(addressA, dev.accessToken));
    await socket.roundTrip();
    const res = await b.inject({ method: 'POST', url: '/api/auth/logout', headers: dev.headers });
    expect(res.statusCode).toBe(200);
    expect(await socket.closed).toEqual({ code: 4001, reason: 'Session has been revoked' });
  });

  it('ignores garbage on the bus, and still closes a socket on A logged out through B', async () => {
    const admin = new Redis(REDIS_URL);
    try {
      for (const message of ['null', '1', '"x"', '[]', '{}', '{"origin":null,"event":null}', '{"event":{"kind":"notifications","notifications":"x"}}', '{']) {
        await admin.publish(`${keyPrefix}:notifications`, message);
      }
    } finally {
      admin.disconnect();
    }
    const dev = await signIn(a.app);
    const socket = await openSocket(socketUrl(addressA, dev.accessToken));
    await socket.roundTrip();
    expect((await b.inject({ method: 'POST', url: '/api/auth/logout', headers: dev.headers })).statusCode).toBe(200);
    expect(await socket.closed).toEqual({ code: 4001, reason: 'Session has been revoked' });
  });
});

describe('Redis unreachable', () => {
  let t: TestApp;
  let address: string;

  beforeAll(async () => {
    // Nothing listens on this port: every Redis command fails.
    t = await buildTestApp({ redisUrl: `redis://127.0.0.1:${await freePort()}`, redisKeyPrefix: prefix(), wsHeartbeatSeconds: 3600 });
    address = await listen(t.app);
  });
  afterAll(async () => {
    await t.close();
  });

  it('still accepts task writes, records the notification and pushes it to sockets on this instance', async () => {
    const manager = await signIn(t.app, { role: 'manager' });
    const dev = await signIn(t.app);
    const socket = await openSocket(socketUrl(address, dev.accessToken));
    await socket.roundTrip();
    const res = await t.app.inject({ method: 'POST', url: '/api/tasks', headers: manager.headers, payload: taskBody(dev.user.id) });
    expect(res.statusCode).toBe(201);
    expect((await socket.next((m) => m.type === 'notification')).notification).toMatchObject({ task_id: res.json().id });
    const taskId = await createTask(t.db, { assignedTo: dev.user.id, createdBy: manager.user.id });
    const patch = await t.app.inject({ method: 'PATCH', url: `/api/tasks/${taskId}`, headers: manager.headers, payload: { status: 'blocked' } });
    expect(patch.statusCode).toBe(200);
    const logout = await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: manager.headers });
    expect(logout.statusCode).toBe(200);
    await socket.close();
  });
});

describe('a Redis outage between two instances', () => {
  let redis: ChildProcess;
  let redisPort: number;
  let a: TestApp;
  let b: FastifyInstance;
  let addressA: string;

  const startRedis = async () => {
    redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await eventually(() => canConnect(redisPort), 10_000, 'redis-server to listen');
  };
  const stopRedis = async () => {
    const exited = new Promise((resolve) => redis.once('exit', resolve));
    redis.kill('SIGKILL');
    await exited;
  };

  beforeAll(async () => {
    redisPort = await freePort();
    await startRedis();
    const settings = { redisUrl: `redis://127.0.0.1:${redisPort}`, redisKeyPrefix: prefix(), wsHeartbeatSeconds: 3600 };
    a = await buildTestApp(settings);
    b = await buildSecondInstance(a, settings);
    addressA = await listen(a.app);
    await listen(b);
    await new Promise((resolve) => setTimeout(resolve, 300));
  });
  afterAll(async () => {
    await b.close();
    await a.close();
    redis.kill('SIGKILL');
  });

  it('keeps writes working while Redis is down and replays what a socket missed once it is back', async () => {
    const manager = await signIn(a.app, { role: 'manager' });
    const dev = await signIn(a.app);
    const socket = await openSocket(socketUrl(addressA, dev.accessToken));
    await socket.roundTrip();

    await stopRedis();
    const res = await b.inject({ method: 'POST', url: '/api/tasks', headers: manager.headers, payload: taskBody(dev.user.id, 'During the outage') });
    expect(res.statusCode).toBe(201);
    const stored = await a.db.selectFrom('notifications').select(['id', 'is_delivered']).where('task_id', '=', res.json().id).executeTakeFirstOrThrow();
    expect(Boolean(stored.is_delivered)).toBe(false);

    await startRedis();
    const replayed = await socket.next((m) => (m.notification as { task_title?: string })?.task_title === 'During the outage', 15_000);
    expect(replayed.notification).toMatchObject({ id: stored.id, is_delivered: true });
    expect(await isDelivered(a, stored.id)).toBe(true);

    // And live cross-instance delivery has resumed.
    const after = await b.inject({ method: 'POST', url: '/api/tasks', headers: manager.headers, payload: taskBody(dev.user.id, 'After the outage') });
    expect(after.statusCode).toBe(201);
    await socket.next((m) => (m.notification as { task_title?: string })?.task_title === 'After the outage', 10_000);
    await socket.close();
  }, 40_000);
});

describe('instances started before Redis', () => {
  let redis: ChildProcess | undefined;
  let a: TestApp;
  let b: FastifyInstance;

  afterAll(async () => {
    await b?.close();
    await a?.close();
    redis?.kill('SIGKILL');
  });

  it('subscribe once Redis comes up, and deliver across instances without waiting for a heartbeat', async () => {
    const port = await freePort();
    const settings = { redisUrl: `redis://127.0.0.1:${port}`, redisKeyPrefix: prefix(), wsHeartbeatSeconds: 3600 };
    a = await buildTestApp(settings);
    b = await buildSecondInstance(a, settings);
    const address = await listen(a.app);
    // Redis is away long enough for the first connection attempts (and a subscription) to fail.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await eventually(() => a.app.notificationBus.healthy() && b.notificationBus.healthy(), 15_000, 'both buses to subscribe');

    const manager = await signIn(a.app, { role: 'manager' });
    const dev = await signIn(a.app);
    const socket = await openSocket(socketUrl(address, dev.accessToken));
    await socket.roundTrip();
    const res = await b.inject({ method: 'POST', url: '/api/tasks', headers: manager.headers, payload: taskBody(dev.user.id, 'After a late Redis') });
    expect(res.statusCode).toBe(201);
    await socket.next((m) => (m.notification as { task_title?: string } | undefined)?.task_title === 'After a late Redis', 5000);
    await socket.close();
  }, 40_000);
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}
