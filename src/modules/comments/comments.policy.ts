// Who may write, edit and delete comments, as pure functions. Seeing a task's comments is seeing
// the task (tasks.policy canSeeTask); this file adds the rules for writing.
import type { Decision } from '../tasks/tasks.policy.js';
import type { Actor } from '../tasks/tasks.policy.js';

const ALLOW: Decision = { ok: true };

/** Everyone who sees a task may comment on it, except auditors (read-only everywhere). */
export function checkCanComment(actor: Actor): Decision {
  return actor.role === 'auditor' ? { ok: false, status: 403, detail: 'Auditors cannot write comments' } : ALLOW;
}

/** Only the author edits a comment. */
export function checkEditComment(actor: Actor, comment: { user_id: number }): Decision {
  return comment.user_id === actor.id ? ALLOW : { ok: false, status: 403, detail: 'Only the author can edit a comment' };
}

/** The author deletes their comment; a manager deletes any. */
export function checkDeleteComment(actor: Actor, comment: { user_id: number }): Decision {
  if (comment.user_id === actor.id || actor.role === 'manager') return ALLOW;
  return { ok: false, status: 403, detail: 'Only the author or a manager can delete a comment' };
}
