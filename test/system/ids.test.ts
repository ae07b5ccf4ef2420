// Ids, page sizes and offsets in paths and query strings are plain decimal digits. Ajv's coercion
// alone would read "0x1", "1e0", "1.0" or " 1" as 1; every integer parameter of every route (read
// from the OpenAPI document, so new routes are covered too) must refuse them with a 422.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createUserWithSession } from '../helpers/factories.js';

interface Parameter {
  in: string;
  name: string;
  schema?: { type?: string; minimum?: number };
}

interface Probe {
  label: string;
  method: string;
  url: (value: string) => string;
  loc: [string, string];
  /** The smallest value the parameter takes (an HTTP status filter starts at 100). */
  smallest: number;
}

const SPELLINGS = ['0x1', '1e0', '1.0', ' 1', '1 ', '+1', '0b1', '1_0', '١'];

let t: TestApp;
let headers: Record<string, string>;
let probes: Probe[];

beforeAll(async () => {
  t = await buildTestApp();
  ({ headers } = await createUserWithSession(t.app, { role: 'manager' }));
  const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, { parameters?: Parameter[] }>>;
  };
  probes = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const integers = (operation.parameters ?? []).filter((p) => p.schema?.type === 'integer');
      for (const param of integers) {
        const withIds = (value: string, name?: string) =>
          path.replace(/\{(\w+)\}/g, (_m, key: string) => (key === name ? encodeURIComponent(value) : '1'));
        if (param.in === 'path') {
          probes.push({
            label: `${method} ${path} (${param.name})`,
            method,
            url: (v) => withIds(v, param.name),
            loc: ['path', param.name],
            smallest: Math.max(param.schema?.minimum ?? 1, 1),
          });
        } else if (param.in === 'query' && method === 'get') {
          probes.push({
            label: `${method} ${path}?${param.name}`,
            method,
            url: (v) => `${withIds('1')}?${param.name}=${encodeURIComponent(v)}`,
            loc: ['query', param.name],
            smallest: Math.max(param.schema?.minimum ?? 1, 1),
          });
        }
      }
    }
  }
});

afterAll(async () => {
  await t.close();
});

describe('integer path and query parameters', () => {
  it('are found in the OpenAPI document: task, user, session and tag ids, the task filters and paging', () => {
    const labels = probes.map((p) => p.label);
    expect(labels).toEqual(
      expect.arrayContaining([
        'get /api/tasks/{id} (id)',
        'patch /api/tasks/{id} (id)',
        'delete /api/tasks/{id} (id)',
        'get /api/tasks/{id}/history (id)',
        'get /api/auth/users/{id} (id)',
        'patch /api/auth/users/{id} (id)',
        'delete /api/auth/sessions/{id} (id)',
        'delete /api/tags/{id} (id)',
        'get /api/tasks?assigned_to',
        'get /api/tasks?created_by',
        'get /api/tasks?tag',
        'get /api/tasks?limit',
        'get /api/tasks?offset',
      ]),
    );
  });

  it.each(SPELLINGS)('refuse %j with a 422 naming the parameter, on every route', async (spelling) => {
    for (const probe of probes) {
      const res = await t.app.inject({ method: probe.method.toUpperCase() as 'GET', url: probe.url(spelling), headers });
      expect(res.statusCode, `${probe.label} = ${JSON.stringify(spelling)}`).toBe(422);
      const body = res.json();
      expect(typeof body.detail).toBe('string');
      expect(body.errors[0].loc, probe.label).toEqual(probe.loc);
    }
  });

  it('accept plain digits, leading zeros included', async () => {
    for (const probe of probes.filter((p) => p.method === 'get')) {
      for (const digits of [String(probe.smallest), `0${probe.smallest}`]) {
        const res = await t.app.inject({ method: 'GET', url: probe.url(digits), headers });
        expect(res.statusCode, `${probe.label} = ${digits}`).not.toBe(422);
      }
    }
  });

  it('still refuse zero, negative and out-of-range values', async () => {
    for (const value of ['0', '-1', '99999999999']) {
      const res = await t.app.inject({ method: 'GET', url: `/api/tasks/${value}`, headers });
      expect(res.statusCode, value).toBe(422);
    }
  });
});
