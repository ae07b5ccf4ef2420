// Crash safety: clients stream task writes (creations, PATCHes, bulk status updates) at a server
// process that is SIGKILLed mid-stream, then started again on the same database. Each client owns its
// tasks and sends one request at a time, so at the kill it has at most one request in flight: the
// database must then hold every acknowledged write, plus that in-flight one entirely or not at all
// (a bulk update never half applied), a history row per applied change, a notification for every
// status change and assignment, and pass the integrity checks. Three rounds, killed at different points.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskStatus } from '../../src/db/schema.js';
import type { TestUser } from '../helpers/factories.js';
import { createTask } from '../helpers/tasks.js';
import { crashSigns, historyOf, integrityProblems, login, request, stack, statusChangesWithoutNotification, type Answer, type Stack } from './harness.js';

const STATUSES: TaskStatus[] = ['pending', 'in_progress', 'blocked', 'completed'];
const CLIENTS = 4;
const TASKS_PER_CLIENT = 3;

let s: Stack;
let developer: TestUser;
let managers: TestUser[];

beforeAll(async () => {
  s = await stack();
  [developer, ...managers] = (await s.users([{ role: 'developer' }, ...Array.from({ length: CLIENTS }, () => ({ role: 'manager' as const }))])) as [TestUser, ...TestUser[]];
}, 600_000);

afterAll(async () => {
  await s?.close();
});

type Op =
  | { kind: 'create'; title: string }
  | { kind: 'patch'; task: number; title: string; status: TaskStatus }
  | { kind: 'bulk'; tasks: number[]; status: TaskStatus };

interface Sent {
  op: Op;
  answer: Answer;
}

interface TaskState {
  title: string;
  status: TaskStatus;
}

/** The client's tasks after `ops`, and the history rows those ops write. */
function replay(initial: Map<number, TaskState>, ops: Op[]): { tasks: Map<number, TaskState>; rows: number; created: string[] } {
  const tasks = new Map([...initial].map(([id, state]) => [id, { ...state }]));
  let rows = 0;
  const created: string[] = [];
  for (const op of ops) {
    if (op.kind === 'create') created.push(op.title);
    if (op.kind === 'patch') {
      tasks.set(op.task, { title: op.title, status: op.status });
      rows += 1;
    }
    if (op.kind === 'bulk') {
      for (const id of op.tasks) {
        const task = tasks.get(id)!;
        if (task.status !== op.status) rows += 1;
        task.status = op.status;
      }
    }
  }
  return { tasks, rows, created };
}

/** Client `client`'s stream: its own tasks, one request at a time, until a request goes unanswered. */
async function stream(base: string, token: string, client: number, round: number, taskIds: number[], onAnswer: () => void): Promise<Sent[]> {
  const sent: Sent[] = [];
  for (let n = 0; ; n += 1) {
    const status = STATUSES[(n + client) % STATUSES.length]!;
    const op: Op =
      n % 3 === 0
        ? { kind: 'create', title: `r${round}-c${client}-new${n}` }
        : n % 3 === 1
          ? { kind: 'patch', task: taskIds[n % taskIds.length]!, title: `r${round}-c${client}-n${n}`, status }
          : { kind: 'bulk', tasks: taskIds, status };
    const answer =
      op.kind === 'create'
        ? await request(base, 'POST', '/api/tasks', { token, body: { title: op.title, estimated_hours: 1, deadline: '2030-01-15T12:00:00Z', assigned_to: developer.id } })
        : op.kind === 'patch'
          ? await request(base, 'PATCH', `/api/tasks/${op.task}`, { token, body: { title: op.title, status: op.status } })
          : await request(base, 'POST', '/api/tasks/bulk-update', { token, body: { task_ids: op.tasks, status: op.status } });
    sent.push({ op, answer });
    if (answer.status === undefined) return sent;
    onAnswer();
  }
}

describe.each([
  { round: 1, killAfter: 30 },
  { round: 2, killAfter: 77 },
  { round: 3, killAfter: 131 },
])('SIGKILL after $killAfter acknowledged writes (round $round)', ({ round, killAfter }) => {
  let sent: Sent[][];
  let owned: number[][];
  let output: string;

  beforeAll(async () => {
    owned = [];
    for (let c = 0; c < CLIENTS; c += 1) {
      const ids: number[] = [];
      for (let i = 0; i < TASKS_PER_CLIENT; i += 1) ids.push(await createTask(s.db, { assignedTo: developer.id, title: `r${round}-c${c}-t${i}`, status: 'pending' }));
      owned.push(ids);
    }
    const server = await s.start();
    const tokens = await Promise.all(managers.map((m) => login(server.url, m.username)));
    let answered = 0;
    sent = await Promise.all(
      tokens.map(({ access }, c) =>
        stream(server.url, access, c, round, owned[c]!, () => {
          answered += 1;
          // A few milliseconds later each round, so the kill lands at different points of the requests in flight.
          if (answered === killAfter) setTimeout(() => server.child.kill('SIGKILL'), round * 5);
        }),
      ),
    );
    await server.stop('SIGKILL');
    output = server.output();
  }, 120_000);

  it('answered every write it took with a 2xx before the kill', () => {
    for (const mine of sent) {
      const answered = mine.filter((x) => x.answer.status !== undefined);
      expect(answered.filter((x) => x.answer.status! >= 300).map((x) => [x.op.kind, x.answer.status, x.answer.body])).toEqual([]);
      // Only the last request of each client went unanswered: the one in flight at the kill.
      expect(mine.at(-1)!.answer.status).toBeUndefined();
    }
    expect(sent.flat().filter((x) => x.answer.status !== undefined).length).toBeGreaterThanOrEqual(killAfter);
    expect(crashSigns(output)).toEqual([]);
  });

  it('holds every acknowledged write after a restart, and the in-flight one wholly or not at all', async () => {
    const restarting = Date.now();
    const restarted = await s.start();
    const restartMs = Date.now() - restarting;
    expect((await request(restarted.url, 'GET', '/health/ready')).status).toBe(200);
    let inFlightApplied = 0;

    for (const [c, mine] of sent.entries()) {
      const acknowledged = mine.slice(0, -1).map((x) => x.op);
      const inFlight = mine.at(-1)!.op;
      const initial = new Map(owned[c]!.map((id, i) => [id, { title: `r${round}-c${c}-t${i}`, status: 'pending' as TaskStatus }]));
      const without = replay(initial, acknowledged);
      const withIt = replay(initial, [...acknowledged, inFlight]);

      const rows = await s.db.selectFrom('tasks').select(['id', 'title', 'status']).where('id', 'in', owned[c]!).execute();
      const actual = new Map(rows.map((r) => [r.id, { title: r.title, status: r.status as TaskStatus }]));
      const history = (await historyOf(s.db, owned[c]!)).filter((h) => h.action !== 'created');
      const applied = [without, withIt].find((model) => JSON.stringify([...model.tasks].sort()) === JSON.stringify([...actual].sort()));
      expect(applied, `client ${c}: tasks ${JSON.stringify([...actual])}; in flight ${JSON.stringify(inFlight)}`).toBeDefined();
      expect(history).toHaveLength(applied!.rows);
      if (applied === withIt && JSON.stringify([...without.tasks]) !== JSON.stringify([...withIt.tasks])) inFlightApplied += 1;

      const titles = new Set(withIt.created);
      const created = await s.db.selectFrom('tasks').select(['id', 'title']).where('title', 'in', [...titles]).execute();
      const expected = without.created;
      if (inFlight.kind === 'create') expect([expected.length, expected.length + 1]).toContain(created.length);
      if (inFlight.kind === 'create' && created.length > expected.length) inFlightApplied += 1;
      else expect(created).toHaveLength(expected.length);
      expect(created.map((t) => t.title)).toEqual(expect.arrayContaining(expected));
      // Every created task carries its "created" history row and its assignment notification.
      const ids = created.map((t) => t.id);
      if (ids.length > 0) {
        expect((await historyOf(s.db, ids)).filter((h) => h.action === 'created')).toHaveLength(ids.length);
        const assigned = await s.db.selectFrom('notifications').select('task_id').where('notification_type', '=', 'task_assigned').where('task_id', 'in', ids).execute();
        expect(assigned).toHaveLength(ids.length);
      }
      expect(await statusChangesWithoutNotification(s.db, owned[c]!)).toEqual([]);
    }
    expect(await integrityProblems(s.db)).toEqual([]);

    // The restarted server takes writes again.
    const { access } = await login(restarted.url, managers[0]!.username);
    const after = await request(restarted.url, 'PATCH', `/api/tasks/${owned[0]![0]}`, { token: access, body: { description: 'after the crash' } });
    expect(after.status).toBe(200);
    await restarted.stop('SIGTERM');
    const acknowledged = sent.flat().filter((x) => x.answer.status !== undefined);
    console.info(
      `crash round ${round}: SIGKILL after ${acknowledged.length} acknowledged writes ` +
        `(${acknowledged.filter((x) => x.op.kind === 'bulk').length} bulk), all present after the restart; ` +
        `${inFlightApplied} of ${CLIENTS} in-flight requests had committed, the rest left no trace; restart to serving ${restartMs} ms`,
    );
  });
});
