// Shared schema primitives: one definition each, reused by every module's schemas.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const IdSchema = Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'Positive integer id' });

export const MAX_ID = 2_147_483_647;

/** An id in a JSON body: a number, or a numeric string such as "12" (as the original service took). */
export const IdInputSchema = (description = 'Positive integer id (a number or a numeric string)') =>
  Type.Union([IdSchema, Type.String({ pattern: '^[1-9][0-9]{0,9}$', maxLength: 10 })], { description });
export type IdInput = number | string;

export const IdParamsSchema = Type.Object({ id: IdSchema });
export type IdParams = Static<typeof IdParamsSchema>;

/** `{id}` of one kind of resource, with an id the demo data holds (`ctms seed-demo`) as the docs' example. */
export const idParamsWithExample = (description: string, example: number) =>
  Type.Object({ id: Type.Integer({ minimum: 1, maximum: MAX_ID, description, examples: [example] }) });

export const DateTimeSchema = Type.String({ format: 'date-time', description: 'ISO 8601, UTC, with a Z suffix' });

export const ErrorSchema = Type.Object(
  { detail: Type.String() },
  { $id: 'Error', description: 'Every error body: a human-readable string detail' },
);

export const ValidationErrorSchema = Type.Object(
  {
    detail: Type.String({ description: 'One-line summary' }),
    errors: Type.Array(
      Type.Object({
        loc: Type.Array(Type.Union([Type.String(), Type.Integer()])),
        msg: Type.String(),
        type: Type.String(),
      }),
    ),
  },
  { $id: 'ValidationError' },
);

export const MessageSchema = Type.Object({ detail: Type.String() });

/** The 503 of a database that is down, full or too slow (errors.ts `serviceUnavailable`): any route that touches it. */
export const ServiceUnavailableResponseSchema = Type.Ref(ErrorSchema, {
  description: 'The database is unavailable, full or too slow to answer; retry after the Retry-After header\'s seconds',
  headers: { 'Retry-After': { type: 'integer', description: 'Seconds to wait before retrying' } },
});

/** Standard error responses to spread into a route's `response` map. */
export const errorResponses = (...codes: number[]): Record<number, TSchema> => {
  const out: Record<number, TSchema> = {};
  for (const code of codes) {
    out[code] = code === 422 ? Type.Ref(ValidationErrorSchema) : code === 503 ? ServiceUnavailableResponseSchema : Type.Ref(ErrorSchema);
  }
  return out;
};
