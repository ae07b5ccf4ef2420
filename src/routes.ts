// Every /api route module, registered under the /api prefix. Modules never register themselves.
import type { FastifyInstance } from 'fastify';
import { analyticsRoutes } from './modules/analytics/analytics.routes.js';
import { apiTokensRoutes } from './modules/api-tokens/api-tokens.routes.js';
import { auditExportRoutes } from './modules/audit/audit-export.routes.js';
import { auditRoutes } from './modules/audit/audit.routes.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { commentsRoutes } from './modules/comments/comments.routes.js';
import { notificationsRoutes } from './modules/notifications/notifications.routes.js';
import { tagsRoutes } from './modules/tags/tags.routes.js';
import { tasksExportRoutes } from './modules/tasks/tasks-export.routes.js';
import { tasksRoutes } from './modules/tasks/tasks.routes.js';
import { usersRoutes } from './modules/users/users.routes.js';
import { webhooksRoutes } from './modules/webhooks/webhooks.routes.js';

export async function apiRoutes(app: FastifyInstance): Promise<void> {
  await app.register(authRoutes, { prefix: '/auth' });
  await app.register(usersRoutes, { prefix: '/auth' });
  await app.register(apiTokensRoutes, { prefix: '/auth/tokens' });
  await app.register(tasksRoutes, { prefix: '/tasks' });
  await app.register(commentsRoutes, { prefix: '/tasks' });
  await app.register(tasksExportRoutes, { prefix: '/tasks' });
  await app.register(tagsRoutes, { prefix: '/tags' });
  await app.register(analyticsRoutes, { prefix: '/analytics' });
  await app.register(notificationsRoutes, { prefix: '/notifications' });
  await app.register(auditRoutes, { prefix: '/audit-logs' });
  await app.register(auditExportRoutes, { prefix: '/audit-logs' });
  await app.register(webhooksRoutes, { prefix: '/webhooks' });
}
