// GET /api/audit-logs/export.csv: the audit rows matching the list's filters, as a CSV file
// streamed from the database in id order (oldest first), one keyset batch at a time.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { attachment, csvStream, type CsvValue } from '../../lib/csv.js';
import { errorResponses } from '../../schemas/common.js';
import { formatTimestamp } from '../tasks/task-input.js';
import { CSV_CONTENT_TYPE, CSV_RESPONSE, EXPORT_BATCH } from '../tasks/tasks-export.routes.js';
import { listAuditRowsAfter } from './audit.repository.js';
import { toFilters } from './audit.routes.js';
import { AuditLogQuerySchema } from './audit.schemas.js';

type AuditRow = Awaited<ReturnType<typeof listAuditRowsAfter>>[number];

const HEADER = [
  'id',
  'timestamp',
  'user_id',
  'api_token_id',
  'method',
  'endpoint',
  'status_code',
  'duration_ms',
  'ip',
  'user_agent',
  'request_body',
  'response_body',
];

const toCells = (row: AuditRow): CsvValue[] => [
  row.id,
  formatTimestamp(row.timestamp),
  row.user_id,
  row.api_token_id,
  row.method,
  row.endpoint,
  row.status_code,
  Number(row.duration_ms),
  row.ip,
  row.user_agent,
  row.request_body,
  row.response_body,
];

export async function auditExportRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/export.csv',
    {
      schema: {
        tags: ['audit'],
        security: [{ bearerAuth: [] }],
        summary: 'Export the audit log as CSV',
        description:
          'Managers and auditors. The rows matching the list\'s filters, oldest first, as a CSV file (RFC 4180, CRLF, ' +
          'a header row; bodies as their redacted JSON text; formula-like cells neutralised with a leading apostrophe). ' +
          'Streamed from the database in batches. Invalid filters answer 422 before anything is sent; `limit` and ' +
          '`offset` do not apply.',
        querystring: Type.Omit(AuditLogQuerySchema, ['limit', 'offset']),
        response: { 200: CSV_RESPONSE('The CSV file'), ...errorResponses(401, 403, 422) },
      },
      onRequest: app.requireRole('manager', 'auditor'),
    },
    async (request, reply) => {
      const filters = toFilters(request.query);
      const nextBatch = async (previous: AuditRow[] | undefined): Promise<AuditRow[]> => {
        if (previous !== undefined && previous.length < EXPORT_BATCH) return [];
        return listAuditRowsAfter(app.db, filters, previous?.at(-1)?.id ?? 0, EXPORT_BATCH);
      };
      return reply
        .type(CSV_CONTENT_TYPE)
        .header('content-disposition', attachment(`audit-log-${app.clock.now().toISOString().slice(0, 10)}.csv`))
        .send(csvStream(HEADER, nextBatch, toCells));
    },
  );
}
