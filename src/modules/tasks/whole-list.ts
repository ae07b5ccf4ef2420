// The whole task list (§4: `GET /api/tasks` without `limit`): every visible task exactly once, with
// X-Total-Count equal to the body, however large the list and whatever is written meanwhile. The
// ids, the count and the tasks are all read in one read snapshot (db/read-snapshot.ts); a long
// answer is streamed in chunks, read and serialized a slice at a time with loop turns between.
//
// A snapshot is a scarce thing (a few per process) held while the answer is sent, so its holders
// are kept honest: a request waits a bounded time for one (then 503), a user has at most a couple
// at once (then 429), a request whose client left stops waiting, and a stream is cut off when its
// client stops taking data for a while or the whole answer takes too long.
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { NoSnapshotFree, type Database } from '../../db/database.js';
import { AppError, serviceUnavailable } from '../../errors.js';
import type { TaskScope } from './tasks.policy.js';
import { findTaskRowsByIds, hydrateTasks, listTaskIdPieces, type TaskFilters } from './tasks.repository.js';
import type { TaskOrdering, TaskPublic } from './tasks.schemas.js';

/**
 * How a whole list is paced: ids read `idPiece` at a time and tasks read and serialized `slice` at
 * a time, each a few milliseconds of work, with a `turn` of the event loop between two so that
 * other requests run meanwhile. Tests make the pieces small and act between them.
 */
export const wholeListPacing = {
  idPiece: 5000,
  slice: 500,
  turn: (): Promise<unknown> => nextTurn(),
};

/** What a whole list may hold, and for how long (tests shorten them). */
export const wholeListLimits = {
  /** How long a request waits for a snapshot while all are taken; then 503. */
  waitMs: 10_000,
  /** Whole lists of one user under way at once, per process; one more is a 429. */
  perUser: 2,
  /** A streamed answer whose client has taken nothing for this long is cut off. */
  idleMs: 30_000,
  /** A streamed answer still going after this long is cut off (the snapshot keeps old row versions alive). */
  maxMs: 600_000,
  /** The largest piece of text handed to the socket at once, so that progress is seen at this grain. */
  chunkChars: 65_536,
};

/** Every id of a whole list, in order (`db` is a snapshot: a task moving meanwhile is met once, where it was). */
async function readWholeListIds(db: Database, scope: TaskScope, filters: TaskFilters, ordering: TaskOrdering, now: string): Promise<number[]> {
  const ids: number[] = [];
  for await (const piece of listTaskIdPieces(db, scope, filters, ordering, now, wholeListPacing.idPiece)) {
    for (const id of piece) ids.push(id);
    await wholeListPacing.turn();
  }
  return ids;
}

/**
 * A whole task list as JSON text, slice by slice, in chunks of at most `chunkChars`: memory holds
 * the ids and a slice or two, and other requests run between slices. `taken` is called each time
 * the consumer asks for the next chunk (the previous one went to the socket).
 */
async function* serializeTaskList(db: Database, ids: readonly number[], taken: () => void): AsyncGenerator<string> {
  yield '[';
  let first = true;
  const { slice } = wholeListPacing;
  for (let i = 0; i < ids.length; i += slice) {
    // SQLite answers at once: without this, every slice (of every whole list under way) would run in one turn.
    if (i > 0) await wholeListPacing.turn();
    const tasks = await hydrateTasks(db, await findTaskRowsByIds(db, ids.slice(i, i + slice)));
    if (tasks.length === 0) continue;
    const text = (first ? '' : ',') + tasks.map((task) => JSON.stringify(task)).join(',');
    first = false;
    for (let at = 0; at < text.length; at += wholeListLimits.chunkChars) {
      taken();
      yield text.slice(at, at + wholeListLimits.chunkChars);
    }
  }
  yield ']';
}

const tooManyOfYours = () =>
  new AppError(429, `${wholeListLimits.perUser} whole task lists of yours are being sent already: wait for them, or page with limit`, {
    'retry-after': '5',
  });

/** Sends whole lists, keeping count of each user's lists under way. */
export function wholeListSender(app: FastifyInstance) {
  const underWay = new Map<number, number>();
  const finished = (userId: number) => {
    const count = (underWay.get(userId) ?? 1) - 1;
    if (count > 0) underWay.set(userId, count);
    else underWay.delete(userId);
  };

  /**
   * Answers with the whole list from `offset` on. The snapshot ends when the answer is built or,
   * when streamed, when the stream closes (finished, failed, cut off, or the client gone).
   */
  return async function sendWholeList(
    reply: FastifyReply,
    userId: number,
    scope: TaskScope,
    filters: TaskFilters,
    ordering: TaskOrdering,
    now: string,
    offset: number,
  ): Promise<TaskPublic[] | FastifyReply> {
    if ((underWay.get(userId) ?? 0) >= wholeListLimits.perUser) throw tooManyOfYours();
    underWay.set(userId, (underWay.get(userId) ?? 0) + 1);
    let streaming = false;
    try {
      const clientGone = new AbortController();
      const onClose = () => clientGone.abort();
      reply.raw.once('close', onClose);
      let snapshot;
      try {
        snapshot = await app.database.openSnapshot({ waitMs: wholeListLimits.waitMs, signal: clientGone.signal });
      } catch (error) {
        if (!(error instanceof NoSnapshotFree)) throw error;
        throw serviceUnavailable('Too many whole task lists are being sent at the moment: retry shortly, or page with limit');
      } finally {
        reply.raw.off('close', onClose);
      }
      const held = snapshot;
      try {
        const ids = await readWholeListIds(held.db, scope, filters, ordering, now);
        reply.header('x-total-count', String(ids.length));
        const wanted = ids.slice(offset);
        if (wanted.length <= wholeListPacing.slice) return await hydrateTasks(held.db, await findTaskRowsByIds(held.db, wanted));
        const idle = setTimeout(() => body.destroy(new Error('the client stopped taking the whole task list')), wholeListLimits.idleMs).unref();
        const tooLong = setTimeout(() => body.destroy(new Error('whole task list took too long to send')), wholeListLimits.maxMs).unref();
        const body = Readable.from(serializeTaskList(held.db, wanted, () => idle.refresh()), { highWaterMark: 1 });
        // 'close' comes after the generator has finished or been returned, even when it never started.
        body.once('close', () => {
          clearTimeout(idle);
          clearTimeout(tooLong);
          finished(userId);
          void held.release();
        });
        streaming = true;
        // A stream skips the response serializer: serializeTaskList writes the TaskPublic objects as they are.
        return reply.type('application/json; charset=utf-8').send(body as unknown as TaskPublic[]);
      } finally {
        if (!streaming) await held.release();
      }
    } finally {
      if (!streaming) finished(userId);
    }
  };
}
