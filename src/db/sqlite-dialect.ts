// Kysely's SQLite dialect as every connection of the service uses it (the main one, database.ts, and
// the read snapshots', read-snapshot.ts).
import { SqliteDialect, SqliteQueryCompiler, type QueryCompiler } from 'kysely';

/**
 * SQLite's SQL with every parameter written `+?` instead of `?`: the same value (unary plus changes
 * neither the value nor its affinity, and an index is used for `column = +?` and `column in (+?, …)`
 * as for a bare `?`), but not one the planner looks at. better-sqlite3 is built with
 * SQLITE_ENABLE_STAT4: once a database has been analysed (sqlite_stat4 holds samples; the bench runs
 * `analyze`, an operator or `PRAGMA optimize` may), the planner estimates a constraint of an indexed
 * column on a bare parameter from the value bound to it, and so marks the statement to be compiled
 * again whenever that parameter is bound anew — which better-sqlite3 does on every run. Every
 * cached statement comparing an indexed column with a parameter (a page's tags and "has subtasks",
 * the notifications' count, …) was then compiled afresh on every request. So is, analysed or not,
 * every statement with `limit ?` (SQLite 3.53 plans with the bound limit: each page of tasks or
 * notifications) or `text_column like ?` (the LIKE prefix optimisation looks at the pattern). With
 * `+?` each statement is planned once, from the indexes and sqlite_stat1 only, and kept: what
 * SQLite's query planner stability guarantee (SQLITE_DBCONFIG_ENABLE_QPSG, which better-sqlite3
 * cannot set) does. The price: no plan chosen for a particular value (a skewed column's rare value),
 * and LIKE on a plain text column with a parameter pattern never becomes an index range scan.
 */
export class UnprobedParametersCompiler extends SqliteQueryCompiler {
  protected override getCurrentParameterPlaceholder(): string {
    return '+?';
  }
}

/** Kysely's SQLite dialect, compiling with UnprobedParametersCompiler. */
export class UnprobedSqliteDialect extends SqliteDialect {
  override createQueryCompiler(): QueryCompiler {
    return new UnprobedParametersCompiler();
  }
}
