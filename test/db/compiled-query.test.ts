// compiledOnce (db/compiled-query.ts): a query built and compiled once per database runs with each
// call's own values, arrays of any length included, on SQLite and on PostgreSQL (TEST_DATABASE_URL).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundedIdList, compiledOnce } from '../../src/db/compiled-query.js';
import { databaseUnavailableReason, type Database } from '../../src/db/database.js';
import { sql } from 'kysely';
import { createTestDatabase, testDatabaseUrl, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let db: Database;
const queries: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase({ onQuery: (sql) => queries.push(sql) });
  db = database.handle.db;
  await db
    .insertInto('tags')
    .values(['alpha', 'beta', 'gamma', 'delta'].map((name) => ({ name, created_at: '2026-01-01T00:00:00.000Z' })))
    .execute();
});
afterAll(() => database.cleanup());

const tagsNamedLike = compiledOnce((db, pattern: string, minimumId: number) =>
  db.selectFrom('tags').select(['tags.id', 'tags.name']).where('tags.name', 'like', pattern).where('tags.id', '>=', minimumId).orderBy('tags.id'),
);

const tagNamesById = compiledOnce((db, ids: readonly number[]) => db.selectFrom('tags').select('tags.name').where('tags.id', 'in', ids).orderBy('tags.name'));

async function tagIds(): Promise<Map<string, number>> {
  const rows = await db.selectFrom('tags').select(['tags.id', 'tags.name']).execute();
  return new Map(rows.map((row) => [row.name, row.id]));
}

describe('compiledOnce', () => {
  it('runs with the values of each call and keeps the constants Kysely put in the SQL', async () => {
    const ids = await tagIds();
    expect((await tagsNamedLike.execute(db, '%a', 0)).map((row) => row.name)).toEqual(['alpha', 'beta', 'gamma', 'delta']);
    expect((await tagsNamedLike.execute(db, 'g%', 0)).map((row) => row.name)).toEqual(['gamma']);
    expect(await tagsNamedLike.executeTakeFirst(db, '%a', ids.get('gamma') ?? 0)).toEqual({ id: ids.get('gamma'), name: 'gamma' });
    expect(await tagsNamedLike.executeTakeFirst(db, 'zeta', 0)).toBeUndefined();
  });

  it('compiles once per database: the SQL text is the same from call to call', async () => {
    queries.length = 0;
    await tagsNamedLike.execute(db, 'a%', 1);
    await tagsNamedLike.execute(db, 'b%', 2);
    expect(queries).toHaveLength(2);
    expect(queries[1]).toBe(queries[0]);
  });

  it('fills in every item of an array argument, whatever its length', async () => {
    const ids = await tagIds();
    const id = (name: string) => ids.get(name) ?? 0;
    expect(await tagNamesById.execute(db, [id('delta')])).toEqual([{ name: 'delta' }]);
    expect((await tagNamesById.execute(db, [id('gamma'), id('alpha'), id('beta')])).map((row) => row.name)).toEqual(['alpha', 'beta', 'gamma']);
    expect((await tagNamesById.execute(db, [id('beta'), id('delta')])).map((row) => row.name)).toEqual(['beta', 'delta']);
    expect(await tagNamesById.execute(db, [-1])).toEqual([]);
  });

  it('works inside a transaction, which sees its own writes', async () => {
    const names = await db.transaction().execute(async (trx) => {
      await trx.insertInto('tags').values({ name: 'epsilon', created_at: '2026-01-01T00:00:00.000Z' }).execute();
      return (await tagsNamedLike.execute(trx, 'eps%', 0)).map((row) => row.name);
    });
    expect(names).toEqual(['epsilon']);
  });

  it('run outside a transaction in progress, never sees its uncommitted writes', async () => {
    let readDuring: Promise<string[]> | undefined;
    const rolledBack = db.transaction().execute(async (trx) => {
      await trx.insertInto('tags').values({ name: 'zeta-uncommitted', created_at: '2026-01-01T00:00:00.000Z' }).execute();
      readDuring = tagsNamedLike.execute(db, 'zeta%', 0).then((rows) => rows.map((row) => row.name));
      // Give the read every chance to run while the transaction is still open.
      await new Promise((resolve) => setTimeout(resolve, 20));
      throw new Error('roll back');
    });
    await expect(rolledBack).rejects.toThrow('roll back');
    expect(await readDuring).toEqual([]);
    expect(await tagsNamedLike.execute(db, 'zeta%', 0)).toEqual([]);
  });

  it('reports a statement to onQuery once it ran, as Kysely does: a read that fails is not counted', async () => {
    const failing = compiledOnce((db, text: string) => ({
      compile: () => (testDatabaseUrl() === undefined ? sql<{ x: unknown }>`select json(${text}) as x` : sql<{ x: unknown }>`select cast(${text} as integer) as x`).compile(db),
    }));
    queries.length = 0;
    await expect(failing.execute(db, 'not a number, not JSON')).rejects.toThrow();
    expect(queries).toEqual([]);
    await tagsNamedLike.execute(db, 'a%', 0);
    expect(queries).toHaveLength(1);
  });

  it('refuses a build that does not pass an argument to the query', async () => {
    const ignoring = compiledOnce((db, _unused: number) => db.selectFrom('tags').select('tags.id'));
    await expect(ignoring.execute(db, 1)).rejects.toThrow(/0 of 1 arguments/);
  });
});

// Named prepared statements are a PostgreSQL matter (SQLite reuses every statement anyway). A pool
// of one connection makes pg_prepared_statements, which shows the session's own, that connection's.
describe.runIf(testDatabaseUrl() !== undefined)('DB_PREPARED_STATEMENTS on PostgreSQL', () => {
  async function preparedAfterCompiledQuery(preparedStatements: boolean): Promise<string[]> {
    const own = await createTestDatabase({ poolSize: 1, preparedStatements });
    try {
      await own.handle.db.insertInto('tags').values({ name: 'zeta', created_at: '2026-01-01T00:00:00.000Z' }).execute();
      expect((await tagsNamedLike.execute(own.handle.db, 'zet%', 0)).map((row) => row.name)).toEqual(['zeta']);
      const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(own.handle.db);
      return rows.map((row) => row.statement);
    } finally {
      await own.cleanup();
    }
  }

  it('runs a compiled query as a named prepared statement when on (the default)', async () => {
    expect((await preparedAfterCompiledQuery(true)).some((text) => text.includes('"tags"."name" like $1'))).toBe(true);
  });

  it('prepares nothing when turned off (a transaction-mode pooler)', async () => {
    expect(await preparedAfterCompiledQuery(false)).toEqual([]);
  });

  it('prepares a statement again after a migration changed its result type: at once outside a transaction, on the next run inside one', async () => {
    const own = await createTestDatabase({ poolSize: 1 });
    const changeNameType = (type: string) => sql`alter table tags alter column name type ${sql.raw(type)}`.execute(own.handle.db);
    const names = (runner: Database) => tagsNamedLike.execute(runner, 'zet%', 0).then((rows) => rows.map((row) => row.name));
    try {
      await own.handle.db.insertInto('tags').values({ name: 'zeta', created_at: '2026-01-01T00:00:00.000Z' }).execute();
      expect(await names(own.handle.db)).toEqual(['zeta']);
      await changeNameType('varchar(60)');
      expect(await names(own.handle.db)).toEqual(['zeta']);

      await changeNameType('varchar(70)');
      const failure = await own.handle.db
        .transaction()
        .execute((trx) => names(trx))
        .then(() => undefined, (error: unknown) => error);
      expect(databaseUnavailableReason(failure)).toBe('The database schema changed during the request; please retry');
      expect(await own.handle.db.transaction().execute((trx) => names(trx))).toEqual(['zeta']);
    } finally {
      await own.cleanup();
    }
  });
});


describe('boundedIdList', () => {
  it('rounds a list up to a multiple of 50 with its last id, so an in-list keeps its rows and few shapes exist', async () => {
    expect(boundedIdList([])).toEqual([]);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(boundedIdList(hundred)).toBe(hundred);
    const padded = boundedIdList([3, 1, 2]);
    expect(padded).toHaveLength(50);
    expect(new Set(padded)).toEqual(new Set([3, 1, 2]));
    expect(padded.slice(0, 3)).toEqual([3, 1, 2]);
    expect(new Set(Array.from({ length: 500 }, (_, n) => boundedIdList(Array.from({ length: n + 1 }, (_, i) => i)).length)).size).toBe(10);

    const ids = await tagIds();
    const some = [ids.get('gamma'), ids.get('alpha')] as number[];
    const before = queries.length;
    expect((await tagNamesById.execute(db, boundedIdList(some))).map((row) => row.name)).toEqual(['alpha', 'gamma']);
    expect((await tagNamesById.execute(db, some)).map((row) => row.name)).toEqual(['alpha', 'gamma']);
    expect(queries.length - before).toBe(2);
  });
});
