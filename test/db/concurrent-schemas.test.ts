// Migrating one PostgreSQL schema while others are created and dropped (as parallel test files,
// or several deployments sharing a database server, do) must not fail: the migrator looks at the
// connection's own schema only.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, testDatabaseUrl } from '../helpers/database.js';

const url = testDatabaseUrl();

describe.runIf(url)('migrations beside schemas that come and go', () => {
  it('succeed every time', async () => {
    let stop = false;
    const churn = (async () => {
      const client = new pg.Client({ connectionString: url!.replace(/^postgresql\+asyncpg:/, 'postgresql:') });
      await client.connect();
      for (let i = 0; !stop; i += 1) {
        const name = `churn_${process.pid}_${i}`;
        await client.query(`create schema "${name}"`);
        await client.query(`create table "${name}".t (id integer)`);
        await client.query(`drop schema "${name}" cascade`);
      }
      await client.end();
    })();
    const failures: string[] = [];
    try {
      for (let i = 0; i < 15; i += 1) {
        try {
          const database = await createTestDatabase();
          await database.cleanup();
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
        }
      }
    } finally {
      stop = true;
      await churn;
    }
    expect(failures).toEqual([]);
  }, 60_000);
});
