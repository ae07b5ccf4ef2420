// Deliveries across instances and restarts, on one database: a delivery in the middle of its retry
// schedule survives a restart, a crashed instance's claim is taken over once its lease expires, an
// instance closing finishes its attempt in flight, and two instances send each delivery exactly once.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { buildSecondInstance, eventually } from '../helpers/sockets.js';
import { signIn } from '../helpers/tasks.js';
import { createWebhook, startReceiver, webhookTestConfig, type Receiver } from '../helpers/webhooks.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The first instance on a fresh database; its app may be closed early, the database lasts the test. */
async function firstInstance(appVersion: string, overrides = {}): Promise<TestApp> {
  const t = await buildTestApp(webhookTestConfig({ appVersion, ...overrides }));
  cleanups.push(async () => {
    await t.app.close();
    await t.database.cleanup();
  });
  return t;
}

async function anotherInstance(first: TestApp, appVersion: string, overrides = {}): Promise<FastifyInstance> {
  const app = await buildSecondInstance(first, { appVersion, ...overrides });
  cleanups.push(() => app.close());
  return app;
}

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  cleanups.push(() => r.close());
  return r;
}

const rows = (t: TestApp) => t.db.selectFrom('webhook_deliveries').select(['delivery_id', 'state', 'attempt', 'status_code', 'error', 'locked_by']).orderBy('id').execute();

const postTask = (app: FastifyInstance, headers: Record<string, string>, title: string) =>
  app.inject({ method: 'POST', url: '/api/tasks', headers, payload: { title, estimated_hours: 1, deadline: '2030-01-01T00:00:00Z' } });

describe('restarts', { timeout: 60_000 }, () => {
  it('sends a delivery left in the middle of its retry schedule once a new instance starts on the database', async () => {
    // The retry comes 4–8 s after the failure: the first instance is closed while it waits.
    const t = await firstInstance('A', { webhookBackoffBaseMs: 8000 });
    const boss = await signIn(t.app, { role: 'manager' });
    const r = await receiver(() => 500);
    await createWebhook(t.app, boss.headers, r.url, ['task.created']);
    expect((await postTask(t.app, boss.headers, 'Survive me')).statusCode).toBe(201);
    await eventually(async () => (await rows(t))[0]?.status_code === 500, 15_000, 'the failed first attempt');
    await t.app.close();
    const [waiting] = await rows(t);
    expect(waiting).toMatchObject({ state: 'pending', attempt: 1, locked_by: null });

    r.answer = () => 200;
    await anotherInstance(t, 'B');
    await eventually(async () => (await rows(t))[0]?.state === 'succeeded', 20_000, 'the retry by the new instance');
    expect(r.received.map((d) => [d.headers['user-agent'], d.headers['x-ctms-delivery']])).toEqual([
      ['CTMS-Webhooks/A', waiting?.delivery_id],
      ['CTMS-Webhooks/B', waiting?.delivery_id],
    ]);
    expect((await rows(t))[0]).toMatchObject({ attempt: 2, status_code: 200 });
  });

  it("takes over a crashed instance's claim once its lease has expired, not before", async () => {
    const t = await firstInstance('A', { webhookWorkerEnabled: false });
    const boss = await signIn(t.app, { role: 'manager' });
    const r = await receiver();
    await createWebhook(t.app, boss.headers, r.url, ['task.created']);
    await postTask(t.app, boss.headers, 'Claimed by the dead');
    await postTask(t.app, boss.headers, 'Claimed by the dead, lease still running');
    const [expired, running] = await rows(t);
    const past = new Date(Date.now() - 1000).toISOString();
    const future = new Date(Date.now() + 3_600_000).toISOString();
    await t.db.updateTable('webhook_deliveries').set({ state: 'delivering', attempt: 1, locked_by: 'crashed', locked_until: past }).where('delivery_id', '=', expired!.delivery_id).execute();
    await t.db.updateTable('webhook_deliveries').set({ state: 'delivering', attempt: 1, locked_by: 'alive', locked_until: future }).where('delivery_id', '=', running!.delivery_id).execute();

    await anotherInstance(t, 'B', { webhookWorkerEnabled: true });
    await eventually(async () => (await rows(t))[0]?.state === 'succeeded', 15_000, 'the expired claim taken over');
    expect((await rows(t))[0]).toMatchObject({ attempt: 2, status_code: 200 });
    // The live claim was left alone.
    expect((await rows(t))[1]).toMatchObject({ state: 'delivering', locked_by: 'alive', attempt: 1 });
    expect(r.received.map((d) => d.headers['x-ctms-delivery'])).toEqual([expired?.delivery_id]);
  });

  it('closing waits for the attempt in flight and records it, leaving no claim behind', async () => {
    const t = await firstInstance('A', { webhookTimeoutMs: 2000 });
    const boss = await signIn(t.app, { role: 'manager' });
    const r = await receiver(() => 'hang');
    await createWebhook(t.app, boss.headers, r.url, ['task.created']);
    await postTask(t.app, boss.headers, 'In flight');
    await eventually(() => r.hanging === 1, 15_000, 'the attempt in flight');
    await t.app.close();
    expect((await rows(t))[0]).toMatchObject({ state: 'pending', attempt: 1, locked_by: null, error: 'Timed out after 2000 ms' });
  });
});

describe('several instances', { timeout: 60_000 }, () => {
  it('sends each delivery exactly once when two instances share the database', async () => {
    // A generous timeout: a retry here could only mean a second send.
    const t = await firstInstance('A', { webhookPollIntervalMs: 10, webhookTimeoutMs: 10_000 });
    const second = await anotherInstance(t, 'B', { webhookPollIntervalMs: 10, webhookTimeoutMs: 10_000 });
    const boss = await signIn(t.app, { role: 'manager' });
    const r = await receiver();
    await createWebhook(t.app, boss.headers, r.url, ['task.created', 'task.updated']);
    const total = 30;
    // Writes through both instances, each waking its own worker, while both poll.
    await Promise.all(Array.from({ length: total }, (_, i) => postTask(i % 2 === 0 ? t.app : second, boss.headers, `Task ${i}`)));

    await eventually(async () => (await rows(t)).filter((row) => row.state === 'succeeded').length === total, 40_000, 'every delivery');
    const stored = await rows(t);
    expect(stored).toHaveLength(total);
    expect(stored.every((row) => row.attempt === 1)).toBe(true);
    // Nothing is due or claimed any more, so nothing else can arrive: each was received once.
    const received = r.received.map((d) => String(d.headers['x-ctms-delivery']));
    expect(received).toHaveLength(total);
    expect(new Set(received)).toEqual(new Set(stored.map((row) => row.delivery_id)));
    // Generous: on a loaded machine two instances and 30 writes take a while; nothing here is timed.
  }, 60_000);
});
