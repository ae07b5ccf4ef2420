// Queries that Kysely builds and compiles once per database and then runs with new parameter
// values: for the few statements every request runs (the session check, a task by id, a page's
// tags), building and compiling anew cost a noticeable share of the request's CPU.
import type { Compilable, CompiledQuery } from 'kysely';
import { prepareOnPostgres, readDirectly, type Database } from './database.js';

/** Stands for one argument (or one item of an array argument) while the query is built. */
class Slot {
  constructor(
    readonly arg: number,
    readonly item = -1,
  ) {}
}

interface Template {
  compiled: CompiledQuery;
  /** Per parameter of the compiled SQL: the slot to fill in, or a constant Kysely put there. */
  sources: unknown[];
}

/**
 * What a template is kept under: the database's adapter, which its transactions share (Kysely gives
 * a transaction its database's adapter and query compiler, and compiled SQL depends on nothing
 * else), so a whole list's snapshot transaction (PostgreSQL) does not compile its statements anew.
 * A database with plugins (which may rewrite queries) keeps templates of its own.
 */
function templateKey(db: Database): object {
  const executor = db.getExecutor();
  return executor.plugins.length === 0 ? executor.adapter : db;
}

/** Templates kept per database for array arguments of different lengths (one per page size in practice). */
const MAX_SHAPES = 64;

/** The step by which boundedIdList rounds a list's length up. */
const ID_LIST_STEP = 50;

/**
 * `ids` for an `in (…)` list of a statement compiled once, its length rounded up to a multiple of
 * 50 by repeating the last id (a repeated id changes no `in` result): a statement is compiled, and
 * on PostgreSQL prepared on every connection, once per length, so lists of every length from 1 to
 * 500 (the last slice of each whole list, a developer's page) would make hundreds of them and fill
 * prepareOnPostgres' slots. Pages of 50, 100 or 500 ids are left as they are.
 */
export function boundedIdList(ids: readonly number[]): readonly number[] {
  const length = Math.ceil(ids.length / ID_LIST_STEP) * ID_LIST_STEP;
  if (length === ids.length || ids.length === 0) return ids;
  const last = ids[ids.length - 1] as number;
  return [...ids, ...Array.from({ length: length - ids.length }, () => last)];
}

export interface CompiledOnce<A extends unknown[], R> {
  execute(db: Database, ...args: A): Promise<R[]>;
  executeTakeFirst(db: Database, ...args: A): Promise<R | undefined>;
}

/**
 * A query whose SQL depends only on the number of items of its array arguments. `build` must pass
 * its arguments to the query builder as values and never look at them: it is called with
 * placeholders, once per database and arity, and the compiled SQL is reused with the real values.
 * A transaction shares its database's templates (see templateKey).
 */
export function compiledOnce<A extends Array<string | number | readonly number[]>, R>(
  build: (db: Database, ...args: A) => Compilable<R>,
): CompiledOnce<A, R> {
  const templates = new WeakMap<object, Map<string, Template>>();

  const templateFor = (db: Database, args: A): Template => {
    const shape = args.map((arg) => (Array.isArray(arg) ? arg.length : '')).join();
    const key = templateKey(db);
    let byShape = templates.get(key);
    if (!byShape) templates.set(key, (byShape = new Map()));
    const known = byShape.get(shape);
    if (known) return known;
    const slots = args.map((arg, i) => (Array.isArray(arg) ? arg.map((_, k) => new Slot(i, k)) : new Slot(i)));
    const compiled = build(db, ...(slots as unknown as A)).compile();
    const used = new Set(compiled.parameters.filter((p) => p instanceof Slot));
    if (used.size !== slots.flat().length) throw new Error(`compiledOnce: ${used.size} of ${slots.flat().length} arguments reached the SQL: ${compiled.sql}`);
    prepareOnPostgres(compiled.sql);
    const template = { compiled, sources: [...compiled.parameters] };
    if (byShape.size >= MAX_SHAPES) byShape.clear();
    byShape.set(shape, template);
    return template;
  };

  const execute = async (db: Database, ...args: A): Promise<R[]> => {
    const { compiled, sources } = templateFor(db, args);
    const parameters = sources.map((source) => {
      if (!(source instanceof Slot)) return source;
      const arg = args[source.arg];
      return source.item < 0 ? arg : (arg as readonly number[])[source.item];
    });
    const query = { ...compiled, parameters } as CompiledQuery<R>;
    const rows = readDirectly(db, query) as R[] | Promise<R[]> | undefined;
    return rows ?? (await db.executeQuery<R>(query)).rows;
  };

  return {
    execute,
    executeTakeFirst: async (db, ...args) => (await execute(db, ...args))[0],
  };
}
