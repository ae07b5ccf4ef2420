// Request and response shapes of /api/auth (registration, verification, login, tokens, sessions).
import { Type, type Static } from '@sinclair/typebox';
import { DateTimeSchema, IdSchema } from '../../schemas/common.js';
import { EmailSchema, PasswordSchema, TimezoneSchema } from '../users/users.schemas.js';

export const RegisterSchema = Type.Object({
  username: Type.String({
    minLength: 3,
    maxLength: 150,
    pattern: '^[A-Za-z0-9._@+-]+$',
    description: '3 to 150 letters, digits or . _ @ + - (unique, case-insensitive)',
  }),
  email: EmailSchema,
  password: PasswordSchema,
  timezone: Type.Optional(TimezoneSchema),
  invitation_token: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 256,
      description:
        "The token of a manager's invitation (POST /api/auth/invitations) for this e-mail address: the account is created " +
        'verified, and registration works even when REGISTRATION_ENABLED=false',
    }),
  ),
});
export type Register = Static<typeof RegisterSchema>;

export const RegisterResponseSchema = Type.Object({
  message: Type.String(),
  verification_token: Type.Optional(
    Type.String({ description: 'Only with the console e-mail backend outside production; otherwise the token is e-mailed' }),
  ),
});

export const VerifyEmailSchema = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 256, description: 'The token from the verification e-mail' }),
});

export const ResendVerificationSchema = Type.Object({ email: EmailSchema });

export const MessageResponseSchema = Type.Object({ message: Type.String() });

export const LoginSchema = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 254, description: 'Username or e-mail address (case-insensitive)' }),
  password: Type.String({ minLength: 1, maxLength: 100 }),
});
export type Login = Static<typeof LoginSchema>;

export const TokenResponseSchema = Type.Object({
  access: Type.String({ description: 'Access token (JWT) for the Authorization: Bearer header' }),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer({ description: 'Access token lifetime in seconds' }),
});

export const SessionPublicSchema = Type.Object({
  id: IdSchema,
  device_id: Type.String(),
  created_at: DateTimeSchema,
  last_used: DateTimeSchema,
  expires_at: DateTimeSchema,
  user_agent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean({ description: 'True for the session of the token making this request' }),
});
export type SessionPublic = Static<typeof SessionPublicSchema>;

export const PasswordResetRequestSchema = Type.Object(
  { email: EmailSchema },
  { description: 'The address of the account whose password was forgotten', examples: [{ email: 'alice@example.com' }] },
);

export const PasswordResetConfirmSchema = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 256, description: 'The token from the password reset e-mail' }),
    new_password: PasswordSchema,
  },
  { examples: [{ token: 'token-from-the-reset-email', new_password: 'N3w-passw0rd!' }] },
);
export type PasswordResetConfirm = Static<typeof PasswordResetConfirmSchema>;

export const InvitationCreateSchema = Type.Object(
  { email: EmailSchema },
  { description: 'The address to invite; it must not belong to an account yet', examples: [{ email: 'new.developer@example.com' }] },
);

export const InvitationPublicSchema = Type.Object({
  message: Type.String(),
  email: Type.String({ description: 'The invited address' }),
  expires_at: DateTimeSchema,
  invitation_token: Type.Optional(
    Type.String({ description: 'Only with the console e-mail backend outside production; otherwise the token is e-mailed' }),
  ),
});
