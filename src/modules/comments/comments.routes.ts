// /api/tasks/{id}/comments: a task's discussion (§12). Whoever sees the task reads and writes its
// comments (auditors read only); the author edits; the author or a manager deletes. A task or
// comment the caller may not see answers 404.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../errors.js';
import { currentUser } from '../../plugins/auth.js';
import { errorResponses } from '../../schemas/common.js';
import { canSeeTask, TASK_NOT_FOUND } from '../tasks/tasks.policy.js';
import { findTaskRecord } from '../tasks/tasks.repository.js';
import { countComments, listComments } from './comments.repository.js';
import {
  COMMENT_BODY_MAX,
  COMMENT_PAGE_DEFAULT,
  CommentListQuerySchema,
  CommentParamsSchema,
  CommentPublicSchema,
  CommentWriteSchema,
  TaskCommentsParamsSchema,
} from './comments.schemas.js';
import { addComment, editComment, removeComment } from './comments.service.js';

const TAGS = ['comments'];
const security = [{ bearerAuth: [] }];

export async function commentsRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/:id/comments',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Comments on a task',
        description:
          'Oldest first, for whoever sees the task (a task the caller may not see answers 404). Paged by `limit` ' +
          `(1–500, default ${COMMENT_PAGE_DEFAULT}) and \`offset\`; the total is in \`X-Total-Count\`.`,
        params: TaskCommentsParamsSchema,
        querystring: CommentListQuerySchema,
        response: {
          200: Type.Array(CommentPublicSchema, {
            headers: { 'X-Total-Count': { type: 'integer', description: 'Number of comments on the task' } },
          }),
          ...errorResponses(401, 403, 404, 422),
        },
      },
      onRequest: app.requireUser,
    },
    async (request, reply) => {
      const task = await findTaskRecord(app.db, request.params.id);
      if (!task || !canSeeTask(currentUser(request), task)) throw notFound(TASK_NOT_FOUND);
      const page = { limit: request.query.limit ?? COMMENT_PAGE_DEFAULT, offset: request.query.offset ?? 0 };
      const [total, comments] = await Promise.all([countComments(app.db, task.id), listComments(app.db, task.id, page)]);
      reply.header('x-total-count', String(total));
      return comments;
    },
  );

  app.post(
    '/:id/comments',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Comment on a task',
        description:
          `Anyone who sees the task except auditors (403). The body is 1–${COMMENT_BODY_MAX} characters, not blank. ` +
          'The assignee is notified (`comment_added`), and so is every `@username` mentioned who can see the task ' +
          '(`mentioned`; a mentioned assignee gets only that one); never the author. Mentions of unknown users, or of ' +
          'users who cannot see the task, are ignored. The task history records `comment_added`.',
        params: TaskCommentsParamsSchema,
        body: CommentWriteSchema,
        response: { 201: CommentPublicSchema, ...errorResponses(401, 403, 404, 422) },
      },
      onRequest: app.requireUser,
    },
    async (request, reply) => {
      const { result, notifications } = await addComment(app.db, currentUser(request), request.params.id, request.body.body, app.clock.now());
      app.notifier.deliver(notifications);
      return reply.status(201).send(result);
    },
  );

  app.patch(
    '/:id/comments/:cid',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Edit a comment',
        description:
          'The author only (403 otherwise). `created_at` stays; `updated_at` is set. Users newly mentioned by the ' +
          'edit are notified (`mentioned`); the task history records `comment_edited`.',
        params: CommentParamsSchema,
        body: CommentWriteSchema,
        response: { 200: CommentPublicSchema, ...errorResponses(401, 403, 404, 422) },
      },
      onRequest: app.requireUser,
    },
    async (request) => {
      const { id, cid } = request.params;
      const { result, notifications } = await editComment(app.db, currentUser(request), id, cid, request.body.body, app.clock.now());
      app.notifier.deliver(notifications);
      return result;
    },
  );

  app.delete(
    '/:id/comments/:cid',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Delete a comment',
        description: 'The author, or any manager (403 otherwise). The task history records `comment_deleted`.',
        params: CommentParamsSchema,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(401, 403, 404, 422) },
      },
      onRequest: app.requireUser,
    },
    async (request, reply) => {
      await removeComment(app.db, currentUser(request), request.params.id, request.params.cid, app.clock.now());
      return reply.status(204).send(null);
    },
  );
}
