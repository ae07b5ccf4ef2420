// The event loop before every other thread of the process on a busy machine. A login hashes its
// password with bcrypt on libuv's thread pool (lib/hash.ts); a storm of logins keeps every thread
// of the pool busy, and on a machine with fewer cores than busy threads the loop thread then waits
// for a time slice like any of them — and every other request waits with it. Linux keeps a nice
// value per thread: the process's other threads (libuv's pool; V8's helpers for garbage collection
// and compilation) are given a lower priority than the loop's, so that the scheduler runs the loop
// as soon as it has work and gives the others every cycle it leaves. On an idle core nothing is
// slower; only requests stop queueing behind hashing.
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** How much lower the other threads' priority is: a CPU-time weight about a tenth of the loop's. */
export const HELPER_NICENESS = 10;
/** The lowest priority Linux has. */
const LOWEST = 19;

export interface ThreadPriority {
  /** Threads whose priority was lowered. */
  lowered: number;
  /** Why nothing was done, when nothing was. */
  skipped?: string;
}

/**
 * Lowers the priority of every thread of the process but the main one (the event loop) to
 * HELPER_NICENESS below the main thread's own (at most to the lowest there is), never raising one:
 * a process started with `nice` keeps its helpers below its loop. Call it once the process is
 * serving: libuv starts its pool's threads on the pool's first job (by then the module loader's file
 * reads have run there), V8 its helpers at start-up.
 */
export function lowerHelperThreadPriority(): ThreadPriority {
  let threads: number[];
  try {
    threads = readdirSync('/proc/self/task').map(Number);
  } catch {
    return { lowered: 0, skipped: 'no /proc/self/task (not Linux)' };
  }
  const target = Math.min(LOWEST, getPriority(process.pid) + HELPER_NICENESS);
  let lowered = 0;
  for (const id of threads) {
    if (id === process.pid) continue;
    try {
      if (getPriority(id) >= target) continue;
      setPriority(id, target);
      lowered++;
    } catch {
      // The thread ended meanwhile, or a policy forbids it: that thread keeps its priority.
    }
  }
  return { lowered };
}
