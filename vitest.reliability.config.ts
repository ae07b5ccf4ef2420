// `npm run test:reliability`: the reliability suites (test/reliability) — real server processes under
// concurrency, crashes, dependency faults and a soak — kept out of `npm test` because they take
// minutes. One file at a time: each already runs several processes on a two-core machine.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    environment: 'node',
    // A temporary directory for the run; fails the run if a test leaves a ctms-* entry in it.
    globalSetup: ['test/temp-dir-check.ts'],
    pool: 'forks',
    testTimeout: 180_000,
    // The first file may compile the production build.
    hookTimeout: 600_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
});
