// The HTTP scenarios: what each request is, and a probe — one request checked for status and shape
// before the load, so a scenario that is broken (rather than slow) fails loudly, in the smoke too.
import { requestAt, type Requests } from './load.js';
import type { ScenarioName } from './options.js';
import { PASSWORD } from './seed.js';

export interface Context {
  tasks: number;
  managerToken: string;
  developerTokens: string[];
  developerIds: number[];
  loginUsernames: string[];
  taskIds: number[];
  tagIds: number[];
}

export interface HttpScenario {
  name: ScenarioName;
  /** A read (the p99 ≤ 5 × p50 target and the worker comparison apply). */
  read: boolean;
  /** Fixed where the scenario repeats one request, so the load generator builds it once. */
  request: Requests;
  /** Checks one answer; returns a problem, or null when the answer is right. */
  check(status: number, body: unknown, headers: Headers): string | null;
}

const STATUSES = ['pending', 'in_progress', 'blocked', 'completed'] as const;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const pick = <T>(list: readonly T[], i: number): T => list[i % list.length] as T;
/** Spreads consecutive requests over the whole table (a prime stride). */
const spread = <T>(list: readonly T[], i: number): T => list[(i * 7919) % list.length] as T;

function expectStatus(status: number, wanted: number, body: unknown): string | null {
  return status === wanted ? null : `status ${status} (wanted ${wanted}): ${JSON.stringify(body).slice(0, 300)}`;
}

function expectTasks(status: number, body: unknown, count: (n: number) => boolean, what: string): string | null {
  const problem = expectStatus(status, 200, body);
  if (problem) return problem;
  if (!Array.isArray(body)) return 'not an array';
  if (!count(body.length)) return `${body.length} tasks, wanted ${what}`;
  const first = body[0] as Record<string, unknown> | undefined;
  if (first !== undefined && (typeof first.id !== 'number' || !Array.isArray(first.tags))) return 'not a task';
  return null;
}

export function httpScenarios(ctx: Context): Record<Exclude<ScenarioName, 'ws-fanout'>, HttpScenario> {
  const manager = bearer(ctx.managerToken);
  const developer = (i: number) => bearer(pick(ctx.developerTokens, i));
  const future = new Date(Date.now() + 30 * 86_400_000).toISOString();
  return {
    health: {
      name: 'health',
      read: true,
      request: { method: 'GET', path: '/health' },
      check: (status, body) => expectStatus(status, 200, body) ?? ((body as { status?: string }).status === 'healthy' ? null : 'not healthy'),
    },
    login: {
      name: 'login',
      read: false,
      request: (i) => ({ method: 'POST', path: '/api/auth/login', body: JSON.stringify({ username: pick(ctx.loginUsernames, i), password: PASSWORD }) }),
      check: (status, body) => expectStatus(status, 200, body) ?? (typeof (body as { access?: unknown }).access === 'string' ? null : 'no access token'),
    },
    list: {
      name: 'list',
      read: true,
      request: { method: 'GET', path: '/api/tasks?limit=100', headers: manager },
      check: (status, body, headers) =>
        expectTasks(status, body, (n) => n === Math.min(100, ctx.tasks), 'a page of 100') ??
        (Number(headers.get('x-total-count')) >= ctx.tasks ? null : `X-Total-Count ${headers.get('x-total-count')}`),
    },
    'list-all': {
      name: 'list-all',
      read: true,
      request: { method: 'GET', path: '/api/tasks', headers: manager },
      check: (status, body) => expectTasks(status, body, (n) => n >= ctx.tasks, `all ${ctx.tasks}`),
    },
    'list-dev': {
      name: 'list-dev',
      read: true,
      request: (i) => ({ method: 'GET', path: '/api/tasks', headers: developer(i) }),
      check: (status, body) =>
        expectTasks(status, body, (n) => n >= Math.floor(ctx.tasks / (ctx.developerIds.length + 1)), "a developer's share") ??
        ((body as Array<{ assigned_to: number }>).every((t) => t.assigned_to === ctx.developerIds[0]) ? null : 'sees tasks of others'),
    },
    get: {
      name: 'get',
      read: true,
      request: (i) => ({ method: 'GET', path: `/api/tasks/${spread(ctx.taskIds, i)}`, headers: manager }),
      check: (status, body) => expectStatus(status, 200, body) ?? (typeof (body as { id?: unknown }).id === 'number' ? null : 'not a task'),
    },
    analytics: {
      name: 'analytics',
      read: true,
      request: { method: 'GET', path: '/api/analytics', headers: manager },
      check: (status, body) =>
        expectStatus(status, 200, body) ??
        (((body as { team_tasks?: { total?: number } }).team_tasks?.total ?? 0) >= ctx.tasks ? null : 'team total below the tasks seeded'),
    },
    notifications: {
      name: 'notifications',
      read: true,
      request: (i) => ({ method: 'GET', path: '/api/notifications', headers: developer(i) }),
      check: (status, body) => expectStatus(status, 200, body) ?? (JSON.stringify(body).includes('status_change') ? null : 'no notifications'),
    },
    create: {
      name: 'create',
      read: false,
      request: (i) => ({
        method: 'POST',
        path: '/api/tasks',
        headers: manager,
        body: JSON.stringify({
          title: `Bench new ${i}`,
          description: 'Created by the benchmark',
          priority: 'high',
          estimated_hours: 3,
          deadline: future,
          assigned_to: pick(ctx.developerIds, i),
          tags: [pick(ctx.tagIds, i), pick(ctx.tagIds, i + 1)],
        }),
      }),
      check: (status, body) => expectStatus(status, 201, body),
    },
    patch: {
      name: 'patch',
      read: false,
      request: (i) => ({
        method: 'PATCH',
        path: `/api/tasks/${spread(ctx.taskIds, i)}`,
        headers: manager,
        body: JSON.stringify({ status: pick(STATUSES, i), actual_hours: (i % 8) + 1 }),
      }),
      check: (status, body) => expectStatus(status, 200, body),
    },
    'bulk-100': {
      name: 'bulk-100',
      read: false,
      request: (i) => {
        const start = (i * 100) % Math.max(1, ctx.taskIds.length - 100);
        return {
          method: 'POST',
          path: '/api/tasks/bulk-update',
          headers: manager,
          body: JSON.stringify({ task_ids: ctx.taskIds.slice(start, start + 100), status: pick(STATUSES, i) }),
        };
      },
      check: (status, body) => expectStatus(status, 200, body),
    },
  };
}

/** Sends one request of the scenario and checks the answer. */
export async function probe(url: string, scenario: HttpScenario, i = 0): Promise<string | null> {
  const spec = requestAt(scenario.request, i);
  const res = await fetch(`${url}${spec.path}`, {
    method: spec.method,
    headers: { ...spec.headers, ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: spec.body,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // kept as text for the message
  }
  return scenario.check(res.status, body, res.headers);
}
