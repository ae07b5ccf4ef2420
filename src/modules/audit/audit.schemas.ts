// The audit log's list query and row (§8).
import { Type, type Static } from '@sinclair/typebox';
import { DateTimeSchema, IdSchema } from '../../schemas/common.js';

export const AUDIT_PAGE_MAX = 500;
export const AUDIT_PAGE_DEFAULT = 100;

export const AuditLogSchema = Type.Object({
  id: Type.Integer(),
  user_id: Type.Union([Type.Integer(), Type.Null()], { description: 'The authenticated caller, null for anonymous requests' }),
  endpoint: Type.String({ description: 'The request path, without the query string' }),
  method: Type.String(),
  status_code: Type.Integer(),
  request_body: Type.Unknown({ description: 'The JSON body with secrets redacted at any depth, or null' }),
  response_body: Type.Unknown({ description: 'The error body for 4xx/5xx responses (redacted), else null' }),
  ip: Type.Union([Type.String(), Type.Null()], { description: 'The client address (X-Forwarded-For only from a trusted proxy, see TRUST_PROXY)' }),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  duration_ms: Type.Number(),
  timestamp: DateTimeSchema,
  api_token_id: Type.Union([Type.Integer(), Type.Null()], {
    description: 'The personal API token the request was made with (GET /api/auth/tokens), null for a login session',
  }),
});
export type AuditLog = Static<typeof AuditLogSchema>;

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export const AuditLogQuerySchema = Type.Object({
  user_id: Type.Optional(IdSchema),
  method: Type.Optional(Type.Unsafe<string>({ type: 'string', enum: [...METHODS, ...METHODS.map((m) => m.toLowerCase())] })),
  status_code: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
  endpoint: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'Paths starting with this text' })),
  since: Type.Optional(Type.String({ maxLength: 64, description: 'At or after this ISO 8601 instant' })),
  until: Type.Optional(Type.String({ maxLength: 64, description: 'Before this ISO 8601 instant' })),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: AUDIT_PAGE_MAX, default: AUDIT_PAGE_DEFAULT, description: `Page size, 1–${AUDIT_PAGE_MAX} (default ${AUDIT_PAGE_DEFAULT})` }),
  ),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647, default: 0 })),
});
export type AuditLogQuery = Static<typeof AuditLogQuerySchema>;
