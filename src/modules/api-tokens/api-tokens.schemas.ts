// Personal API tokens (§12): what a user sees of their tokens, and what creating one takes.
import { Type, type Static } from '@sinclair/typebox';
import { DateTimeSchema } from '../../schemas/common.js';

export const API_TOKEN_SCOPES = ['read', 'write'] as const;

export const ApiTokenSchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  scope: Type.Union(
    API_TOKEN_SCOPES.map((scope) => Type.Literal(scope)),
    { description: '`read`: GET requests only; `write`: every request the user may make' },
  ),
  created_at: DateTimeSchema,
  last_used_at: Type.Union([DateTimeSchema, Type.Null()], { description: 'Last request made with it (to the minute), null if never used' }),
  expires_at: Type.Union([DateTimeSchema, Type.Null()], { description: 'Null: it never expires' }),
});
export type ApiToken = Static<typeof ApiTokenSchema>;

export const ApiTokenCreatedSchema = Type.Composite([
  ApiTokenSchema,
  Type.Object({
    token: Type.String({
      description: 'The token itself, shown this once: send it as `Authorization: Bearer <token>`. Only its hash is stored.',
    }),
  }),
]);

export const ApiTokenCreateSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, description: 'What the token is for, 1–100 characters, not blank' }),
    scope: Type.Union(
      API_TOKEN_SCOPES.map((scope) => Type.Literal(scope)),
      { description: '`read` (GET only) or `write`' },
    ),
    expires_at: Type.Optional(
      Type.Union([Type.String({ format: 'date-time', maxLength: 64 }), Type.Null()], {
        description: 'A future ISO 8601 instant; omitted or null: the token never expires',
      }),
    ),
  },
  { examples: [{ name: 'CI report script', scope: 'read', expires_at: null }] },
);
export type ApiTokenCreate = Static<typeof ApiTokenCreateSchema>;
