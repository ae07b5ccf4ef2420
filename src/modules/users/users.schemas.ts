// Request and response shapes of /api/auth/users*. UserPublicSchema is the only way a user leaves
// the service: fields not declared here (hashed_password, last_login) can never be serialized.
import { Type, type Static } from '@sinclair/typebox';
import { DateTimeSchema, IdSchema, idParamsWithExample } from '../../schemas/common.js';
import type { CurrentUser } from './users.types.js';

export const RoleSchema = Type.Union([Type.Literal('manager'), Type.Literal('developer'), Type.Literal('auditor')], {
  description: 'manager | developer | auditor',
});

export const EmailSchema = Type.String({ format: 'email', minLength: 3, maxLength: 254, description: 'E-mail address (unique, case-insensitive)' });
export const PasswordSchema = Type.String({ minLength: 8, maxLength: 100, description: '8 to 100 characters' });
export const TimezoneSchema = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'IANA time-zone name or alias (UTC, Asia/Kolkata, Etc/GMT+5, US/Pacific …) in any letter case; stored in its official spelling',
});

export const UserPublicSchema = Type.Object(
  {
    id: IdSchema,
    username: Type.String(),
    email: Type.String(),
    role: RoleSchema,
    timezone: Type.String(),
    email_verified: Type.Boolean(),
    is_active: Type.Boolean(),
    created_at: DateTimeSchema,
  },
  { description: 'A user as every endpoint returns it' },
);
export type UserPublic = Static<typeof UserPublicSchema>;

export const UserUpdateMeSchema = Type.Object(
  {
    email: Type.Optional(EmailSchema),
    timezone: Type.Optional(TimezoneSchema),
    current_password: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Required with new_password' })),
    new_password: Type.Optional(PasswordSchema),
  },
  {
    description: 'Every field is optional; unknown fields are ignored.',
    // A new address waits for its verification e-mail; every role may ask for one.
    examples: [{ email: 'new.address@example.com' }],
  },
);
export type UserUpdateMe = Static<typeof UserUpdateMeSchema>;

export const UserAdminUpdateSchema = Type.Object(
  {
    role: Type.Optional(RoleSchema),
    is_active: Type.Optional(Type.Boolean({ description: 'false revokes every session of the user at once' })),
    timezone: Type.Optional(TimezoneSchema),
  },
  { description: 'Every field is optional; unknown fields are ignored.', examples: [{ role: 'developer', is_active: true }] },
);
export type UserAdminUpdate = Static<typeof UserAdminUpdateSchema>;

/** The demo developer (id 2 after `ctms seed-demo`) is the docs' example. */
export const UserIdParamsSchema = idParamsWithExample('User id', 2);

export function toUserPublic(user: CurrentUser): UserPublic {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    role: user.role,
    timezone: user.timezone,
    email_verified: user.email_verified,
    is_active: user.is_active,
    created_at: new Date(user.created_at).toISOString(),
  };
}
