// Who may see and change which user: pure functions of the acting user and the target, so the
// rules are tested without an app. A rule that refuses answers with the reason (the 403 detail).
import type { Role } from '../../db/schema.js';
import type { UserListScope } from './users.repository.js';
import type { CurrentUser } from './users.types.js';

/** Rows GET /users shows: a manager sees developers and themselves, a developer themselves, an auditor everyone. */
export function userListScope(actor: Pick<CurrentUser, 'id' | 'role'>): UserListScope {
  switch (actor.role) {
    case 'auditor':
      return { kind: 'all' };
    case 'manager':
      return { kind: 'role_or_self', role: 'developer', userId: actor.id };
    case 'developer':
      return { kind: 'self', userId: actor.id };
  }
}

/** The same rule for one user: what the list would show. */
export function canSeeUser(actor: Pick<CurrentUser, 'id' | 'role'>, target: Pick<CurrentUser, 'id' | 'role'>): boolean {
  const scope = userListScope(actor);
  if (scope.kind === 'all') return true;
  if (target.id === actor.id) return true;
  return scope.kind === 'role_or_self' && target.role === scope.role;
}

export interface OwnProfileChange {
  timezone?: string;
}

/**
 * A developer's working hours are judged in their own timezone, so they cannot move it themselves.
 * Sending back the value they already have is not a change.
 */
export function ownProfileChangeRefusal(actor: Pick<CurrentUser, 'role' | 'timezone'>, change: OwnProfileChange): string | null {
  if (change.timezone !== undefined && change.timezone !== actor.timezone && actor.role === 'developer') {
    return 'Developers cannot change their own timezone; ask a manager';
  }
  return null;
}

export interface UserAdminChange {
  role?: Role;
  is_active?: boolean;
  timezone?: string;
}

/**
 * Rules for PATCH /users/{id} (the caller is already known to be a manager): a manager cannot change
 * their own role or deactivate themselves, and only a developer's timezone is set here (others set
 * their own through /users/me). The target's role after this change decides. Values equal to the
 * current ones are not changes.
 */
export function userAdminChangeRefusal(
  actor: Pick<CurrentUser, 'id' | 'role'>,
  target: Pick<CurrentUser, 'id' | 'role' | 'timezone' | 'is_active'>,
  change: UserAdminChange,
): string | null {
  if (actor.role !== 'manager') return 'Only managers can change other users';
  const self = actor.id === target.id;
  if (self && change.role !== undefined && change.role !== target.role) return 'You cannot change your own role';
  if (self && change.is_active === false && target.is_active) return 'You cannot deactivate your own account';
  const resultingRole = change.role ?? target.role;
  if (change.timezone !== undefined && change.timezone !== target.timezone && resultingRole !== 'developer') {
    return "Only a developer's timezone can be changed by a manager";
  }
  return null;
}
