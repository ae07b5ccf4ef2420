// Vitest global setup: the test run gets a temporary directory of its own (TMPDIR, which os.tmpdir()
// and the processes the tests start all read), and at the end every `ctms-*` entry a test left in it
// is named and fails the run. The directory is removed either way, with whatever else tools spawned
// by the tests put there. Comparing only this run's directory keeps the check true when other test
// runs or programs use the system's temporary directory at the same time; the directory of a run
// that was interrupted (its process gone) is removed by the next run. tsx's compile cache stays
// where it was (a link to it), so processes started through tsx do not recompile every run.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** The prefix every temporary directory of the tests carries. */
const OURS = /^ctms-/;
const RUN_DIR = /^ctms-test-run-/;
/** Names the process of the run, so that a later run can tell an interrupted run's directory. */
const OWNER_FILE = '.owner-pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the directories of earlier runs that were interrupted (their process is gone). */
function removeAbandonedRuns(parent: string): void {
  for (const name of readdirSync(parent).filter((entry) => RUN_DIR.test(entry))) {
    let owner: number;
    try {
      owner = Number(readFileSync(join(parent, name, OWNER_FILE), 'utf8'));
    } catch {
      continue; // not marked (yet): leave it
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) rmSync(join(parent, name), { recursive: true, force: true });
  }
}

export default function setup(): () => void {
  removeAbandonedRuns(tmpdir());
  const runDir = mkdtempSync(join(tmpdir(), 'ctms-test-run-'));
  writeFileSync(join(runDir, OWNER_FILE), String(process.pid));
  // Like /tmp: tests start PostgreSQL as its own user, which must reach its directory in here.
  chmodSync(runDir, 0o1777);
  // tsx keeps its cache in <tmpdir>/tsx-<uid>.
  const tsxCache = `tsx-${process.geteuid?.() ?? userInfo().username}`;
  mkdirSync(join(tmpdir(), tsxCache), { recursive: true, mode: 0o700 });
  symlinkSync(join(tmpdir(), tsxCache), join(runDir, tsxCache));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = runDir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    const left = readdirSync(runDir).filter((name) => OURS.test(name));
    rmSync(runDir, { recursive: true, force: true });
    if (left.length > 0) {
      // An error thrown here is only printed; the exit code says it too.
      console.error(`\nTests left temporary directories behind (removed now; each test must remove its own): ${left.sort().join(', ')}\n`);
      process.exitCode = 1;
    }
  };
}
