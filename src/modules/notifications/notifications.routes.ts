// /api/notifications: the caller's own notifications (§7). Every route is scoped to the caller: a
// notification of someone else answers 404, exactly like one that does not exist.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../errors.js';
import { currentUser } from '../../plugins/auth.js';
import { errorResponses, IdParamsSchema, MessageSchema } from '../../schemas/common.js';
import {
  countNotifications,
  findNotification,
  listNotifications,
  markAllNotificationsRead,
  markNotificationRead,
} from './notifications.repository.js';
import {
  MarkAllReadResultSchema,
  NOTIFICATION_PAGE_DEFAULT,
  NotificationListQuerySchema,
  NotificationPublicSchema,
  UnreadCountSchema,
} from './notifications.schemas.js';

const TAGS = ['notifications'];
const security = [{ bearerAuth: [] }];
const NOTIFICATION_NOT_FOUND = 'Notification not found';

export async function notificationsRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'My notifications',
        description:
          'The caller\'s notifications, newest first. `unread=true` keeps the unread ones; paged by `limit` ' +
          `(1–500, default ${NOTIFICATION_PAGE_DEFAULT}) and \`offset\`; the total is in \`X-Total-Count\`.`,
        querystring: NotificationListQuerySchema,
        response: {
          200: Type.Array(NotificationPublicSchema, {
            headers: { 'X-Total-Count': { type: 'integer', description: 'Number of matching notifications, all pages' } },
          }),
          ...errorResponses(401, 403, 422),
        },
      },
      onRequest: app.requireUser,
    },
    async (request, reply) => {
      const userId = currentUser(request).id;
      const unreadOnly = request.query.unread === true;
      const [total, page] = await Promise.all([
        countNotifications(app.db, userId, { unreadOnly }),
        listNotifications(app.db, userId, {
          unreadOnly,
          limit: request.query.limit ?? NOTIFICATION_PAGE_DEFAULT,
          offset: request.query.offset ?? 0,
        }),
      ]);
      reply.header('x-total-count', String(total));
      return page;
    },
  );

  app.get(
    '/unread_count',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'How many of my notifications are unread',
        response: { 200: UnreadCountSchema, ...errorResponses(401, 403) },
      },
      onRequest: app.requireUser,
    },
    async (request) => ({ count: await countNotifications(app.db, currentUser(request).id, { unreadOnly: true }) }),
  );

  app.post(
    '/mark_all_read',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Mark all my notifications read',
        description:
          'Takes no body: any body is ignored, whatever its Content-Type (a malformed Content-Type header is a 415). ' +
          '`updated_count` counts those that were unread.',
        response: { 200: MarkAllReadResultSchema, ...errorResponses(401, 403) },
      },
      onRequest: app.requireUser,
    },
    async (request) => {
      const updated = await markAllNotificationsRead(app.db, currentUser(request).id);
      return { detail: `${updated} notifications marked as read`, updated_count: updated };
    },
  );

  app.get(
    '/:id',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'One of my notifications',
        description: 'Another user\'s notification answers 404.',
        params: IdParamsSchema,
        response: { 200: NotificationPublicSchema, ...errorResponses(401, 403, 404, 422) },
      },
      onRequest: app.requireUser,
    },
    async (request) => {
      const notification = await findNotification(app.db, currentUser(request).id, request.params.id);
      if (!notification) throw notFound(NOTIFICATION_NOT_FOUND);
      return notification;
    },
  );

  app.post(
    '/:id/mark_read',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Mark one of my notifications read',
        description:
          'Takes no body: any body is ignored, whatever its Content-Type (a malformed Content-Type header is a 415). ' +
          'Marking a read notification again is fine.',
        params: IdParamsSchema,
        response: { 200: MessageSchema, ...errorResponses(401, 403, 404, 422) },
      },
      onRequest: app.requireUser,
    },
    async (request) => {
      if (!(await markNotificationRead(app.db, currentUser(request).id, request.params.id))) throw notFound(NOTIFICATION_NOT_FOUND);
      return { detail: 'Notification marked as read' };
    },
  );
}
