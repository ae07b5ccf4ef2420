// Webhook deliveries to a real receiver on a loopback port: signatures, payloads, event filtering,
// retries with the delivery log, timeouts, redirects, the attempt limit, the SSRF check at delivery
// time, and requests that never wait for a receiver.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encryptWebhookSecret } from '../../src/modules/webhooks/secrets.js';
import { enqueueWebhookEvents } from '../../src/modules/webhooks/webhook-events.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { eventually } from '../helpers/sockets.js';
import { createTask, signIn } from '../helpers/tasks.js';
import { createWebhook, hasValidSignature, startReceiver, webhookTestConfig, type Receiver } from '../helpers/webhooks.js';

type Session = Awaited<ReturnType<typeof signIn>>;
interface DeliveryView {
  delivery_id: string;
  event: string;
  state: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number | null;
  next_attempt_at: string | null;
}

let t: TestApp;
let manager: Session;
const receivers: Receiver[] = [];

beforeAll(async () => {
  t = await buildTestApp(webhookTestConfig({ webhookTimeoutMs: 5000 }));
  manager = await signIn(t.app, { role: 'manager' });
});
afterEach(async () => {
  // Each test starts without webhooks (their queued deliveries go with them).
  await t.db.deleteFrom('webhooks').execute();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});
afterAll(async () => t.close());

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const started = await startReceiver(...args);
  receivers.push(started);
  return started;
}

const deliveries = async (app: TestApp, webhookId: number, headers = manager.headers) => {
  const response = await app.app.inject({ method: 'GET', url: `/api/webhooks/${webhookId}/deliveries`, headers });
  expect(response.statusCode).toBe(200);
  return response.json<DeliveryView[]>();
};

/** Creates a task through the API (a manager's, assigned to themselves), as the event's cause. */
const postTask = (app: TestApp, headers: Session['headers'], title: string) =>
  app.app.inject({ method: 'POST', url: '/api/tasks', headers, payload: { title, estimated_hours: 2, deadline: '2030-01-01T12:00:00Z' } });
const newTask = (title = 'Ship it') => postTask(t, manager.headers, title);

describe('delivering', { timeout: 60_000 }, () => {
  it('sends a signed POST for a created task once the change committed, and logs it', async () => {
    const r = await receiver();
    const hook = await createWebhook(t.app, manager.headers, r.url, ['task.created']);
    const created = await newTask('Signed');
    expect(created.statusCode).toBe(201);
    await eventually(() => r.received.length === 1, 15_000, 'the delivery');

    const [delivery] = r.received;
    expect(delivery?.path).toBe('/hook');
    expect(delivery?.headers['content-type']).toBe('application/json');
    expect(delivery?.headers['user-agent']).toMatch(/^CTMS-Webhooks\//);
    expect(delivery?.headers['x-ctms-event']).toBe('task.created');
    expect(delivery?.headers['x-ctms-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    expect(hasValidSignature(delivery!, hook.secret)).toBe(true);
    expect(hasValidSignature(delivery!, `${hook.secret}x`)).toBe(false);
    expect(delivery?.json.event).toBe('task.created');
    expect(delivery?.json.delivered_at).toMatch(/Z$/);
    expect(delivery?.json.data).toEqual({ task: created.json() });

    await eventually(async () => (await deliveries(t, hook.id))[0]?.state === 'succeeded', 15_000, 'the log');
    const [logged] = await deliveries(t, hook.id);
    expect(logged).toMatchObject({
      delivery_id: delivery?.headers['x-ctms-delivery'],
      event: 'task.created',
      attempt: 1,
      status_code: 200,
      error: null,
      next_attempt_at: null,
    });
    expect(logged?.duration_ms).toEqual(expect.any(Number));
  });

  it('sends each webhook only the events it subscribed to: updates, status changes, bulk updates, deletes', async () => {
    const statusHook = await receiver();
    const changeHook = await receiver();
    await createWebhook(t.app, manager.headers, statusHook.url, ['task.status_changed']);
    await createWebhook(t.app, manager.headers, changeHook.url, ['task.updated', 'task.deleted']);
    const id = await createTask(t.db, { assignedTo: manager.user.id, status: 'pending' });
    const patch = (payload: object) => t.app.inject({ method: 'PATCH', url: `/api/tasks/${id}`, headers: manager.headers, payload });

    expect((await patch({ title: 'Renamed' })).statusCode).toBe(200);
    expect((await patch({ title: 'Renamed' })).statusCode).toBe(200); // no change: no event
    expect((await patch({ status: 'in_progress' })).statusCode).toBe(200);
    const bulk = await t.app.inject({ method: 'POST', url: '/api/tasks/bulk-update', headers: manager.headers, payload: { task_ids: [id], status: 'completed' } });
    expect(bulk.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/tasks/${id}`, headers: manager.headers })).statusCode).toBe(204);

    await eventually(() => statusHook.received.length >= 2 && changeHook.received.length >= 4, 15_000, 'every delivery');
    const summary = (r: Receiver) =>
      r.received
        .map(({ json }) => ({ event: json.event, data: { ...json.data, task: (json.data.task as { id: number; title: string; status: string }).status } }))
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(summary(statusHook)).toEqual(
      [
        { event: 'task.status_changed', data: { task: 'in_progress', from: 'pending', to: 'in_progress' } },
        { event: 'task.status_changed', data: { task: 'completed', from: 'in_progress', to: 'completed' } },
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    expect(summary(changeHook)).toEqual(
      [
        { event: 'task.updated', data: { task: 'pending', changes: ['title'] } },
        { event: 'task.updated', data: { task: 'in_progress', changes: ['status'] } },
        { event: 'task.updated', data: { task: 'completed', changes: ['status'] } },
        { event: 'task.deleted', data: { task: 'completed' } },
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    expect(changeHook.received.every((d) => (d.json.data.task as { id: number }).id === id)).toBe(true);
  });

  it('sends comment.created with the comment as answered', async () => {
    const r = await receiver();
    const hook = await createWebhook(t.app, manager.headers, r.url, ['comment.created']);
    const id = await createTask(t.db, { assignedTo: manager.user.id });
    const comment = await t.app.inject({ method: 'POST', url: `/api/tasks/${id}/comments`, headers: manager.headers, payload: { body: 'Looks good' } });
    expect(comment.statusCode).toBe(201);
    await eventually(() => r.received.length === 1, 15_000, 'the delivery');
    expect(r.received[0]?.json).toMatchObject({ event: 'comment.created', data: { comment: comment.json() } });
    expect(hasValidSignature(r.received[0]!, hook.secret)).toBe(true);
  });

  it('queues nothing for an inactive webhook or a refused change', async () => {
    const r = await receiver();
    const hook = await createWebhook(t.app, manager.headers, r.url, ['task.created', 'task.updated']);
    const active = await createWebhook(t.app, manager.headers, r.url, ['task.updated']);
    await t.app.inject({ method: 'PATCH', url: `/api/webhooks/${hook.id}`, headers: manager.headers, payload: { active: false } });
    const id = await createTask(t.db, { assignedTo: manager.user.id });

    expect((await newTask('Nobody hears this')).statusCode).toBe(201);
    const refused = await t.app.inject({ method: 'PATCH', url: `/api/tasks/${id}`, headers: manager.headers, payload: { title: 'x', parent_task: 999999 } });
    expect(refused.statusCode).toBe(404);
    expect(await t.db.selectFrom('webhook_deliveries').select('id').execute()).toEqual([]);
    expect(await deliveries(t, active.id)).toEqual([]);
  });

  it('queues deliveries in the transaction of the change: a rolled-back change queues nothing', async () => {
    const r = await receiver();
    await createWebhook(t.app, manager.headers, r.url, ['comment.created']);
    const failing = t.db.transaction().execute(async (trx) => {
      expect(await enqueueWebhookEvents(trx, 'comment.created', [{ comment: { id: 1 } }], new Date().toISOString())).toBe(1);
      throw new Error('the change failed after queuing');
    });
    await expect(failing).rejects.toThrow('the change failed');
    expect(await t.db.selectFrom('webhook_deliveries').select('id').execute()).toEqual([]);

    await t.db.transaction().execute((trx) => enqueueWebhookEvents(trx, 'comment.created', [{ comment: { id: 2 } }], new Date().toISOString()));
    // Not woken by an HTTP write here: the poll finds it.
    await eventually(() => r.received.length === 1, 15_000, 'the committed delivery');
    expect(r.received[0]?.json.data).toEqual({ comment: { id: 2 } });
  });
});

describe('retries', { timeout: 60_000 }, () => {
  it('retries a failing receiver with the same bytes and signature, and logs each outcome', async () => {
    const r = await receiver(() => 500);
    const hook = await createWebhook(t.app, manager.headers, r.url, ['task.created']);
    await newTask('Retry me');

    await eventually(async () => (await deliveries(t, hook.id))[0]?.attempt === 2 && r.received.length >= 2, 15_000, 'a retry');
    await eventually(async () => (await deliveries(t, hook.id))[0]?.state === 'pending', 15_000, 'the failed attempt recorded');
    const failing = (await deliveries(t, hook.id))[0];
    expect(failing).toMatchObject({ event: 'task.created', status_code: 500, error: null });
    expect(failing?.attempt).toBeGreaterThanOrEqual(2);

    r.answer = () => 200;
    await eventually(async () => (await deliveries(t, hook.id))[0]?.state === 'succeeded', 15_000, 'success');
    const done = (await deliveries(t, hook.id))[0];
    expect(done).toMatchObject({ status_code: 200, error: null, next_attempt_at: null });
    expect(done?.attempt).toBe(r.received.length);
    expect(new Set(r.received.map((d) => d.body)).size).toBe(1);
    expect(new Set(r.received.map((d) => d.headers['x-ctms-delivery'])).size).toBe(1);
    expect(new Set(r.received.map((d) => d.headers['x-ctms-signature'])).size).toBe(1);
    expect(r.received.every((d) => hasValidSignature(d, hook.secret))).toBe(true);
  });

  it('marks a delivery failed after WEBHOOK_MAX_ATTEMPTS', async () => {
    const r = await receiver(() => 503);
    const hook = await createWebhook(t.app, manager.headers, r.url, ['task.created']);
    await newTask('Never accepted');
    await eventually(async () => (await deliveries(t, hook.id))[0]?.state === 'failed', 20_000, 'the last attempt');
    expect((await deliveries(t, hook.id))[0]).toMatchObject({ attempt: t.config.webhookMaxAttempts, status_code: 503, next_attempt_at: null });
    expect(r.received).toHaveLength(t.config.webhookMaxAttempts);
  });

  it('does not follow redirects: a 3xx is a failed attempt', async () => {
    const r = await receiver(() => 302);
    const hook = await createWebhook(t.app, manager.headers, r.url, ['task.created']);
    await newTask('Redirected');
    await eventually(async () => (await deliveries(t, hook.id))[0]?.error !== null && (await deliveries(t, hook.id))[0]?.error !== undefined, 15_000, 'the attempt');
    expect((await deliveries(t, hook.id))[0]).toMatchObject({ status_code: 302, error: 'Redirect (302) not followed' });
    expect(r.received.every((d) => d.path === '/hook')).toBe(true);
  });

  it('reads at most 64 KiB of an answer: a body that never ends still completes the attempt', async () => {
    const r = await receiver(() => 'flood');
    const hook = await createWebhook(t.app, manager.headers, r.url, ['task.created']);
    await newTask('Flooded');
    // Reading the whole body would last until WEBHOOK_TIMEOUT_MS and fail; the cap ends it as a success.
    await eventually(async () => (await deliveries(t, hook.id))[0]?.state === 'succeeded', 15_000, 'the capped attempt');
    expect((await deliveries(t, hook.id))[0]).toMatchObject({ attempt: 1, status_code: 200, error: null });
  });

  it('gives up on a receiver that hangs after WEBHOOK_TIMEOUT_MS, and retries', async () => {
    // Retries 1–2 s apart, so the failed attempt can be read before the next one starts.
    const hasty = await buildTestApp(webhookTestConfig({ webhookTimeoutMs: 300, webhookBackoffBaseMs: 2000 }));
    try {
      const boss = await signIn(hasty.app, { role: 'manager' });
      const r = await receiver(() => 'hang');
      const hook = await createWebhook(hasty.app, boss.headers, r.url, ['task.created']);
      const created = await postTask(hasty, boss.headers, 'Slow receiver');
      expect(created.statusCode).toBe(201);
      await eventually(async () => (await deliveries(hasty, hook.id, boss.headers))[0]?.error === 'Timed out after 300 ms', 15_000, 'the timeout');
      expect((await deliveries(hasty, hook.id, boss.headers))[0]).toMatchObject({ state: 'pending', status_code: null });
      r.answer = () => 200;
      await eventually(async () => (await deliveries(hasty, hook.id, boss.headers))[0]?.state === 'succeeded', 15_000, 'the retry');
    } finally {
      await hasty.close();
    }
  });
});

describe('at delivery time', { timeout: 60_000 }, () => {
  it('refuses a target that resolves to a private address by then (DNS rebinding), without connecting', async () => {
    const guarded = await buildTestApp(webhookTestConfig({ webhookAllowPrivate: false, webhookMaxAttempts: 1 }));
    try {
      const boss = await signIn(guarded.app, { role: 'manager' });
      const r = await receiver();
      const port = new URL(r.url).port;
      // Saved while the name looked public; it resolves to loopback now. An address literal too.
      const now = new Date().toISOString();
      const ids: number[] = [];
      for (const url of [`http://localhost:${port}/hook`, `http://127.0.0.1:${port}/hook`, `http://[::ffff:127.0.0.1]:${port}/hook`]) {
        const row = await guarded.db
          .insertInto('webhooks')
          .values({ url, events: '["task.created"]', secret: encryptWebhookSecret('whsec_x', guarded.config.secretKey), active: true, created_by: boss.user.id, created_at: now, updated_at: now })
          .returning('id')
          .executeTakeFirstOrThrow();
        ids.push(row.id);
      }
      const created = await postTask(guarded, boss.headers, 'Rebound');
      expect(created.statusCode).toBe(201);
      for (const id of ids) {
        await eventually(async () => (await deliveries(guarded, id, boss.headers))[0]?.state === 'failed', 15_000, `webhook ${id} refused`);
        const [logged] = await deliveries(guarded, id, boss.headers);
        expect(logged?.error).toMatch(/private, loopback, link-local or reserved address/);
        expect(logged?.status_code).toBeNull();
      }
      expect(r.received).toHaveLength(0);
    } finally {
      await guarded.close();
    }
  });

  it('answers the request that caused an event while the receiver still hangs', async () => {
    const patient = await buildTestApp(webhookTestConfig({ webhookTimeoutMs: 60_000 }));
    try {
      const boss = await signIn(patient.app, { role: 'manager' });
      const r = await receiver(() => 'hang');
      await createWebhook(patient.app, boss.headers, r.url, ['task.created', 'task.updated']);
      const post = (title: string) => postTask(patient, boss.headers, title);
      expect((await post('First')).statusCode).toBe(201);
      await eventually(() => r.hanging === 1, 15_000, 'the receiver to hold the first delivery');
      const second = await post('Second');
      expect(second.statusCode).toBe(201);
      // The first delivery is still held: the second request did not wait for it.
      expect(r.hanging).toBe(1);
      r.answer = () => 200;
      r.release();
      await eventually(() => r.received.length === 2, 15_000, 'the second delivery');
    } finally {
      await patient.close();
    }
  });
});
