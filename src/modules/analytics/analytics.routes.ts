// /api/analytics (also served as /api/tasks/analytics by the tasks routes, with the same options).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, RouteShorthandOptionsWithHandler } from 'fastify';
import { currentUser } from '../../plugins/auth.js';
import { errorResponses } from '../../schemas/common.js';
import { getAnalytics } from './analytics.service.js';

const TaskCountsSchema = Type.Object({
  total: Type.Integer(),
  completed: Type.Integer(),
  pending: Type.Integer(),
  in_progress: Type.Integer(),
  blocked: Type.Integer(),
  overdue: Type.Integer({ description: 'Deadline in the past and not completed' }),
});

export const AnalyticsSchema = Type.Object({
  my_tasks: TaskCountsSchema,
  team_tasks: TaskCountsSchema,
  efficiency_score: Type.Number({
    description:
      'Over the caller\'s tasks: 0.6 × completion rate + 0.4 × time efficiency (min(Σestimated/Σactual × 100, 100) over ' +
      'completed tasks with actual hours > 0); the completion rate alone when no such task exists; 0 without tasks. 2 decimals.',
  }),
});

/** Route options (schema, guard, handler) shared by /api/analytics and /api/tasks/analytics. */
export function analyticsRouteOptions(app: FastifyInstance, summary: string): RouteShorthandOptionsWithHandler {
  return {
    schema: {
      tags: ['analytics'],
      security: [{ bearerAuth: [] }],
      summary,
      description:
        '`my_tasks` counts the tasks assigned to the caller; `team_tasks` covers all tasks for managers and auditors ' +
        'and equals `my_tasks` for developers.',
      response: { 200: AnalyticsSchema, ...errorResponses(401, 403) },
    },
    onRequest: app.requireUser,
    handler: async (request) => getAnalytics(app.db, currentUser(request), app.clock.now()),
  };
}

export async function analyticsRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get('', analyticsRouteOptions(app, 'Task analytics'));
}
