// Reading the audit log: filters in SQL, newest first, counted without loading rows.
import { sql } from 'kysely';
import type { Database } from '../../db/database.js';
import type { AuditLog } from './audit.schemas.js';

export interface AuditFilters {
  userId?: number;
  method?: string;
  statusCode?: number;
  /** Path prefix. */
  endpoint?: string;
  /** ISO instants: since inclusive, until exclusive. */
  since?: string;
  until?: string;
}

function filtered(db: Database, f: AuditFilters) {
  let q = db.selectFrom('api_audit_logs');
  if (f.userId !== undefined) q = q.where('user_id', '=', f.userId);
  if (f.method !== undefined) q = q.where('method', '=', f.method);
  if (f.statusCode !== undefined) q = q.where('status_code', '=', f.statusCode);
  if (f.endpoint !== undefined) {
    // A case-sensitive prefix match in both dialects (SQLite's LIKE ignores ASCII case).
    q = q.where(sql<boolean>`substr(endpoint, 1, ${f.endpoint.length}) = ${f.endpoint}`);
  }
  if (f.since !== undefined) q = q.where('timestamp', '>=', f.since);
  if (f.until !== undefined) q = q.where('timestamp', '<', f.until);
  return q;
}

export async function countAuditLogs(db: Database, filters: AuditFilters): Promise<number> {
  const row = await filtered(db, filters)
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** One batch of matching rows after row `afterId`, in id order, bodies as stored (keyset pagination for exports). */
export async function listAuditRowsAfter(db: Database, filters: AuditFilters, afterId: number, limit: number) {
  return filtered(db, filters)
    .select(['id', 'timestamp', 'user_id', 'api_token_id', 'method', 'endpoint', 'status_code', 'duration_ms', 'ip', 'user_agent', 'request_body', 'response_body'])
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit)
    .execute();
}

const parseStored = (text: string | null): unknown => {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
};

export async function listAuditLogs(db: Database, filters: AuditFilters, page: { limit: number; offset: number }): Promise<AuditLog[]> {
  const rows = await filtered(db, filters)
    .select(['id', 'user_id', 'endpoint', 'method', 'status_code', 'request_body', 'response_body', 'ip', 'user_agent', 'duration_ms', 'timestamp', 'api_token_id'])
    .orderBy('timestamp', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  return rows.map((row) => ({
    ...row,
    duration_ms: Number(row.duration_ms),
    request_body: parseStored(row.request_body),
    response_body: parseStored(row.response_body),
  }));
}
