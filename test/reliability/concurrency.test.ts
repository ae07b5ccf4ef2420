// Many clients at once against a cluster of two workers (WEB_CONCURRENCY=2) on this file's database:
// PATCHes and bulk updates of the same few tasks, subtasks created in parallel under one parent, and
// logins, refreshes and logouts of one user. Every answer must be a 2xx (no 5xx, no 409, no hang);
// afterwards the history must replay exactly the acknowledged changes — one row per applied change,
// each client's rows in its own order, a status chain with no gap — and the final state must be the
// last acknowledged change. Rate limits are off (productionEnv): these clients send far more than the
// limits allow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskStatus } from '../../src/db/schema.js';
import type { TestUser } from '../helpers/factories.js';
import { sample } from '../helpers/metrics.js';
import type { ServerProcess } from '../helpers/processes.js';
import { eventually } from '../helpers/sockets.js';
import { createTask } from '../helpers/tasks.js';
import { crashSigns, historyOf, integrityProblems, login, loggedIn, request, stack, statusChangesWithoutNotification, type Answer, type HistoryRow, type Stack } from './harness.js';

const STATUSES: TaskStatus[] = ['pending', 'in_progress', 'blocked', 'completed'];
const CLIENTS = 10;
const REQUESTS_PER_CLIENT = 30;
const TASKS = 4;
const MAX_SESSIONS = 3;

let s: Stack;
let server: ServerProcess;
let developer: TestUser;
let managers: TestUser[];

beforeAll(async () => {
  s = await stack();
  [developer, ...managers] = (await s.users([{ role: 'developer' }, ...Array.from({ length: CLIENTS }, () => ({ role: 'manager' as const }))])) as [TestUser, ...TestUser[]];
  server = await s.start({ WEB_CONCURRENCY: '2', METRICS_ENABLED: 'true', MAX_SESSIONS_PER_USER: String(MAX_SESSIONS) });
  await eventually(async () => sample(String((await request(server.url, 'GET', '/metrics')).body), 'ctms_cluster_workers') === 2, 60_000, 'two workers');
}, 600_000);

afterAll(async () => {
  await s?.close();
});

/** A seeded random choice, so a failing run can be repeated. */
const random = (() => {
  let seed = 20261202;
  return (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
})();

interface Op {
  client: number;
  kind: 'patch' | 'bulk';
  tasks: number[];
  status: TaskStatus;
  title?: string;
  sentAt: number;
  ackedAt: number;
  answer: Answer;
}

describe('PATCH and bulk updates of the same tasks from many clients', () => {
  let taskIds: number[];
  const ops: Op[] = [];

  beforeAll(async () => {
    taskIds = [];
    for (let i = 0; i < TASKS; i += 1) taskIds.push(await createTask(s.db, { assignedTo: developer.id, title: `Contended ${i}`, status: 'pending' }));
    const tokens = await Promise.all(managers.map((m) => login(server.url, m.username)));
    const started = Date.now();
    await Promise.all(
      tokens.map(async ({ access }, client) => {
        for (let n = 0; n < REQUESTS_PER_CLIENT; n += 1) {
          const status = STATUSES[random(STATUSES.length)]!;
          const sentAt = performance.now();
          if (random(10) < 7) {
            const task = taskIds[random(TASKS)]!;
            const title = `c${client}-n${n}`;
            const answer = await request(server.url, 'PATCH', `/api/tasks/${task}`, { token: access, body: { title, status } });
            ops.push({ client, kind: 'patch', tasks: [task], status, title, sentAt, ackedAt: performance.now(), answer });
          } else {
            const tasks = taskIds.filter(() => random(2) === 0);
            if (tasks.length === 0) tasks.push(taskIds[0]!);
            const answer = await request(server.url, 'POST', '/api/tasks/bulk-update', { token: access, body: { task_ids: tasks, status } });
            ops.push({ client, kind: 'bulk', tasks, status, sentAt, ackedAt: performance.now(), answer });
          }
        }
      }),
    );
    console.info(`concurrency: ${ops.length} PATCH/bulk requests from ${CLIENTS} clients in ${Date.now() - started} ms`);
  }, 180_000);

  it('answers every request 200, none with a 5xx, a conflict or a timeout', () => {
    const failures = ops.filter((op) => op.answer.status !== 200).map((op) => ({ kind: op.kind, status: op.answer.status ?? op.answer.error, body: op.answer.body }));
    expect(failures).toEqual([]);
    expect(ops).toHaveLength(CLIENTS * REQUESTS_PER_CLIENT);
    expect(crashSigns(server.output())).toEqual([]);
  });

  it('has one history row per applied change, in each client’s order, with an unbroken status chain, ending in the last acknowledged change', async () => {
    const history = (await historyOf(s.db, taskIds)).filter((h) => h.action !== 'created');
    const clientOf = new Map(managers.map((m, i) => [m.id, i]));
    expect(history.filter((h) => !clientOf.has(h.user_id ?? -1))).toEqual([]);
    const finals = await s.db.selectFrom('tasks').select(['id', 'title', 'status']).where('id', 'in', taskIds).execute();

    for (const task of taskIds) {
      const rows = history.filter((h) => h.task_id === task);
      // The status before each row, replaying the chain: every status change starts where the last ended.
      const before: TaskStatus[] = [];
      let status: TaskStatus = 'pending';
      for (const row of rows) {
        before.push(status);
        if (row.from_status !== null) {
          expect(row.from_status, `task ${task}, history ${row.id}`).toBe(status);
          status = row.to_status as TaskStatus;
        }
      }
      const final = finals.find((f) => f.id === task)!;
      expect(final.status).toBe(status);

      // Each client's acknowledged operations on this task consume its rows, in order.
      const matched = new Map<HistoryRow, Op>();
      for (let client = 0; client < CLIENTS; client += 1) {
        const mine = rows.filter((row) => clientOf.get(row.user_id!) === client);
        let next = 0;
        let lastPosition = -1;
        for (const op of ops.filter((o) => o.client === client && o.tasks.includes(task))) {
          const row = mine[next];
          if (op.kind === 'patch') {
            // A PATCH always changes the title: it must have exactly one row.
            expect(row, `client ${client}'s PATCH ${op.title} of task ${task} has no history row`).toBeDefined();
            expect(['updated', 'status_changed']).toContain(row!.action);
            const position = rows.indexOf(row!);
            expect(row!.action === 'status_changed' ? row!.to_status : before[position]).toBe(op.status);
            matched.set(row!, op);
            lastPosition = position;
            next += 1;
          } else if (row?.action === 'bulk_update' && row.to_status === op.status) {
            matched.set(row, op);
            lastPosition = rows.indexOf(row);
            next += 1;
          } else {
            // Changed nothing on this task: it already had that status at some moment between the
            // client's previous and next rows.
            const until = row ? rows.indexOf(row) : rows.length;
            const statuses = [...before.slice(lastPosition + 1, until + 1), ...(until === rows.length ? [status] : [])];
            expect(statuses, `client ${client}'s bulk update to ${op.status} of task ${task}`).toContain(op.status);
          }
        }
        expect(next, `client ${client} has history rows on task ${task} that no acknowledged request explains`).toBe(mine.length);
      }
      expect(matched.size).toBe(rows.length);

      // Real-time order: a PATCH sent after another was acknowledged comes later in history.
      const patches = rows.filter((row) => matched.get(row)?.kind === 'patch');
      for (const [i, a] of patches.entries()) {
        for (const b of patches.slice(0, i)) expect(matched.get(a)!.ackedAt >= matched.get(b)!.sentAt, `history ${a.id} acknowledged before ${b.id} was sent`).toBe(true);
      }
      // The title is the last acknowledged PATCH's.
      if (patches.length > 0) expect(final.title).toBe(matched.get(patches.at(-1)!)!.title);
    }
  });

  it('wrote one status_change notification for every status change, and leaves a sound database', async () => {
    expect(await statusChangesWithoutNotification(s.db, taskIds)).toEqual([]);
    expect(await integrityProblems(s.db)).toEqual([]);
  });
});

describe('subtasks created in parallel under one parent', () => {
  it('creates every one (201), each with one history row and one assignment notification', async () => {
    const parent = await createTask(s.db, { assignedTo: developer.id, title: 'Parent' });
    const tokens = await Promise.all(managers.map((m) => login(server.url, m.username)));
    const perClient = 6;
    const answers = (
      await Promise.all(
        tokens.map(async ({ access }, client) => {
          const mine: Answer[] = [];
          for (let n = 0; n < perClient; n += 1) {
            const body = { title: `Child ${client}-${n}`, estimated_hours: 1, deadline: '2030-01-15T12:00:00Z', assigned_to: developer.id, parent_task: parent };
            mine.push(await request(server.url, 'POST', '/api/tasks', { token: access, body }));
          }
          return mine;
        }),
      )
    ).flat();
    expect(answers.filter((a) => a.status !== 201).map((a) => a.status ?? a.error)).toEqual([]);
    const ids = answers.map((a) => Number(a.body.id));
    expect(new Set(ids).size).toBe(CLIENTS * perClient);

    const children = await s.db.selectFrom('tasks').select(['id', 'title']).where('parent_task_id', '=', parent).orderBy('id').execute();
    expect(children.map((c) => c.id)).toEqual([...ids].sort((a, b) => a - b));
    const history = await historyOf(s.db, ids);
    expect(history.map((h) => h.action)).toEqual(Array(ids.length).fill('created'));
    expect(new Set(history.map((h) => h.task_id)).size).toBe(ids.length);
    const assigned = await s.db.selectFrom('notifications').select('task_id').where('notification_type', '=', 'task_assigned').where('task_id', 'in', ids).execute();
    expect(assigned.map((n) => n.task_id).sort((a, b) => Number(a) - Number(b))).toEqual([...ids].sort((a, b) => a - b));
  });
});

describe('parallel logins, refreshes and logouts of one user', () => {
  it(`never has more than ${MAX_SESSIONS} live sessions, and leaves no session nobody holds`, async () => {
    const [user] = await s.users([{ role: 'developer' }]);
    const liveCount = async () =>
      Number(
        (
          await s.db
            .selectFrom('user_sessions')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('user_id', '=', user!.id)
            .where('revoked_at', 'is', null)
            .where('expires_at', '>', new Date().toISOString())
            .executeTakeFirstOrThrow()
        ).n,
      );
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, await liveCount());
        await new Promise((r) => setTimeout(r, 10));
      }
    })();

    const logins: number[] = [];
    const loggedOut: number[] = [];
    const unexpected: string[] = [];
    const expect2xxOr = (what: string, answer: Answer, allowed: number[]) => {
      if (answer.status === 200) return true;
      if (answer.status === undefined || !allowed.includes(answer.status) || typeof answer.body?.detail !== 'string') {
        unexpected.push(`${what}: ${answer.status ?? answer.error} ${JSON.stringify(answer.body)}`);
      }
      return false;
    };
    await Promise.all(
      Array.from({ length: 8 }, async (_, client) => {
        for (let round = 0; round < 6; round += 1) {
          const answer = await request(server.url, 'POST', '/api/auth/login', { body: { username: user!.username, password: user!.password } });
          if (!expect2xxOr('login', answer, [])) continue;
          let session = loggedIn(answer);
          logins.push(session.sessionId);
          // Another client's login may evict this session (the cap): then 401 (or 403) with a reason.
          const refreshed = await request(server.url, 'POST', '/api/auth/refresh', { cookie: session.cookie });
          if (expect2xxOr('refresh', refreshed, [400, 401, 403])) session = { ...loggedIn(refreshed), cookie: session.cookie };
          if ((client + round) % 2 === 0) {
            const out = await request(server.url, 'POST', '/api/auth/logout', { token: session.access, cookie: session.cookie });
            if (expect2xxOr('logout', out, [401])) loggedOut.push(session.sessionId);
          }
        }
      }),
    );
    sampling = false;
    await sampler;

    expect(unexpected).toEqual([]);
    expect(logins.length).toBe(48);
    expect(most).toBeLessThanOrEqual(MAX_SESSIONS);
    const rows = await s.db.selectFrom('user_sessions').select(['id', 'revoked_at', 'refresh_token_hash']).where('user_id', '=', user!.id).execute();
    const live = rows.filter((r) => r.revoked_at === null);
    expect(live.length).toBeLessThanOrEqual(MAX_SESSIONS);
    // Every live session is one a client was given; none is half made (its refresh hash still the placeholder).
    expect(live.filter((r) => !logins.includes(r.id))).toEqual([]);
    expect(rows.filter((r) => r.refresh_token_hash === 'pending')).toEqual([]);
    // A session whose logout was acknowledged is revoked (or already cleaned up by a later login).
    expect(rows.filter((r) => loggedOut.includes(r.id) && r.revoked_at === null)).toEqual([]);
    expect(await integrityProblems(s.db)).toEqual([]);
    expect(crashSigns(server.output())).toEqual([]);
  });
});
