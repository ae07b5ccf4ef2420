import { describe, expect, it } from 'vitest';
import type { Role } from '../../src/db/schema.js';
import { canSeeUser, ownProfileChangeRefusal, userAdminChangeRefusal, userListScope } from '../../src/modules/users/users.policy.js';

const person = (id: number, role: Role, extra: { timezone?: string; is_active?: boolean } = {}) => ({
  id,
  role,
  timezone: extra.timezone ?? 'UTC',
  is_active: extra.is_active ?? true,
});

describe('userListScope', () => {
  it.each([
    ['manager', { kind: 'role_or_self', role: 'developer', userId: 1 }],
    ['developer', { kind: 'self', userId: 1 }],
    ['auditor', { kind: 'all' }],
  ] as const)('gives a %s its list', (role, scope) => {
    expect(userListScope(person(1, role))).toEqual(scope);
  });
});

describe('canSeeUser', () => {
  it.each([
    ['manager', 'developer', true],
    ['manager', 'manager', false],
    ['manager', 'auditor', false],
    ['developer', 'developer', false],
    ['developer', 'manager', false],
    ['auditor', 'manager', true],
    ['auditor', 'developer', true],
  ] as const)('a %s sees another %s: %s', (actor, target, visible) => {
    expect(canSeeUser(person(1, actor), person(2, target))).toBe(visible);
  });

  it.each(['manager', 'developer', 'auditor'] as const)('a %s always sees themselves', (role) => {
    expect(canSeeUser(person(1, role), person(1, role))).toBe(true);
  });
});

describe('ownProfileChangeRefusal', () => {
  it('refuses a developer moving their own timezone', () => {
    expect(ownProfileChangeRefusal(person(1, 'developer'), { timezone: 'Asia/Tokyo' })).toMatch(/timezone/);
  });
  it('allows a developer sending their current timezone back', () => {
    expect(ownProfileChangeRefusal(person(1, 'developer', { timezone: 'Asia/Tokyo' }), { timezone: 'Asia/Tokyo' })).toBeNull();
  });
  it.each(['manager', 'auditor'] as const)('allows a %s to move their timezone', (role) => {
    expect(ownProfileChangeRefusal(person(1, role), { timezone: 'Asia/Tokyo' })).toBeNull();
  });
});

describe('userAdminChangeRefusal', () => {
  const manager = person(1, 'manager');
  it.each([
    ['a non-manager actor', person(5, 'auditor'), person(2, 'developer'), { role: 'manager' as const }, true],
    ['own role change', manager, manager, { role: 'developer' as const }, true],
    ['own role unchanged', manager, manager, { role: 'manager' as const }, false],
    ['self-deactivation', manager, manager, { is_active: false }, true],
    ["a developer's timezone", manager, person(2, 'developer'), { timezone: 'Asia/Tokyo' }, false],
    ["a manager's timezone", manager, person(2, 'manager'), { timezone: 'Asia/Tokyo' }, true],
    ["an auditor's timezone", manager, person(2, 'auditor'), { timezone: 'Asia/Tokyo' }, true],
    ["an auditor's unchanged timezone", manager, person(2, 'auditor'), { timezone: 'UTC' }, false],
    ['timezone of someone made a developer now', manager, person(2, 'auditor'), { role: 'developer' as const, timezone: 'Asia/Tokyo' }, false],
    ['timezone of a developer made an auditor now', manager, person(2, 'developer'), { role: 'auditor' as const, timezone: 'Asia/Tokyo' }, true],
    ["another manager's role", manager, person(2, 'manager'), { role: 'auditor' as const }, false],
    ['deactivating another user', manager, person(2, 'manager'), { is_active: false }, false],
  ])('%s → refused: %s', (_label, actor, target, change, refused) => {
    const reason = userAdminChangeRefusal(actor, target, change);
    if (refused) expect(typeof reason).toBe('string');
    else expect(reason).toBeNull();
  });
});
