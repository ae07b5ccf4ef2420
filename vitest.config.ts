import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The reliability suites take minutes: `npm run test:reliability` (vitest.reliability.config.ts).
    exclude: [...configDefaults.exclude, 'test/reliability/**'],
    environment: 'node',
    // A temporary directory for the run; fails the run if a test leaves a ctms-* entry in it.
    globalSetup: ['test/temp-dir-check.ts'],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Each file gets its own database, so files can run side by side. Two at a time even on two
    // cores (Vitest's default would be one): many files mostly wait on sockets and processes.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
