// Conflict-safe edits (§12): a task's ETag and the If-Match precondition of PATCH and DELETE.
//
// The ETag is a strong validator: a hash of the task's whole JSON representation (tags, is_parent,
// usernames and updated_at included), so any change a client could see changes it, whatever
// column or table it came from. If-Match uses the strong comparison of RFC 9110 §8.8.3.2: a weak
// tag (W/"…") never matches; `*` matches any existing task.
//
// The precondition is checked inside the write's transaction, after the task row is locked, so two
// writers holding the same ETag cannot both pass. It is evaluated after the change itself (which
// the transaction then rolls back): 404, 403 and 422 answer exactly as without If-Match, and 412
// only when the write would otherwise have succeeded (RFC 9110 §13.2.1).
import { createHash } from 'node:crypto';
import { Type, type TSchema } from '@sinclair/typebox';
import type { Database } from '../../db/database.js';
import { lockRows, lockTaskHierarchy } from '../../db/locks.js';
import { AppError, badRequest } from '../../errors.js';
import { findTaskView } from './tasks.repository.js';
import type { TaskPublic } from './tasks.schemas.js';

export function taskETag(task: TaskPublic): string {
  return `"${createHash('sha256').update(JSON.stringify(task)).digest('base64url').slice(0, 27)}"`;
}

/** A parsed If-Match: any existing representation, or one of these strong tags (weak ones dropped). */
export type IfMatch = { any: true } | { any: false; tags: string[] };

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE ; etagc = %x21 / %x23-7E / obs-text
const ENTITY_TAG = /^(W\/)?("[\x21\x23-\x7e\x80-\xff]*")$/;

export const MALFORMED_IF_MATCH = 'Invalid If-Match header: expected "*" or a comma-separated list of quoted entity tags';

/**
 * The If-Match header, or undefined when absent. A value that is not `*` or a list of entity tags
 * is a 400: RFC 9110 gives no meaning to it, and answering 412 would tell the client to re-read
 * and retry, which can never help.
 */
export function parseIfMatch(header: string | string[] | undefined): IfMatch | undefined {
  if (header === undefined) return undefined;
  const text = (Array.isArray(header) ? header.join(',') : header).trim();
  if (text === '*') return { any: true };
  const items = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
  if (items.length === 0) throw badRequest(MALFORMED_IF_MATCH);
  const tags: string[] = [];
  for (const item of items) {
    const match = ENTITY_TAG.exec(item);
    if (!match) throw badRequest(MALFORMED_IF_MATCH);
    if (!match[1]) tags.push(match[2] ?? '');
  }
  return { any: false, tags };
}

export const STALE_TASK = 'The task has changed since you read it (If-Match does not match its current ETag); read it again and retry';

export interface ConditionalWrite {
  taskId: number;
  /** The row lock the write itself takes: `update` for a delete, `no key update` for an update. */
  lock: 'update' | 'no key update';
  /** True when the write takes the task hierarchy lock (re-parenting), which comes before row locks. */
  reparents?: boolean;
}

/**
 * Runs `write` under the If-Match precondition: without one exactly as before; with one in a
 * transaction that locks the task, reads its current ETag, lets `write` run (and throw its own
 * 404/403/422), and then answers 412 — rolling everything back — when the ETag did not match.
 */
export async function withIfMatch<T>(
  db: Database,
  ifMatch: IfMatch | undefined,
  target: ConditionalWrite,
  write: (trx: Database) => Promise<T>,
): Promise<T> {
  if (ifMatch === undefined) return write(db);
  return db.transaction().execute(async (trx) => {
    // The same lock order as the task service: the hierarchy first, then the row.
    if (target.reparents) await lockTaskHierarchy(trx);
    await lockRows(trx, 'tasks', [target.taskId], target.lock);
    const current = await findTaskView(trx, target.taskId);
    const result = await write(trx);
    const matches = current !== undefined && (ifMatch.any || ifMatch.tags.includes(taskETag(current)));
    if (!matches) throw new AppError(412, STALE_TASK);
    return result;
  });
}

export const ETAG_HEADER_DOC =
  'The response carries an `ETag` (a strong validator of the task as shown); send it back in `If-Match` on ' +
  'PATCH or DELETE to refuse (412) a write over a change made since.';

/** A response schema documented with the ETag header. */
export const withETagHeader = <T extends TSchema>(schema: T): T => ({
  ...schema,
  headers: { ETag: { type: 'string', description: 'Strong validator of this task representation' } },
});

/**
 * The If-Match request header, for the OpenAPI document. Its value is checked by parseIfMatch; the
 * pattern property keeps every other header as it is (validation would otherwise strip them).
 */
export const IfMatchHeadersSchema = Type.Object(
  {
    'if-match': Type.Optional(
      Type.String({
        maxLength: 1024,
        description: 'An ETag from GET /api/tasks/{id} (or `*`): the write happens only if the task is unchanged, else 412',
      }),
    ),
  },
  { patternProperties: { '^.*$': {} } },
);
