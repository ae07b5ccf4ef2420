// Request and response shapes of /api/auth (registration, verification, login, tokens, sessions).
import { Type, type Static } from '@sinclair/typebox';
import { DateTimeSchema, IdSchema } from '../../schemas/common.js';
import { EmailSchema, PasswordSchema, TimezoneSchema } from '../users/users.schemas.js';

export const RegisterSchema = Type.Object(
  {
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
  },
  {
    examples: [{ username: 'new_developer', email: 'new.developer@example.com', password: 'Str0ng-passw0rd!', timezone: 'Europe/Berlin' }],
  },
);
export type Register = Static<typeof RegisterSchema>;

export const RegisterResponseSchema = Type.Object({
  message: Type.String(),
  verification_token: Type.Optional(
    Type.String({ description: 'Only with the console e-mail backend outside production; otherwise the token is e-mailed' }),
  ),
});

export const VerifyEmailSchema = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 256, description: 'The token from the verification e-mail' }) },
  // The shape of a real token; use the one from your e-mail (or from the register answer in development).
  { examples: [{ token: 'kV3hQm9Tz0bX4nR7wC2yL8pA5sD1fG6jH0uE3iO9qWe' }] },
);

export const ResendVerificationSchema = Type.Object({ email: EmailSchema }, { examples: [{ email: 'new.developer@example.com' }] });

export const MessageResponseSchema = Type.Object({ message: Type.String() });

export const LoginSchema = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 254, description: 'Username or e-mail address (case-insensitive)' }),
    password: Type.String({ minLength: 1, maxLength: 100 }),
  },
  { examples: [{ username: 'demo_manager', password: 'DemoManager123!' }] },
);
export type Login = Static<typeof LoginSchema>;

/** The form of the OAuth2 password flow (RFC 6749 §4.3), as FastAPI's OAuth2PasswordRequestForm reads it. */
export const TokenFormSchema = Type.Object(
  {
    grant_type: Type.Optional(Type.Literal('password', { description: 'Optional; when sent it must be `password`' })),
    username: LoginSchema.properties.username,
    password: LoginSchema.properties.password,
    scope: Type.Optional(Type.String({ maxLength: 1000, description: 'Accepted and ignored: roles decide what a token may do' })),
    client_id: Type.Optional(Type.String({ maxLength: 256, description: 'Accepted and ignored' })),
    client_secret: Type.Optional(Type.String({ maxLength: 256, description: 'Accepted and ignored' })),
  },
  { examples: [{ grant_type: 'password', username: 'demo_manager', password: 'DemoManager123!' }] },
);

export const OAuthTokenResponseSchema = Type.Object({
  access_token: Type.String({ description: 'Access token (JWT) for the Authorization: Bearer header' }),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer({ description: 'Access token lifetime in seconds' }),
});

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
  { description: 'The address of the account whose password was forgotten', examples: [{ email: 'demo_dev@example.com' }] },
);

export const PasswordResetConfirmSchema = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 256, description: 'The token from the password reset e-mail' }),
    new_password: PasswordSchema,
  },
  // The shape of a real token; use the one from the reset e-mail.
  { examples: [{ token: 'Zp8rN2xK5vB0cQ7wE4tY1uI9oA3sD6fG2hJ5kL8mN0b', new_password: 'N3w-passw0rd!' }] },
);
export type PasswordResetConfirm = Static<typeof PasswordResetConfirmSchema>;

export const InvitationCreateSchema = Type.Object(
  { email: EmailSchema },
  { description: 'The address to invite; it must not belong to an account yet', examples: [{ email: 'invited.developer@example.com' }] },
);

export const InvitationPublicSchema = Type.Object({
  message: Type.String(),
  email: Type.String({ description: 'The invited address' }),
  expires_at: DateTimeSchema,
  invitation_token: Type.Optional(
    Type.String({ description: 'Only with the console e-mail backend outside production; otherwise the token is e-mailed' }),
  ),
});
