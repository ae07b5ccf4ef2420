// Changes to users: the caller's own profile (e-mail, timezone, password) and a manager's changes to
// another user (role, active flag, a developer's timezone). A password change revokes every other
// session of the user; deactivation revokes all of them, in the same transaction as the change.
import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import { badRequest, forbidden, invalid, notFound, unauthorized } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { hashPassword } from '../../lib/hash.js';
import type { Mailer } from '../../lib/mailer.js';
import { normalizeTimeZone } from '../../lib/timezone.js';
import { requestEmailChange } from '../auth/auth.service.js';
import { passwordMatches } from '../auth/passwords.js';
import { revokeUserSessions } from '../auth/sessions.repository.js';
import { canSeeUser, ownProfileChangeRefusal, userAdminChangeRefusal } from './users.policy.js';
import { findPasswordHash, findTakenIdentity, findUserById, updateUser, type UserChanges } from './users.repository.js';
import type { UserAdminUpdate, UserUpdateMe } from './users.schemas.js';
import type { CurrentUser } from './users.types.js';

export interface UsersDeps {
  db: Database;
  config: Config;
  clock: Clock;
  mailer: Mailer;
}

/** The timezone to store, in its accepted spelling; a 422 when it is not a zone. */
function checkedTimeZone(timezone: string | undefined): string | undefined {
  if (timezone === undefined) return undefined;
  const normalized = normalizeTimeZone(timezone);
  if (normalized === undefined) throw invalid(['body', 'timezone'], 'Unknown time zone; use an IANA name such as Europe/Paris');
  return normalized;
}

export async function updateOwnProfile(
  deps: UsersDeps,
  actor: CurrentUser,
  sessionId: number,
  request: UserUpdateMe,
): Promise<CurrentUser> {
  const { db } = deps;
  const input = { ...request, timezone: checkedTimeZone(request.timezone) };
  if (input.new_password !== undefined && input.current_password === undefined) {
    throw invalid(['body', 'current_password'], 'Field required to change the password', 'missing');
  }
  if (input.current_password !== undefined && input.new_password === undefined) {
    throw invalid(['body', 'new_password'], 'Field required with current_password', 'missing');
  }
  const refusal = ownProfileChangeRefusal(actor, input);
  if (refusal) throw forbidden(refusal);
  // A new address replaces the current one only once verified (requestEmailChange); the current
  // address in other letters is no new address and applies at once.
  const sameAddress = input.email !== undefined && input.email.toLowerCase() === actor.email.toLowerCase();
  const newEmail = sameAddress ? undefined : input.email;
  if (newEmail !== undefined && (await findTakenIdentity(db, { email: newEmail }, actor.id)).email) {
    throw badRequest('Email already registered');
  }

  const changes: UserChanges = { email: sameAddress ? input.email : undefined, timezone: input.timezone };
  if (input.new_password !== undefined && input.current_password !== undefined) {
    const stored = await findPasswordHash(db, actor.id);
    if (!stored || !(await passwordMatches(input.current_password, stored))) throw badRequest('Incorrect current password');
    changes.hashedPassword = await hashPassword(input.new_password, deps.config.bcryptRounds);
  }
  if (newEmail === undefined && Object.values(changes).every((v) => v === undefined)) return actor;

  const now = deps.clock.now();
  const { updated, mail } = await db.transaction().execute(async (trx) => {
    // The user's row is written first: that waits for (and then follows) any login holding the
    // row lock (lockUserForLogin), so the revocation below also covers a session that login made,
    // and a login starting later sees the new hash and is refused. The lock also orders this with
    // the user's other verification-token work (resend, verify).
    const user = await updateUser(trx, actor.id, changes, now.toISOString());
    if (!user) throw unauthorized();
    if (changes.hashedPassword !== undefined) await revokeUserSessions(trx, actor.id, now.toISOString(), 'password_changed', { exceptSessionId: sessionId });
    const message = newEmail === undefined ? undefined : await requestEmailChange(trx, deps.config, actor.id, newEmail, now);
    return { updated: user, mail: message };
  });
  if (mail) deps.mailer.deliver(mail);
  return updated;
}

export async function updateUserAsManager(
  deps: UsersDeps,
  actor: CurrentUser,
  targetId: number,
  request: UserAdminUpdate,
): Promise<CurrentUser> {
  const input = { ...request, timezone: checkedTimeZone(request.timezone) };
  const target = await findUserById(deps.db, targetId);
  // A user the manager cannot see (another manager, an auditor) does not exist for them.
  if (!target || !canSeeUser(actor, target)) throw notFound('User not found');
  const refusal = userAdminChangeRefusal(actor, target, input);
  if (refusal) throw forbidden(refusal);

  const now = deps.clock.now().toISOString();
  return deps.db.transaction().execute(async (trx) => {
    const updated = await updateUser(trx, targetId, { role: input.role, isActive: input.is_active, timezone: input.timezone }, now);
    if (!updated) throw notFound('User not found');
    if (input.is_active === false) await revokeUserSessions(trx, targetId, now, 'deactivated');
    return updated;
  });
}
