// GET /api/audit-logs: the audit trail (§8), for managers and auditors.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { errorResponses } from '../../schemas/common.js';
import { parseDateTime } from '../tasks/task-input.js';
import { countAuditLogs, listAuditLogs, type AuditFilters } from './audit.repository.js';
import { AUDIT_PAGE_DEFAULT, AuditLogQuerySchema, AuditLogSchema, type AuditLogQuery } from './audit.schemas.js';

export function toFilters(query: AuditLogQuery): AuditFilters {
  return {
    userId: query.user_id,
    method: query.method?.toUpperCase(),
    statusCode: query.status_code,
    endpoint: query.endpoint,
    since: query.since === undefined ? undefined : parseDateTime(query.since, ['query', 'since']),
    until: query.until === undefined ? undefined : parseDateTime(query.until, ['query', 'until']),
  };
}

export async function auditRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '',
    {
      schema: {
        tags: ['audit'],
        security: [{ bearerAuth: [] }],
        summary: 'The audit log',
        description:
          'Every /api request: who, what, the outcome, the redacted body (and the error body for failures), the ' +
          'client address and agent, the duration. Managers and auditors only. Newest first; filters combine with ' +
          '`AND` (`endpoint` matches a path prefix, `since` is inclusive, `until` exclusive); paged by `limit` ' +
          `(1–500, default ${AUDIT_PAGE_DEFAULT}) and \`offset\`, the total in \`X-Total-Count\`. Rows appear about a ` +
          'second after their request (they are written in batches) and are kept AUDIT_RETENTION_DAYS days.',
        querystring: AuditLogQuerySchema,
        response: {
          200: Type.Array(AuditLogSchema, {
            headers: { 'X-Total-Count': { type: 'integer', description: 'Number of matching rows, all pages' } },
          }),
          ...errorResponses(401, 403, 422),
        },
      },
      onRequest: app.requireRole('manager', 'auditor'),
    },
    async (request, reply) => {
      const filters = toFilters(request.query);
      const page = { limit: request.query.limit ?? AUDIT_PAGE_DEFAULT, offset: request.query.offset ?? 0 };
      const [total, rows] = await Promise.all([countAuditLogs(app.db, filters), listAuditLogs(app.db, filters, page)]);
      reply.header('x-total-count', String(total));
      return rows;
    },
  );
}
