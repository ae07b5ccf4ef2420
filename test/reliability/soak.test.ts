// The soak in CI: 60 seconds of the mixed workload of soak-runner.ts against the production build on
// this run's database (SQLite, or PostgreSQL with TEST_DATABASE_URL): no 5xx, no request left
// unanswered, no notification lost, memory that levels off. `npm run soak` runs it for 10 minutes.
// The memory rule itself is checked first on made-up series, so that it is known to catch a leak.
import { beforeAll, describe, expect, it } from 'vitest';
import { productionBuild, type ProductionBuild } from '../helpers/production-build.js';
import { formatReport, HEAP_TOLERANCE, judgeMemory, runSoak, type Point } from './soak-runner.js';

const MiB = 1024 * 1024;
const DURATION_MS = 60_000;
/** A series of `count` points over `durationMs`, the value at each point from `at(fraction of the run)`. */
const series = (count: number, durationMs: number, at: (fraction: number, i: number) => number): Point[] =>
  Array.from({ length: count }, (_, i) => ({ atMs: (i / (count - 1)) * durationMs, bytes: at(i / (count - 1), i) * MiB }));

describe('the memory rule', () => {
  it('accepts a flat series, and one that climbs during warm-up only', () => {
    expect(judgeMemory(series(60, 600_000, () => 40), 600_000, HEAP_TOLERANCE).ok).toBe(true);
    expect(judgeMemory(series(60, 600_000, (f) => (f < 0.2 ? 20 + 100 * f : 40)), 600_000, HEAP_TOLERANCE).ok).toBe(true);
  });

  it('accepts the sawtooth of a collector', () => {
    expect(judgeMemory(series(120, 600_000, (_f, i) => 40 + (i % 10)), 600_000, HEAP_TOLERANCE).ok).toBe(true);
  });

  it('refuses a steady leak of 3 MiB a minute over ten minutes', () => {
    const verdict = judgeMemory(series(60, 600_000, (f) => 40 + 30 * f), 600_000, HEAP_TOLERANCE);
    expect(verdict.ok).toBe(false);
    expect(verdict.secondHalfSlopeMiBPerMin).toBeCloseTo(3, 5);
  });

  it('refuses to judge a run with too few samples', () => {
    expect(judgeMemory(series(3, 600_000, () => 40), 600_000, HEAP_TOLERANCE)).toMatchObject({ ok: false, reason: 'too few memory samples to judge' });
  });
});

describe('soak against the production build', () => {
  let build: ProductionBuild;
  beforeAll(async () => {
    // Compiled (or found) before the clock starts.
    build = await productionBuild();
  }, 600_000);

  it('serves a minute of mixed traffic with no 5xx, no lost notification and level memory', async () => {
    const report = await runSoak({ durationMs: DURATION_MS, build });
    // The report goes to the CI log: statuses, notifications and memory over time.
    console.log(formatReport(report, 20));

    expect(report.serverErrors).toBe(0);
    expect(report.transportErrors).toBe(0);
    expect(report.unexpected).toEqual([]);
    expect(report.serverErrorLogs).toEqual([]);
    expect(report.exitCode).toBe(0);
    // Enough of each kind of traffic to mean something (on a busy two-core machine a minute gives a few hundred requests).
    expect(report.writes.creates).toBeGreaterThanOrEqual(10);
    expect(report.writes.bulk).toBeGreaterThanOrEqual(5);
    expect(report.writes.reassignments).toBeGreaterThanOrEqual(5);
    expect(report.logins).toBeGreaterThanOrEqual(5);
    expect(report.refreshes).toBeGreaterThanOrEqual(5);
    expect(report.sockets.shortLived).toBeGreaterThanOrEqual(5);
    // Nothing lost: every expected notification stored once, and received on a socket of its user.
    expect(report.notifications.expected).toBeGreaterThanOrEqual(50);
    expect(report.notifications).toMatchObject({ stored: report.notifications.expected, missing: 0, extra: 0, neverReceived: 0, misdelivered: 0, undeliveredRows: 0, lost: 0 });
    expect(report.sockets.unexpectedCloses).toEqual([]);
    expect(report.memory.heap.reason).toMatch(/≤/);
    expect(report.memory.rss.reason).toMatch(/≤/);
    expect(report.ok).toBe(true);
  }, 240_000);
});
