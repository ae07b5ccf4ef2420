// SQLite's WAL file after writes made while a read snapshot was open (a whole list being written
// out): checkpoints cannot pass the snapshot, so the file grows; once it has ended and the log starts
// over, the file is cut back to SQLITE_WAL_SIZE_LIMIT_BYTES instead of keeping its size for good.
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLITE_WAL_SIZE_LIMIT_BYTES } from '../../src/db/database.js';
import { createTestDatabase, testDatabaseUrl, type TestDatabase } from '../helpers/database.js';

describe.skipIf(testDatabaseUrl() !== undefined)('the SQLite WAL file', () => {
  let t: TestDatabase;
  const walSize = () => statSync(`${t.url.replace(/^sqlite:\/\/\//, '')}-wal`).size;
  // Each audit row carries a large body, so a few hundred commits outgrow the limit.
  const writeAuditRows = async (count: number) => {
    const body = JSON.stringify({ text: 'x'.repeat(100_000) });
    for (let i = 0; i < count; i++) {
      await t.handle.db
        .insertInto('api_audit_logs')
        .values({ endpoint: '/api/tasks', method: 'POST', status_code: 201, request_body: body, duration_ms: 1, timestamp: new Date().toISOString() })
        .execute();
    }
  };

  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('grows while a snapshot is open and is cut back to the limit once the log starts over', async () => {
    const snapshot = await t.handle.openSnapshot();
    await snapshot.db.selectFrom('tasks').select('id').execute();
    await writeAuditRows(Math.ceil((1.5 * SQLITE_WAL_SIZE_LIMIT_BYTES) / 100_000));
    expect(walSize()).toBeGreaterThan(SQLITE_WAL_SIZE_LIMIT_BYTES);
    await snapshot.release();
    // The next commits checkpoint the whole log (no reader needs it now), then start it over.
    await writeAuditRows(3);
    expect(walSize()).toBeLessThanOrEqual(SQLITE_WAL_SIZE_LIMIT_BYTES);
    expect(Number((await t.handle.db.selectFrom('api_audit_logs').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst())?.n)).toBe(
      Math.ceil((1.5 * SQLITE_WAL_SIZE_LIMIT_BYTES) / 100_000) + 3,
    );
  });
});
