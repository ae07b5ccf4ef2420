// Column types per dialect, so each migration states its intent once.
import { PostgresAdapter, sql, type ColumnDataType, type Expression, type Kysely } from 'kysely';

export interface ColumnKinds {
  isPostgres: boolean;
  /** Auto-incrementing integer primary key type. */
  id: ColumnDataType | Expression<unknown>;
  timestamp: ColumnDataType | Expression<unknown>;
  boolean: ColumnDataType | Expression<unknown>;
  /** Exact hours with two decimals. */
  hours: ColumnDataType | Expression<unknown>;
  json: ColumnDataType | Expression<unknown>;
}

export function columnKinds(db: Kysely<unknown>): ColumnKinds {
  const isPostgres = db.getExecutor().adapter instanceof PostgresAdapter;
  return isPostgres
    ? { isPostgres, id: 'serial', timestamp: 'timestamptz', boolean: 'boolean', hours: sql`numeric(6,2)`, json: 'text' }
    : { isPostgres, id: 'integer', timestamp: 'text', boolean: 'integer', hours: 'real', json: 'text' };
}

export const falseDefault = (kinds: ColumnKinds) => (kinds.isPostgres ? sql`false` : sql`0`);
export const trueDefault = (kinds: ColumnKinds) => (kinds.isPostgres ? sql`true` : sql`1`);
