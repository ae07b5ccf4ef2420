// GET /api/tasks/export.csv: every task the list would show for the same filters, as a CSV file
// streamed from the database in id order, one keyset batch at a time (constant memory whatever
// the number of rows). Filters are validated, exactly as the list's, before the first byte goes out.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { attachment, csvStream, type CsvValue } from '../../lib/csv.js';
import { currentUser } from '../../plugins/auth.js';
import { errorResponses } from '../../schemas/common.js';
import { taskListScope } from './tasks.policy.js';
import { findTagNamesByTask, listTaskRowsAfter, type TaskRow } from './tasks.repository.js';
import { toFilters } from './tasks.routes.js';
import { TaskListQuerySchema } from './tasks.schemas.js';
import { formatHours, formatTimestamp } from './task-input.js';

/** Rows read from the database at a time. */
export const EXPORT_BATCH = 1000;

const HEADER = [
  'id',
  'title',
  'description',
  'status',
  'priority',
  'estimated_hours',
  'actual_hours',
  'deadline',
  'priority_escalated',
  'assigned_to',
  'assigned_to_user',
  'created_by',
  'created_by_user',
  'parent_task',
  'tags',
  'created_at',
  'updated_at',
];

type ExportRow = TaskRow & { tags: string[] };

const toCells = (row: ExportRow): CsvValue[] => [
  row.id,
  row.title,
  row.description ?? '',
  row.status,
  row.priority,
  formatHours(row.estimated_hours),
  row.actual_hours === null ? null : formatHours(row.actual_hours),
  formatTimestamp(row.deadline),
  Boolean(row.priority_escalated),
  row.assigned_to,
  row.assigned_to_user,
  row.created_by,
  row.created_by_user,
  row.parent_task_id,
  row.tags.join('; '),
  formatTimestamp(row.created_at),
  formatTimestamp(row.updated_at),
];

export const TaskExportQuerySchema = Type.Omit(TaskListQuerySchema, ['ordering', 'limit', 'offset']);

export const CSV_RESPONSE = (description: string) => ({
  description,
  content: { 'text/csv': { schema: { type: 'string' } } },
  headers: { 'Content-Disposition': { type: 'string', description: 'attachment; filename="…csv"' } },
});

export const CSV_CONTENT_TYPE = 'text/csv; charset=utf-8';

export async function tasksExportRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/export.csv',
    {
      schema: {
        tags: ['tasks'],
        security: [{ bearerAuth: [] }],
        summary: 'Export tasks as CSV',
        description:
          'Every task the list would show for the same filters (developers: only their own), in id order, as a CSV ' +
          'file (RFC 4180: a header row, CRLF line endings, quoted where needed; `tags` are tag names joined by "; "). ' +
          'Text cells starting with =, +, -, @, a tab or a CR get a leading apostrophe so that no spreadsheet runs them ' +
          'as formulas. Streamed from the database in batches, so any number of rows is fine. Invalid filters answer ' +
          '422 before anything is sent; `ordering`, `limit` and `offset` do not apply.',
        querystring: TaskExportQuerySchema,
        response: { 200: CSV_RESPONSE('The CSV file'), ...errorResponses(401, 403, 422) },
      },
      onRequest: app.requireUser,
    },
    async (request, reply) => {
      const filters = toFilters(request.query);
      const scope = taskListScope(currentUser(request));
      const now = app.clock.now().toISOString();
      const nextBatch = async (previous: ExportRow[] | undefined): Promise<ExportRow[]> => {
        if (previous !== undefined && previous.length < EXPORT_BATCH) return [];
        const rows = await listTaskRowsAfter(app.db, scope, filters, previous?.at(-1)?.id ?? 0, EXPORT_BATCH, now);
        const tags = await findTagNamesByTask(app.db, rows.map((row) => row.id));
        return rows.map((row) => ({ ...row, tags: tags.get(row.id) ?? [] }));
      };
      return reply
        .type(CSV_CONTENT_TYPE)
        .header('content-disposition', attachment(`tasks-${now.slice(0, 10)}.csv`))
        .send(csvStream(HEADER, nextBatch, toCells));
    },
  );
}
