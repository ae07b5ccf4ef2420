// A whole list (§4, no `limit`) holds one of a few read snapshots while its answer is sent, so
// holders are kept honest: a request waits a bounded time for one (then 503), one user's lists take
// all but one at most (more wait their turn, then 429), a client that leaves stops waiting, and an
// answer whose client stops taking it is cut off — while a slow client that keeps reading gets all
// of it.
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ReadSnapshot } from '../../src/db/database.js';
import { wholeListLimits, wholeListPacing } from '../../src/modules/tasks/whole-list.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { countSnapshots, type SnapshotCount } from '../helpers/snapshots.js';
import { createTask, createTasks, signIn, type Session } from '../helpers/tasks.js';

/** Enough 10 KB descriptions (20 MB of JSON) that the socket's buffers cannot take the whole answer. */
const BIG_TASKS = 2000;
/** What a manager sees: the big tasks and the developer's one. */
const ALL_TASKS = BIG_TASKS + 1;
const defaultLimits = { ...wholeListLimits };
const defaultPacing = { ...wholeListPacing };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('whole lists and their snapshots', () => {
  let t: TestApp;
  let port: number;
  let manager: Session;
  let dev: Session;
  let snapshots: SnapshotCount;

  beforeAll(async () => {
    t = await buildTestApp();
    manager = await signIn(t.app, { role: 'manager' });
    dev = await signIn(t.app, { role: 'developer' });
    await createTasks(t.db, BIG_TASKS, () => ({ assignedTo: manager.user.id, description: 'x'.repeat(10_000) }));
    await createTask(t.db, { assignedTo: dev.user.id });
    snapshots = countSnapshots(t.app);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  }, 120_000);
  afterAll(async () => {
    await t.close();
  });
  afterEach(async () => {
    Object.assign(wholeListLimits, defaultLimits);
    Object.assign(wholeListPacing, defaultPacing);
    expect(await snapshots.allReleased()).toBe(true);
  });

  const wholeList = (s: Session) => t.app.inject({ method: 'GET', url: '/api/tasks', headers: s.headers });

  /** Every snapshot of the process, taken directly (how many there are depends on the database). */
  async function takeEverySnapshot(): Promise<ReadSnapshot[]> {
    const held: ReadSnapshot[] = [];
    for (;;) {
      try {
        held.push(await t.app.database.openSnapshot({ waitMs: 50 }));
      } catch {
        return held;
      }
    }
  }

  /** A client that asks for the whole list and reads nothing of the answer. */
  const stalledClient = (s: Session): Promise<Socket> =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`GET /api/tasks HTTP/1.1\r\nHost: test\r\nAuthorization: ${s.headers.authorization}\r\n\r\n`);
        socket.pause();
        resolve(socket);
      });
      socket.on('error', () => undefined);
    });

  it('answers 503 once the wait for a snapshot is over, serves pages meanwhile, and lists again once one is free', async () => {
    wholeListLimits.waitMs = 200;
    const held = await takeEverySnapshot();
    expect(held.length).toBeGreaterThanOrEqual(1);
    try {
      const res = await wholeList(dev);
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ detail: 'Too many whole task lists are being sent at the moment: retry shortly, or page with limit' });
      expect(res.headers['retry-after']).toBe('5');
      expect((await t.app.inject({ method: 'GET', url: '/api/tasks?limit=5', headers: dev.headers })).statusCode).toBe(200);
    } finally {
      for (const snapshot of held) await snapshot.release();
    }
    const res = await wholeList(dev);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toHaveLength(1);
  });

  it('stops waiting for a snapshot when its client leaves: it opens none later', async () => {
    const held = await takeEverySnapshot();
    const openedBefore = snapshots.opened;
    try {
      const client = await stalledClient(dev);
      await sleep(100);
      client.destroy();
      await sleep(100);
    } finally {
      for (const snapshot of held) await snapshot.release();
    }
    await sleep(200);
    expect(snapshots.opened).toBe(openedBefore);
  });

  it("lets one user's lists take all snapshots but one: one more of theirs waits its turn, then 429, while other users are served", async () => {
    wholeListLimits.waitMs = 300;
    const share = t.app.database.snapshots - 1;
    expect(share).toBeGreaterThanOrEqual(1);
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    let paused = 0;
    wholeListPacing.turn = async () => {
      paused += 1;
      await gate;
    };
    try {
      const underWay = Array.from({ length: share }, () => wholeList(manager));
      for (let i = 0; i < 200 && paused < share; i++) await sleep(10);
      expect(paused).toBe(share);
      const oneMore = await wholeList(manager);
      expect(oneMore.statusCode).toBe(429);
      expect(oneMore.json()).toEqual({ detail: 'Your other whole task lists are still being sent: retry once they are, or page with limit' });
      expect(oneMore.headers['retry-after']).toBe('5');
      wholeListPacing.turn = defaultPacing.turn;
      const others = await wholeList(dev);
      expect(others.statusCode).toBe(200);
      letGo();
      for (const res of await Promise.all(underWay)) expect(res.json()).toHaveLength(ALL_TASKS);
      expect((await wholeList(manager)).statusCode).toBe(200);
    } finally {
      letGo();
    }
  }, 30_000);

  it('serves many whole lists of one user at once, each in turn', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => wholeList(dev)));
    expect(answers.map((res) => res.statusCode)).toEqual(Array.from({ length: 20 }, () => 200));
  });

  it('cuts off an answer whose client has stopped taking it, and gives its snapshot back', async () => {
    wholeListLimits.idleMs = 300;
    const openedBefore = snapshots.opened;
    const client = await stalledClient(manager);
    try {
      for (let i = 0; i < 100 && snapshots.opened === openedBefore; i++) await sleep(10);
      expect(snapshots.opened).toBe(openedBefore + 1);
      expect(await snapshots.allReleased()).toBe(true);
    } finally {
      client.destroy();
    }
  });

  it('sends all of it to a slow client that keeps reading, however long it takes beyond the idle limit', async () => {
    // A slice (500 tasks, 5 MB) takes this client about 0.8 s to read: progress is seen chunk by chunk, not slice by slice.
    wholeListLimits.idleMs = 600;
    const started = Date.now();
    const body = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(port, '127.0.0.1', () =>
        socket.write(`GET /api/tasks HTTP/1.1\r\nHost: test\r\nConnection: close\r\nAuthorization: ${manager.headers.authorization}\r\n\r\n`),
      );
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        socket.pause();
        setTimeout(() => socket.resume(), 10);
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    const headEnd = body.indexOf('\r\n\r\n');
    const head = body.slice(0, headEnd);
    const chunked = body.slice(headEnd + 4);
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(chunked.endsWith('0\r\n\r\n')).toBe(true);
    const json = dechunk(chunked);
    expect((JSON.parse(json) as unknown[]).length).toBe(ALL_TASKS);
    // Not a vacuous pass: the answer took longer than the idle limit.
    expect(Date.now() - started).toBeGreaterThan(wholeListLimits.idleMs);
  }, 60_000);
});

/** The payload of an HTTP/1.1 chunked body. */
function dechunk(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    const size = Number.parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (size === 0) return Buffer.concat(parts).toString('utf8');
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
