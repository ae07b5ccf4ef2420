// /api/webhooks management: roles, both slash forms, 404s, the secret shown once (and stored
// encrypted), validation and the SSRF refusals at creation — each refusal a 422 with a string
// detail and nothing stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptWebhookSecret } from '../../src/modules/webhooks/secrets.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { signIn } from '../helpers/tasks.js';
import { createWebhook } from '../helpers/webhooks.js';

let t: TestApp;
let manager: { authorization: string };
let developer: { authorization: string };
let auditor: { authorization: string };

beforeAll(async () => {
  // Private targets refused, as in production; no worker (nothing is delivered here).
  t = await buildTestApp({ webhookAllowPrivate: false });
  manager = (await signIn(t.app, { role: 'manager' })).headers;
  developer = (await signIn(t.app, { role: 'developer' })).headers;
  auditor = (await signIn(t.app, { role: 'auditor' })).headers;
});
afterAll(async () => t.close());

const countWebhooks = async () => Number((await t.db.selectFrom('webhooks').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

async function insertPublicWebhook(): Promise<number> {
  // A public address literal: no DNS needed to pass the check.
  return (await createWebhook(t.app, manager, 'https://93.184.215.14/hooks/ctms', ['task.created'])).id;
}

describe('managing webhooks', () => {
  it('creates a webhook whose 201 alone carries the secret, stored encrypted', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/webhooks/',
      headers: manager,
      payload: { url: 'https://93.184.215.14/hooks', events: ['task.created', 'task.status_changed', 'task.created'] },
    });
    expect(response.statusCode).toBe(201);
    const body = response.json<{ id: number; url: string; events: string[]; active: boolean; created_at: string; secret: string }>();
    expect(body).toMatchObject({ url: 'https://93.184.215.14/hooks', events: ['task.created', 'task.status_changed'], active: true });
    expect(body.created_at).toMatch(/Z$/);
    expect(body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);

    const row = await t.db.selectFrom('webhooks').selectAll().where('id', '=', body.id).executeTakeFirstOrThrow();
    expect(row.secret).not.toContain(body.secret);
    expect(decryptWebhookSecret(row.secret, t.config.secretKey)).toBe(body.secret);
    expect(decryptWebhookSecret(row.secret, 'another-secret-key-0123456789abcdef')).toBeUndefined();

    for (const url of [`/api/webhooks/${body.id}`, `/api/webhooks/${body.id}/`, '/api/webhooks', '/api/webhooks/']) {
      const read = await t.app.inject({ method: 'GET', url, headers: manager });
      expect(read.statusCode, url).toBe(200);
      expect(read.body, url).not.toContain(body.secret);
      expect(read.body, url).not.toContain('"secret"');
    }
  });

  it('updates url, events and active, and reads them back', async () => {
    const id = await insertPublicWebhook();
    const response = await t.app.inject({
      method: 'PATCH',
      url: `/api/webhooks/${id}/`,
      headers: manager,
      payload: { url: 'http://93.184.215.14:8080/other', events: ['comment.created'], active: false },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id, url: 'http://93.184.215.14:8080/other', events: ['comment.created'], active: false });
    const read = await t.app.inject({ method: 'GET', url: `/api/webhooks/${id}`, headers: manager });
    expect(read.json()).toMatchObject({ url: 'http://93.184.215.14:8080/other', events: ['comment.created'], active: false });
  });

  it('deletes a webhook with its deliveries', async () => {
    const id = await insertPublicWebhook();
    const now = new Date().toISOString();
    await t.db
      .insertInto('webhook_deliveries')
      .values({ webhook_id: id, event: 'task.created', delivery_id: crypto.randomUUID(), payload: '{}', state: 'pending', created_at: now, next_attempt_at: now })
      .execute();
    expect((await t.app.inject({ method: 'DELETE', url: `/api/webhooks/${id}/`, headers: manager })).statusCode).toBe(204);
    expect(await t.db.selectFrom('webhook_deliveries').select('id').where('webhook_id', '=', id).execute()).toEqual([]);
    expect((await t.app.inject({ method: 'GET', url: `/api/webhooks/${id}`, headers: manager })).statusCode).toBe(404);
  });

  it('answers 404 with a string detail for unknown webhooks', async () => {
    for (const [method, url] of [
      ['GET', '/api/webhooks/999999'],
      ['PATCH', '/api/webhooks/999999'],
      ['DELETE', '/api/webhooks/999999/'],
      ['GET', '/api/webhooks/999999/deliveries/'],
    ] as const) {
      const response = await t.app.inject({ method, url, headers: manager, ...(method === 'PATCH' ? { payload: { active: false } } : {}) });
      expect(response.statusCode, `${method} ${url}`).toBe(404);
      expect(response.json(), `${method} ${url}`).toEqual({ detail: 'Webhook not found' });
    }
  });

  it('lists the delivery log of a webhook, newest first', async () => {
    const id = await insertPublicWebhook();
    const response = await t.app.inject({ method: 'GET', url: `/api/webhooks/${id}/deliveries?limit=5`, headers: manager });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual([]);
    expect((await t.app.inject({ method: 'GET', url: `/api/webhooks/${id}/deliveries?limit=0`, headers: manager })).statusCode).toBe(422);
  });

  it.each([
    ['developer', () => developer],
    ['auditor', () => auditor],
  ])('refuses a %s on every webhook route with 403, changing nothing', async (_role, headers) => {
    const id = await insertPublicWebhook();
    const before = await countWebhooks();
    for (const [method, url] of [
      ['GET', '/api/webhooks'],
      ['POST', '/api/webhooks/'],
      ['GET', `/api/webhooks/${id}`],
      ['PATCH', `/api/webhooks/${id}`],
      ['DELETE', `/api/webhooks/${id}`],
      ['GET', `/api/webhooks/${id}/deliveries`],
    ] as const) {
      const response = await t.app.inject({ method, url, headers: headers(), payload: method === 'GET' || method === 'DELETE' ? undefined : { url: 'https://93.184.215.14/', events: ['task.created'], active: false } });
      expect(response.statusCode, `${method} ${url}`).toBe(403);
      expect(typeof response.json<{ detail: unknown }>().detail).toBe('string');
    }
    expect(await countWebhooks()).toBe(before);
    expect((await t.app.inject({ method: 'GET', url: `/api/webhooks/${id}`, headers: manager })).json()).toMatchObject({ active: true });
  });

  it('answers 401 without a token', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/webhooks' })).statusCode).toBe(401);
  });
});

describe('refusing bad webhooks', () => {
  const refusals: Array<[string, unknown]> = [
    ['a loopback address', 'http://127.0.0.1:8080/hook'],
    ['another loopback address', 'http://127.1.2.3/'],
    ['loopback as one decimal number', 'http://2130706433/'],
    ['localhost', 'http://localhost:9000/hook'],
    ['a private 10/8 address', 'https://10.0.0.5/hook'],
    ['a private 172.16/12 address', 'https://172.20.1.1/hook'],
    ['a private 192.168/16 address', 'https://192.168.1.10/hook'],
    ['a CGNAT address', 'http://100.64.1.1/'],
    ['the link-local metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['the unspecified address', 'http://0.0.0.0:8000/'],
    ['IPv6 loopback', 'http://[::1]:8080/'],
    ['IPv6 unspecified', 'http://[::]/'],
    ['IPv6 link-local', 'http://[fe80::1]/'],
    ['IPv6 unique-local', 'http://[fd12:3456::1]/'],
    ['IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]/'],
    ['IPv4-mapped IPv6 private', 'http://[::ffff:a00:1]/'],
    ['NAT64 of a private address', 'http://[64:ff9b::10.0.0.1]/'],
    ['a non-http scheme', 'ftp://93.184.215.14/file'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a file: URL', 'file:///etc/passwd'],
    ['not a URL', 'not a url'],
    ['a relative URL', '/api/hook'],
    ['credentials in the URL', 'https://user:pass@93.184.215.14/'],
    ['an empty URL', ''],
    ['a number as the URL', 42],
    ['a too long URL', `https://93.184.215.14/${'a'.repeat(3000)}`],
  ];

  it.each(refusals)('refuses %s with 422 and stores nothing', async (_what, url) => {
    const before = await countWebhooks();
    const response = await t.app.inject({ method: 'POST', url: '/api/webhooks', headers: manager, payload: { url, events: ['task.created'] } });
    expect(response.statusCode).toBe(422);
    expect(typeof response.json<{ detail: unknown }>().detail).toBe('string');
    expect(await countWebhooks()).toBe(before);
  });

  it('refuses a private address on PATCH too, leaving the webhook as it was', async () => {
    const id = await insertPublicWebhook();
    const response = await t.app.inject({ method: 'PATCH', url: `/api/webhooks/${id}`, headers: manager, payload: { url: 'http://192.168.0.1/' } });
    expect(response.statusCode).toBe(422);
    expect(response.json<{ detail: string }>().detail).toContain('private');
    expect((await t.app.inject({ method: 'GET', url: `/api/webhooks/${id}`, headers: manager })).json()).toMatchObject({
      url: 'https://93.184.215.14/hooks/ctms',
    });
  });

  it.each([
    ['no events', { url: 'https://93.184.215.14/', events: [] }],
    ['an unknown event', { url: 'https://93.184.215.14/', events: ['task.exploded'] }],
    ['events as a string', { url: 'https://93.184.215.14/', events: 'task.created' }],
    ['no url', { events: ['task.created'] }],
    ['a non-object body', ['https://93.184.215.14/']],
  ])('refuses %s with 422', async (_what, payload) => {
    const before = await countWebhooks();
    const response = await t.app.inject({ method: 'POST', url: '/api/webhooks', headers: manager, payload });
    expect(response.statusCode).toBe(422);
    expect(typeof response.json<{ detail: unknown }>().detail).toBe('string');
    expect(await countWebhooks()).toBe(before);
  });

  it('accepts loopback targets when WEBHOOK_ALLOW_PRIVATE=true', async () => {
    const open = await buildTestApp({ webhookAllowPrivate: true });
    try {
      const headers = (await signIn(open.app, { role: 'manager' })).headers;
      const response = await open.app.inject({ method: 'POST', url: '/api/webhooks', headers, payload: { url: 'http://127.0.0.1:9/x', events: ['task.created'] } });
      expect(response.statusCode).toBe(201);
      // The scheme rule still holds.
      const ftp = await open.app.inject({ method: 'POST', url: '/api/webhooks', headers, payload: { url: 'ftp://127.0.0.1/', events: ['task.created'] } });
      expect(ftp.statusCode).toBe(422);
    } finally {
      await open.close();
    }
  });
});
