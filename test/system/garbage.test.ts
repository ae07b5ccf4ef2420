// Bad input never hurts: every route in the OpenAPI document gets malformed bodies, ids and query
// strings, and must answer a 4xx (or a success) with a string `detail` on errors — never a 500.
// Routes are read from the document, so new routes are covered as they land.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createSession, createUser, type TestUser } from '../helpers/factories.js';

let t: TestApp;
let manager: TestUser;
let routes: { method: string; path: string }[] = [];

beforeAll(async () => {
  t = await buildTestApp();
  manager = await createUser(t.app, { role: 'manager' });
  const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, unknown>>;
  };
  routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => ['get', 'post', 'patch', 'put', 'delete'].includes(m))
      .map((method) => ({ method: method.toUpperCase(), path })),
  );
});
afterAll(async () => {
  await t.close();
});

const deep = (levels: number): unknown => (levels === 0 ? 'leaf' : { a: deep(levels - 1), b: [deep(levels - 1)] });

const BAD_BODIES: [string, string][] = [
  ['an array', '[]'],
  ['a string', '"text"'],
  ['a number', '42'],
  ['null', 'null'],
  ['an empty object', '{}'],
  ['malformed JSON', '{"a": '],
  ['numbers where strings go', JSON.stringify({ username: 1, email: 2, password: 3, title: 4, name: 5, token: 6, timezone: 7, description: 8 })],
  ['strings where numbers go', JSON.stringify({ estimated_hours: 'lots', actual_hours: 'x', assigned_to: 'me', parent_task: 'p', task_ids: 'all', tags: 'red' })],
  ['objects everywhere', JSON.stringify({ username: {}, password: [], status: {}, priority: [], role: {}, is_active: 'yes', deadline: {}, tags: [{}], task_ids: [null] })],
  ['huge numbers', JSON.stringify({ estimated_hours: 1e308, actual_hours: -1e308, assigned_to: 2 ** 53, parent_task: 1e20, task_ids: [1e20], tags: [1e20] })],
  ['huge strings', JSON.stringify({ username: 'u'.repeat(100_000), title: 't'.repeat(100_000), name: 'n'.repeat(100_000), email: `${'e'.repeat(100_000)}@x.io`, timezone: 'z'.repeat(100_000), token: 'k'.repeat(100_000) })],
  ['deep nesting', JSON.stringify(deep(12))],
  ['unicode and control characters', JSON.stringify({ title: '\u0000\u202e\ud83d\ude00', name: '\u0000', username: '\u0000abc', description: '\u0007' })],
  ['prototype keys', '{"__proto__": {"role": "manager"}, "constructor": {"prototype": {"x": 1}}}'],
];

const BAD_IDS = ['abc', '0', '-1', '1.5', '99999999999999999999', '%00', '1e3', '0x10'];
const BAD_QUERIES = [
  'limit=-1&offset=-5',
  'limit=abc&offset=1e400',
  'status=nope&priority=1&ordering=DROP%20TABLE',
  'deadline_before=yesterday&deadline_after=2026-13-45',
  'overdue=maybe&assigned_to=x&created_by=-3&tag=0&parent_task=abc',
  'search=' + encodeURIComponent("%_'\"\\;--") + '&status=pending&status=completed',
  'unread=perhaps&user_id=abc&since=never',
  'search=%00abc&status=%00&ordering=%00',
  'parent_task=9999999999&assigned_to=9999999999&created_by=99999999999&tag=99999999999&offset=99999999999',
];

async function send(method: string, url: string, payload?: string) {
  const session = await createSession(t.app, manager);
  return t.app.inject({
    method: method as 'GET',
    url,
    headers: { ...session.headers, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(payload !== undefined ? { payload } : {}),
  });
}

function expectSafe(res: { statusCode: number; body: string; headers: Record<string, unknown> }, label: string) {
  expect(res.statusCode, `${label} → ${res.statusCode} ${res.body.slice(0, 200)}`).toBeLessThan(500);
  if (res.statusCode >= 400) {
    const body = JSON.parse(res.body) as { detail?: unknown };
    expect(typeof body.detail, label).toBe('string');
    expect(res.body, label).not.toMatch(/at .*\.(ts|js):\d+|\$2[aby]\$/);
  }
}

const withId = (path: string, id: string) => path.replace(/\{[^}]+\}/g, id);

describe('garbage input on every route', () => {
  it('has routes to check', () => {
    expect(routes.length).toBeGreaterThan(15);
  });

  it.each(BAD_BODIES)('answers %s without a 500 on every route that takes a body', async (label, payload) => {
    for (const route of routes.filter((r) => r.method !== 'GET' && r.method !== 'DELETE')) {
      const res = await send(route.method, withId(route.path, '1'), payload);
      expectSafe(res, `${route.method} ${route.path} with ${label}`);
    }
  });

  it('answers malformed path ids without a 500', async () => {
    for (const route of routes.filter((r) => r.path.includes('{'))) {
      for (const id of BAD_IDS) {
        const res = await send(route.method, withId(route.path, encodeURIComponent(id)), route.method === 'GET' || route.method === 'DELETE' ? undefined : '{}');
        expectSafe(res, `${route.method} ${route.path} with id ${id}`);
        expect(res.statusCode, `${route.method} ${route.path} with id ${id}`).toBeGreaterThanOrEqual(400);
      }
    }
  });

  it('answers malformed query strings without a 500 on every GET route', async () => {
    for (const route of routes.filter((r) => r.method === 'GET')) {
      for (const query of BAD_QUERIES) {
        const res = await send('GET', `${withId(route.path, '1')}?${query}`);
        expectSafe(res, `GET ${route.path}?${query}`);
      }
    }
  });

  it('answers garbage bearer tokens with 401 on every protected route', async () => {
    const tokens = ['garbage', 'a.b.c', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.', 'x'.repeat(10_000)];
    for (const route of routes.filter((r) => r.path.startsWith('/api/') && !/register|verify-email|resend|login|refresh|password-reset|\/auth\/token$/.test(r.path))) {
      for (const token of tokens) {
        const res = await t.app.inject({ method: route.method as 'GET', url: withId(route.path, '1'), headers: { authorization: `Bearer ${token}` } });
        expect(res.statusCode, `${route.method} ${route.path}`).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
        expect(typeof res.json().detail).toBe('string');
      }
    }
  });
});
