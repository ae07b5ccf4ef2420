// The SQLite statement cache (db/database.ts): Kysely's driver gets a statement compiled once per
// SQL text and reused, still binding JS booleans, and never a statement another query is iterating;
// rows come back as the same objects better-sqlite3 would build.
import SqliteDatabase from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachingStatements } from '../../src/db/database.js';

let raw: SqliteDatabase.Database;
let db: SqliteDatabase.Database;

beforeEach(() => {
  raw = new SqliteDatabase(':memory:');
  raw.exec('create table t (id integer primary key, flag integer not null)');
  db = cachingStatements(raw);
});
afterEach(() => raw.close());

describe('cachingStatements', () => {
  it('hands out the same statement for the same SQL, which runs again with new parameters', () => {
    const insert = db.prepare('insert into t (flag) values (?)');
    expect(db.prepare('insert into t (flag) values (?)')).toBe(insert);
    expect(insert.reader).toBe(false);
    insert.run([1]);
    insert.run([0]);
    const select = db.prepare('select id, flag from t where flag = ? order by id');
    expect(select.reader).toBe(true);
    expect(select.all([1])).toEqual([{ id: 1, flag: 1 }]);
    expect(db.prepare('select id, flag from t where flag = ? order by id').all([0])).toEqual([{ id: 2, flag: 0 }]);
  });

  it('binds JS booleans as 1 and 0, also in a reused statement', () => {
    const insert = db.prepare('insert into t (flag) values (?)');
    insert.run([true]);
    db.prepare('insert into t (flag) values (?)').run([false]);
    expect(raw.prepare('select flag from t order by id').all()).toEqual([{ flag: 1 }, { flag: 0 }]);
  });

  it('compiles a fresh statement while the cached one is still being iterated', () => {
    raw.exec('insert into t (flag) values (1), (1)');
    const source = 'select id from t where flag = ? order by id';
    const iterator = db.prepare(source).iterate([1]);
    expect(iterator.next().value).toEqual({ id: 1 });
    const other = db.prepare(source);
    expect(other.all([1])).toEqual([{ id: 1 }, { id: 2 }]);
    expect(iterator.next().value).toEqual({ id: 2 });
    iterator.return?.();
  });

  it('keeps a bounded number of statements, evicting the least recently used', () => {
    const first = db.prepare('select 0 as n');
    const kept = db.prepare('select 1 as n');
    for (let i = 2; i <= 500; i++) db.prepare(`select ${i} as n`);
    // "select 0" is now the least recently used; touching "select 1" keeps it.
    expect(db.prepare('select 1 as n')).toBe(kept);
    db.prepare('select 501 as n');
    expect(db.prepare('select 1 as n')).toBe(kept);
    const again = db.prepare('select 0 as n');
    expect(again).not.toBe(first);
    expect(again.all([])).toEqual([{ n: 0 }]);
  });

  it('sees a schema changed after a statement was cached', () => {
    const select = db.prepare('select * from t');
    raw.exec('alter table t add column note text');
    raw.exec("insert into t (flag, note) values (1, 'x')");
    expect(db.prepare('select * from t')).toBe(select);
    expect(select.all([])).toEqual([{ id: 1, flag: 1, note: 'x' }]);
  });

  it('returns rows as plain objects keyed by column name, the last of repeated names winning', () => {
    raw.exec("insert into t (flag) values (1), (0)");
    const rows = db.prepare('select id, flag as value, 7 as value, null as "odd name" from t order by id').all([]);
    expect(rows).toEqual([
      { id: 1, value: 7, 'odd name': null },
      { id: 2, value: 7, 'odd name': null },
    ]);
    expect(rows).toEqual(raw.prepare('select id, flag as value, 7 as value, null as "odd name" from t order by id').all());
    expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
    expect([...db.prepare('select id from t where flag = ?').iterate([false])]).toEqual([{ id: 2 }]);
  });

  it('builds a row with a column named __proto__ as better-sqlite3 does', () => {
    const source = 'select 1 as "__proto__", 2 as n';
    const [row] = db.prepare(source).all([]) as Record<string, unknown>[];
    const own = raw.prepare(source).get() as Record<string, unknown>;
    expect(row?.n).toBe(2);
    expect(Object.getPrototypeOf(row)).toBe(Object.getPrototypeOf(own));
    expect(Object.keys(row ?? {})).toEqual(Object.keys(own));
  });

  it('forgets every statement when a schema change goes through it', () => {
    const select = db.prepare('select * from t');
    db.prepare('alter table t add column note text').run([]);
    db.prepare("insert into t (flag, note) values (?, 'y')").run([true]);
    const again = db.prepare('select * from t');
    expect(again).not.toBe(select);
    expect(again.all([])).toEqual([{ id: 1, flag: 1, note: 'y' }]);
  });
});
