// A fresh, migrated database per test file: a temporary SQLite file by default, or a private
// PostgreSQL schema when TEST_DATABASE_URL is set (dropped again on cleanup).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createDatabase, type CreateDbOptions, type DatabaseHandle } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';

export interface TestDatabase {
  handle: DatabaseHandle;
  url: string;
  cleanup(): Promise<void>;
}

export const testDatabaseUrl = (): string | undefined => process.env.TEST_DATABASE_URL || undefined;

export async function createTestDatabase(options: CreateDbOptions & { migrate?: boolean } = {}): Promise<TestDatabase> {
  const pgUrl = testDatabaseUrl();
  let url: string;
  let dropStorage: () => Promise<void>;
  if (pgUrl) {
    const schema = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: pgUrl.replace(/^postgresql\+asyncpg:/, 'postgresql:') });
    await admin.connect();
    await admin.query(`create schema "${schema}"`);
    await admin.end();
    const separator = pgUrl.includes('?') ? '&' : '?';
    url = `${pgUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    dropStorage = async () => {
      const client = new pg.Client({ connectionString: pgUrl.replace(/^postgresql\+asyncpg:/, 'postgresql:') });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'ctms-test-'));
    url = `sqlite:///${join(dir, 'test.db')}`;
    dropStorage = async () => rmSync(dir, { recursive: true, force: true });
  }
  const handle = createDatabase(url, { poolSize: 5, ...options });
  if (options.migrate !== false) await migrateToLatest(handle.db);
  return {
    handle,
    url,
    cleanup: async () => {
      await handle.close();
      await dropStorage();
    },
  };
}
