// The whole task list (§4: `GET /api/tasks` without `limit`): every visible task exactly once, with
// X-Total-Count equal to the body, however large the list and whatever is written meanwhile. The
// ids, the count and the tasks are all read in one read snapshot (db/read-snapshot.ts); a long
// answer is streamed in chunks, read and serialized a slice at a time with loop turns between.
//
// A snapshot is a scarce thing (a few per process) held while the answer is sent, so its holders
// are kept honest: a request waits a bounded time for one (then 503), one user's lists take all
// but one of them at most (more wait their turn, then 429), a request whose client left stops
// waiting, and a stream is cut off when its client stops taking data for a while or the whole
// answer takes too long.
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Database } from '../../db/database.js';
import { AppError, serviceUnavailable } from '../../errors.js';
import { Slots, SlotWaitEnded } from '../../lib/slots.js';
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
  /** How long a request waits for its turn and a snapshot; then 429 (its user's other lists hold their share) or 503. */
  waitMs: 10_000,
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

const TOO_MANY_OF_YOURS = 'Your other whole task lists are still being sent: retry once they are, or page with limit';
const TOO_MANY_AT_ONCE = 'Too many whole task lists are being sent at the moment: retry shortly, or page with limit';

/**
 * Sends whole lists. One user's lists hold at most all snapshots but one (so nobody can starve the
 * others by holding answers open); more of theirs wait their turn.
 */
export function wholeListSender(app: FastifyInstance) {
  const perUser = Math.max(1, app.database.snapshots - 1);
  const turns = new Map<number, Slots>();
  const turnsOf = (userId: number) => {
    let slots = turns.get(userId);
    if (!slots) turns.set(userId, (slots = new Slots(perUser)));
    return slots;
  };
  const finished = (userId: number) => {
    const slots = turns.get(userId);
    slots?.release();
    if (slots?.idle) turns.delete(userId);
  };

  /** Waits for the user's turn, then a snapshot, both within waitMs; gives up when the client leaves. */
  async function openSnapshotFor(reply: FastifyReply, userId: number) {
    const deadline = Date.now() + wholeListLimits.waitMs;
    const clientGone = new AbortController();
    const onClose = () => clientGone.abort();
    reply.raw.once('close', onClose);
    const userTurns = turnsOf(userId);
    let turnTaken = false;
    try {
      await userTurns.acquire({ waitMs: wholeListLimits.waitMs, signal: clientGone.signal });
      turnTaken = true;
      return await app.database.openSnapshot({ waitMs: Math.max(deadline - Date.now(), 0), signal: clientGone.signal });
    } catch (error) {
      if (turnTaken) finished(userId);
      else if (userTurns.idle) turns.delete(userId);
      if (!(error instanceof SlotWaitEnded)) throw error;
      if (!turnTaken) throw new AppError(429, TOO_MANY_OF_YOURS, { 'retry-after': '5' });
      throw serviceUnavailable(TOO_MANY_AT_ONCE);
    } finally {
      reply.raw.off('close', onClose);
    }
  }

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
    const held = await openSnapshotFor(reply, userId);
    let streaming = false;
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
      if (!streaming) {
        finished(userId);
        await held.release();
      }
    }
  };
}
