// /api/tasks: list, create, read, update, delete, bulk status update, history, and the analytics
// alias. Handlers read schema → guard → load → authorize → act (tasks.service) → return.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../errors.js';
import { parseId } from '../../lib/ids.js';
import { currentUser } from '../../plugins/auth.js';
import { errorResponses } from '../../schemas/common.js';
import { analyticsRouteOptions } from '../analytics/analytics.routes.js';
import { listHistory } from './history.repository.js';
import { parseDateTime } from './task-input.js';
import { ETAG_HEADER_DOC, IfMatchHeadersSchema, parseIfMatch, taskETag, withETagHeader, withIfMatch } from './task-etag.js';
import { canSeeTask, TASK_NOT_FOUND, taskListScope } from './tasks.policy.js';
import {
  countTasks,
  findTaskRecord,
  findTaskRow,
  hydrateTasks,
  listTaskRows,
  type TaskFilters,
} from './tasks.repository.js';
import {
  BulkUpdateResultSchema,
  BulkUpdateSchema,
  TaskCreateSchema,
  TaskHistoryEntrySchema,
  TaskIdParamsSchema,
  TaskListQuerySchema,
  TaskPublicSchema,
  TaskUpdateSchema,
  type TaskListQuery,
} from './tasks.schemas.js';
import { bulkUpdateStatus, createTask, deleteTask, normalizeCreate, normalizeUpdate, updateTask } from './tasks.service.js';
import { wholeListLimits, wholeListSender } from './whole-list.js';

const TAGS = ['tasks'];
const security = [{ bearerAuth: [] }];

export function toFilters(query: TaskListQuery): TaskFilters {
  return {
    status: query.status,
    priority: query.priority,
    assignedTo: query.assigned_to,
    createdBy: query.created_by,
    tagId: query.tag,
    parentTask:
      query.parent_task === undefined ? undefined : query.parent_task === 'null' ? null : parseId(query.parent_task, ['query', 'parent_task']),
    search: query.search,
    deadlineBefore: query.deadline_before === undefined ? undefined : parseDateTime(query.deadline_before, ['query', 'deadline_before']),
    deadlineAfter: query.deadline_after === undefined ? undefined : parseDateTime(query.deadline_after, ['query', 'deadline_after']),
    overdue: query.overdue,
  };
}

export async function tasksRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const sendWholeList = wholeListSender(app);

  // Registered before "/:id" so that "analytics" is never read as an id.
  app.get('/analytics', analyticsRouteOptions(app, 'Task analytics (alias of /api/analytics)'));

  app.get(
    '',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'List tasks',
        description:
          'Tasks visible to the caller (developers: only their own), newest first unless `ordering` says otherwise. ' +
          'Filters combine with AND. Without `limit` the answer holds every matching task (as the original clients ' +
          'expect), read and written out in slices so that a large list neither fills memory nor holds up other ' +
          'requests; with `limit` (1–500) and `offset` it is one page. The total number of ' +
          'matching tasks is in the `X-Total-Count` header. A whole list is read from one snapshot of the data, of ' +
          `which a process has a few: while all are taken for ${wholeListLimits.waitMs / 1000} s the answer is a 503 ` +
          '(retry, or page); one user\'s whole lists take all snapshots but one at most, and more of theirs wait their turn ' +
          `as long (then 429); an answer whose client takes nothing of it for ${wholeListLimits.idleMs / 1000} s, or that takes over ` +
          `${wholeListLimits.maxMs / 60_000} minutes, is cut off.`,
        querystring: TaskListQuerySchema,
        response: {
          200: Type.Array(TaskPublicSchema, {
            description: 'A page of tasks; X-Total-Count carries the total',
            headers: { 'X-Total-Count': { type: 'integer', description: 'Number of tasks matching the filters, all pages' } },
          }),
          ...errorResponses(401, 403, 422, 429, 503),
        },
      },
      onRequest: app.requireUser,
    },
    async (request, reply) => {
      const user = currentUser(request);
      const filters = toFilters(request.query);
      const scope = taskListScope(user);
      const now = app.clock.now().toISOString();
      const ordering = request.query.ordering ?? '-created_at';
      const offset = request.query.offset ?? 0;
      if (request.query.limit === undefined) {
        return sendWholeList(reply, user.id, scope, filters, ordering, now, offset);
      }
      const page = { limit: request.query.limit, offset };
      const [total, rows] = await Promise.all([countTasks(app.db, scope, filters, now), listTaskRows(app.db, scope, filters, ordering, page, now)]);
      reply.header('x-total-count', String(total));
      return hydrateTasks(app.db, rows);
    },
  );

  app.post(
    '',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Create a task',
        description:
          'Managers create tasks for anyone; developers only for themselves and only during their working hours ' +
          `(${app.config.workHoursStart}–${app.config.workHoursEnd} in their timezone, WORK_HOURS_START/END) unless the ` +
          'priority is critical; auditors cannot create tasks. ' +
          '`assigned_to` defaults to the caller. Unknown assignee, parent or tags answer 404.',
        body: TaskCreateSchema,
        response: { 201: withETagHeader(TaskPublicSchema), ...errorResponses(401, 403, 404, 422) },
      },
      onRequest: app.requireUser,
    },
    async (request, reply) => {
      const input = normalizeCreate(request.body);
      const { result, notifications } = await createTask(app.db, currentUser(request), input, app.clock.now(), app.config);
      app.notifier.deliver(notifications);
      reply.header('etag', taskETag(result.task));
      return reply.status(201).send(result.task);
    },
  );

  app.post(
    '/bulk-update',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Set the status of many tasks',
        description:
          'All or nothing, in one transaction: if any task is missing or invisible (404) or may not be modified by ' +
          'the caller (403, e.g. a developer outside working hours for a non-critical task), nothing changes. ' +
          '`updated_count` counts the distinct tasks requested; history is written for those whose status changed.',
        body: BulkUpdateSchema,
        response: { 200: BulkUpdateResultSchema, ...errorResponses(401, 403, 404, 422) },
      },
      onRequest: app.requireUser,
    },
    async (request) => {
      const { result, notifications } = await bulkUpdateStatus(app.db, currentUser(request), request.body, app.clock.now(), app.config);
      app.notifier.deliver(notifications);
      const n = result.updatedCount;
      return { updated_count: n, detail: `${n} tasks updated successfully.` };
    },
  );

  app.get(
    '/:id',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Read a task',
        description: `A task the caller may not see answers 404. ${ETAG_HEADER_DOC}`,
        params: TaskIdParamsSchema,
        response: { 200: withETagHeader(TaskPublicSchema), ...errorResponses(401, 403, 404, 422) },
      },
      onRequest: app.requireUser,
    },
    async (request, reply) => {
      const row = await findTaskRow(app.db, request.params.id);
      if (!row || !canSeeTask(currentUser(request), row)) throw notFound(TASK_NOT_FOUND);
      const [task] = await hydrateTasks(app.db, [row]);
      if (task) reply.header('etag', taskETag(task));
      return task;
    },
  );

  app.patch(
    '/:id',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Update a task (partial)',
        description:
          'Only the fields sent change; `actual_hours`, `parent_task` and `description` accept null to clear. ' +
          'Developers may update only their own tasks, cannot change `assigned_to`, and are bound by working hours ' +
          'unless the task is currently critical. A parent that would make the task its own ancestor answers 422. ' +
          'With `If-Match` (an ETag from GET, or `*`) a task changed since answers 412 and nothing changes; a ' +
          'malformed If-Match answers 400. The response carries the new ETag.',
        params: TaskIdParamsSchema,
        body: TaskUpdateSchema,
        headers: IfMatchHeadersSchema,
        response: { 200: withETagHeader(TaskPublicSchema), ...errorResponses(400, 401, 403, 404, 412, 422) },
      },
      onRequest: app.requireUser,
    },
    async (request, reply) => {
      const input = normalizeUpdate(request.body);
      const ifMatch = parseIfMatch(request.headers['if-match']);
      const target = { taskId: request.params.id, lock: 'no key update' as const, reparents: input.parentTask != null };
      const { result, notifications } = await withIfMatch(app.db, ifMatch, target, (db) =>
        updateTask(db, currentUser(request), request.params.id, input, app.clock.now(), app.config),
      );
      app.notifier.deliver(notifications);
      reply.header('etag', taskETag(result.task));
      return result.task;
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Delete a task',
        description:
          'Subtasks of the deleted task remain, with `parent_task: null`. Same permissions as an update. With ' +
          '`If-Match` a task changed since answers 412 and nothing is deleted; a malformed If-Match answers 400.',
        params: TaskIdParamsSchema,
        headers: IfMatchHeadersSchema,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(400, 401, 403, 404, 412, 422) },
      },
      onRequest: app.requireUser,
    },
    async (request, reply) => {
      const ifMatch = parseIfMatch(request.headers['if-match']);
      await withIfMatch(app.db, ifMatch, { taskId: request.params.id, lock: 'update' }, (db) => deleteTask(db, currentUser(request), request.params.id, app.clock.now(), app.config));
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/:id/history',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'History of a task',
        description:
          'Oldest first. Actions: "created", "status_changed" (from/to set), "updated", "bulk_update", and the comment ' +
          'activity "comment_added", "comment_edited", "comment_deleted"; ' +
          '`changes` lists the changed field names.',
        params: TaskIdParamsSchema,
        response: { 200: Type.Array(TaskHistoryEntrySchema), ...errorResponses(401, 403, 404, 422) },
      },
      onRequest: app.requireUser,
    },
    async (request) => {
      const task = await findTaskRecord(app.db, request.params.id);
      if (!task || !canSeeTask(currentUser(request), task)) throw notFound(TASK_NOT_FOUND);
      return listHistory(app.db, task.id);
    },
  );
}
