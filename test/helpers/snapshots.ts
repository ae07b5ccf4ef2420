// Counts the read snapshots an app opens and gives back (db/read-snapshot.ts), for tests that must
// see every snapshot of a whole list returned, whatever happened to its request.
import type { FastifyInstance } from 'fastify';
import type { ReadSnapshot, SnapshotWait } from '../../src/db/database.js';

export interface SnapshotCount {
  readonly opened: number;
  readonly released: number;
  /** Waits (up to `timeoutMs`) until every snapshot opened has been given back; false if one has not. */
  allReleased(timeoutMs?: number): Promise<boolean>;
}

export function countSnapshots(app: FastifyInstance): SnapshotCount {
  const handle = app.database;
  const openSnapshot = handle.openSnapshot.bind(handle);
  const count = { opened: 0, released: 0 };
  handle.openSnapshot = async (wait?: SnapshotWait): Promise<ReadSnapshot> => {
    const snapshot = await openSnapshot(wait);
    count.opened += 1;
    return {
      db: snapshot.db,
      release: async () => {
        count.released += 1;
        await snapshot.release();
      },
    };
  };
  return {
    get opened() {
      return count.opened;
    },
    get released() {
      return count.released;
    },
    async allReleased(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (count.released < count.opened && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      return count.released === count.opened;
    },
  };
}
