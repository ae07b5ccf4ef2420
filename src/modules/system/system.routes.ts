// Service endpoints outside /api: health (with a database probe) and the root index.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('unhealthy')]),
  app: Type.String(),
  version: Type.String(),
  environment: Type.String(),
  database: Type.String({ description: '"ok", or "unavailable" when the database cannot be reached' }),
});

const HEALTH_PROBE_TIMEOUT_MS = 3000;

export async function systemRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/health',
    {
      schema: {
        tags: ['service'],
        summary: 'Liveness and database check',
        description: '200 when the database answers, 503 with status "unhealthy" when it does not.',
        response: { 200: HealthSchema, 503: HealthSchema },
      },
    },
    async (_request, reply) => {
      const base = {
        app: app.config.appName,
        version: app.config.appVersion,
        environment: app.config.environment,
      };
      try {
        await withTimeout(app.database.ping(), HEALTH_PROBE_TIMEOUT_MS);
        return { status: 'healthy' as const, ...base, database: 'ok' };
      } catch (error) {
        app.log.warn({ err: error }, 'health check: database unreachable');
        return reply.status(503).send({ status: 'unhealthy' as const, ...base, database: 'unavailable' });
      }
    },
  );

  // With STATIC_DIR, / is the client's index.html instead (static-client.ts).
  if (app.config.staticDir !== null) return;
  app.get(
    '/',
    {
      schema: {
        tags: ['service'],
        summary: 'Service index',
        response: { 200: Type.Object({ message: Type.String(), docs: Type.String(), health: Type.String() }) },
      },
    },
    async () => ({ message: `Welcome to ${app.config.appName} API`, docs: '/docs', health: '/health' }),
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
