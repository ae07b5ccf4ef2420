// §4: a whole list (no `limit`) holds every visible task exactly once, and X-Total-Count agrees
// with it, although its ids are read in pieces and its tasks in slices with other requests running
// in between: all of it is read in one snapshot (db/read-snapshot.ts), which is always given back.
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ReadSnapshot } from '../../src/db/database.js';
import { wholeListPacing } from '../../src/modules/tasks/whole-list.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { countSnapshots, type SnapshotCount } from '../helpers/snapshots.js';
import { createTask, signIn, type Session } from '../helpers/tasks.js';

const TASKS = 12;
const defaultPacing = { ...wholeListPacing };

const deadline = (i: number) => new Date(Date.UTC(2026, 5, 1) + i * 3_600_000).toISOString();

describe('a whole list is one snapshot', () => {
  let t: TestApp;
  let manager: Session;
  /** The ids in deadline order, as seeded. */
  let seeded: number[];
  let snapshots: SnapshotCount;

  beforeAll(async () => {
    t = await buildTestApp();
    manager = await signIn(t.app, { role: 'manager' });
    snapshots = countSnapshots(t.app);
  }, 60_000);

  afterAll(async () => {
    await t.close();
  });

  afterEach(async () => {
    Object.assign(wholeListPacing, defaultPacing);
    await t.db.deleteFrom('tasks').execute();
  });

  /** Fresh tasks with deadlines an hour apart; small pieces and slices, and `between(turn)` run at each turn between two. */
  async function setUp(between: (turn: number) => Promise<void>) {
    seeded = [];
    writes = [];
    for (let i = 0; i < TASKS; i++) seeded.push(await createTask(t.db, { assignedTo: manager.user.id, title: `Task ${i}`, deadline: deadline(i) }));
    let turns = 0;
    wholeListPacing.idPiece = 3;
    wholeListPacing.slice = 4;
    wholeListPacing.turn = async () => {
      turns += 1;
      await between(turns);
      await defaultPacing.turn();
    };
    return { turns: () => turns };
  }

  /** Statuses of the writes made between pieces and slices. */
  let writes: number[] = [];
  const as = async (method: 'PATCH' | 'DELETE' | 'POST', url: string, payload?: object) => {
    const res = await t.app.inject({ method, url, headers: manager.headers, payload });
    writes.push(res.statusCode);
    if (res.statusCode >= 300) console.error(method, url, res.statusCode, res.body);
  };

  const settled = async () => {
    expect(await snapshots.allReleased(1000)).toBe(true);
  };

  it('lists every task once, as it was when the list began, whatever is written between pieces and slices', async () => {
    const pacing = await setUp(async (turn) => {
      if (turn === 1) {
        // After the first piece of ids (3 of 12): the last task moves to the front (into the part
        // already read), the first one to the end (into the part still to read), and a task is added.
        await as('PATCH', `/api/tasks/${seeded[TASKS - 1]}`, { deadline: deadline(-5) });
        await as('PATCH', `/api/tasks/${seeded[0]}`, { deadline: deadline(TASKS + 5) });
        await as('POST', '/api/tasks', { title: 'Newcomer', estimated_hours: 1, deadline: deadline(6.5), assigned_to: manager.user.id });
      }
      if (turn === 5) {
        // Between the first and the second slice of tasks: one of the last slice is deleted, another renamed.
        await as('DELETE', `/api/tasks/${seeded[9]}`);
        await as('PATCH', `/api/tasks/${seeded[10]}`, { title: 'Renamed' });
      }
    });
    const res = await t.app.inject({ method: 'GET', url: '/api/tasks?ordering=deadline', headers: manager.headers });
    expect(pacing.turns()).toBeGreaterThanOrEqual(6);
    expect(writes).toEqual([200, 200, 201, 204, 200]);
    expect(res.statusCode).toBe(200);
    const body = res.json() as Array<{ id: number; title: string; deadline: string }>;
    expect(body.map((task) => task.id)).toEqual(seeded);
    expect(body.map((task) => task.title)).toEqual(seeded.map((_, i) => `Task ${i}`));
    expect(res.headers['x-total-count']).toBe(String(TASKS));
    await settled();

    // The next list sees every change.
    const after = await t.app.inject({ method: 'GET', url: '/api/tasks?ordering=deadline', headers: manager.headers });
    const ids = (after.json() as Array<{ id: number }>).map((task) => task.id);
    expect(ids).toHaveLength(TASKS);
    expect(ids[0]).toBe(seeded[TASKS - 1]);
    expect(ids[TASKS - 1]).toBe(seeded[0]);
    expect(ids).not.toContain(seeded[9]);
    await settled();
  });

  it('lists once a task whose key changes between pieces of a short list (one slice)', async () => {
    await setUp(async (turn) => {
      if (turn === 1) await as('PATCH', `/api/tasks/${seeded[TASKS - 1]}`, { deadline: deadline(-5) });
      if (turn === 2) await as('PATCH', `/api/tasks/${seeded[1]}`, { deadline: deadline(TASKS + 5) });
    });
    wholeListPacing.slice = 500;
    const res = await t.app.inject({ method: 'GET', url: '/api/tasks?ordering=deadline&offset=2', headers: manager.headers });
    expect((res.json() as Array<{ id: number }>).map((task) => task.id)).toEqual(seeded.slice(2));
    expect(res.headers['x-total-count']).toBe(String(TASKS));
    await settled();
  });

  it.each([
    ['while the ids are read', 2],
    ['while the tasks are written out', 5],
  ])('gives the snapshot back when the list fails %s', async (_, failing) => {
    await setUp(async (turn) => {
      if (turn === failing) throw new Error('failure injected by the test');
    });
    const res = await t.app
      .inject({ method: 'GET', url: '/api/tasks', headers: manager.headers })
      .then((r) => r.statusCode)
      .catch(() => 'aborted');
    // Before the answer has begun: a 500; after: the answer is cut short.
    if (failing === 2) expect(res).toBe(500);
    await settled();
  });

  it('gives the snapshot back when the client goes away in the middle of the answer', async () => {
    let midway!: () => void;
    const reachedMidway = new Promise<void>((resolve) => (midway = resolve));
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    await setUp(async (turn) => {
      if (turn === 5) {
        midway();
        await gate;
      }
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = t.app.server.address() as AddressInfo;
      const openedBefore = snapshots.opened;
      const req = httpRequest({ host: '127.0.0.1', port, path: '/api/tasks', headers: manager.headers });
      req.on('error', () => undefined);
      req.end();
      await reachedMidway;
      expect(snapshots.opened).toBe(openedBefore + 1);
      expect(snapshots.released).toBe(openedBefore);
      req.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      letGo();
      await settled();
    } finally {
      letGo();
    }
  });
});

describe('read snapshots (database handle)', () => {
  let t: TestApp;
  let manager: Session;

  beforeAll(async () => {
    t = await buildTestApp();
    manager = await signIn(t.app, { role: 'manager' });
  }, 60_000);
  afterAll(async () => {
    await t.close();
  });

  const titleOf = async (db: TestApp['db'], id: number) => (await db.selectFrom('tasks').select('title').where('id', '=', id).executeTakeFirstOrThrow()).title;

  it('see the data as of their first read, refuse writes, and do not hold up writers', async () => {
    const id = await createTask(t.db, { assignedTo: manager.user.id, title: 'before' });
    const snapshot = await t.app.database.openSnapshot();
    try {
      expect(await titleOf(snapshot.db, id)).toBe('before');
      await t.db.updateTable('tasks').set({ title: 'after' }).where('id', '=', id).execute();
      expect(await titleOf(snapshot.db, id)).toBe('before');
      expect(await titleOf(t.db, id)).toBe('after');
      await expect(snapshot.db.updateTable('tasks').set({ title: 'from a snapshot' }).where('id', '=', id).execute()).rejects.toThrow();
    } finally {
      await snapshot.release();
      await snapshot.release();
    }
    const next = await t.app.database.openSnapshot();
    try {
      expect(await titleOf(next.db, id)).toBe('after');
    } finally {
      await next.release();
    }
  });

  it('are a few at a time: one more waits until another is given back', async () => {
    const held: ReadSnapshot[] = [];
    const later = (ms: number) => new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms));
    let waiting: Promise<ReadSnapshot> | undefined;
    for (let i = 0; i < 10 && waiting === undefined; i++) {
      const next = t.app.database.openSnapshot();
      const snapshot = await Promise.race([next, later(100)]);
      if (snapshot) held.push(snapshot);
      else waiting = next;
    }
    expect(waiting).toBeDefined();
    expect(held.length).toBeGreaterThanOrEqual(1);
    expect(held.length).toBeLessThanOrEqual(4);
    // Other requests are not held up meanwhile.
    expect((await t.app.inject({ method: 'GET', url: '/api/tasks?limit=10', headers: manager.headers })).statusCode).toBe(200);
    await held.pop()?.release();
    const extra = await waiting;
    for (const s of [...held, extra]) await s?.release();
  });
});
