// Builds the real application (buildApp) on a fresh database for one test file.
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDependencies } from '../../src/app.js';
import { testConfig, type Config } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface TestApp {
  app: FastifyInstance;
  db: Database;
  config: Config;
  database: TestDatabase;
  /** SQL of every query run since the last reset (for N+1 checks). */
  queries: string[];
  close(): Promise<void>;
}

export async function buildTestApp(overrides: Partial<Config> = {}, deps: Omit<AppDependencies, 'database'> = {}): Promise<TestApp> {
  const queries: string[] = [];
  const database = await createTestDatabase({ onQuery: (sql) => queries.push(sql) });
  const config = testConfig(overrides);
  const app = await buildApp(config, { ...deps, database: database.handle });
  await app.ready();
  return {
    app,
    db: database.handle.db,
    config,
    database,
    queries,
    close: async () => {
      await app.close();
      await database.cleanup();
    },
  };
}

/**
 * The queries a request ran, without the audit trail's batched inserts: those are written on a
 * timer, and one may land in the middle of any request a test measures.
 */
export const requestQueries = (queries: readonly string[]): string[] => queries.filter((sql) => !/\bapi_audit_logs\b/.test(sql));
