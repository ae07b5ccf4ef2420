// Service endpoints outside /api: health (liveness, with a database probe), readiness (database and
// Redis) and the root index.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { withDeadline } from '../../lib/deadline.js';

export const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('unhealthy')]),
  app: Type.String(),
  version: Type.String(),
  environment: Type.String(),
  database: Type.String({ description: '"ok", or "unavailable" when the database cannot be reached' }),
});

const ReadinessSchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  detail: Type.Optional(Type.String({ description: 'What is not ready (503 only)' })),
  database: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  redis: Type.Union([Type.Literal('ok'), Type.Literal('unavailable'), Type.Literal('disabled')], {
    description: '"disabled" when REDIS_URL is not set',
  }),
});

const HEALTH_PROBE_TIMEOUT_MS = 3000;

type Probe = 'ok' | 'unavailable';

export async function systemRoutes(app: FastifyInstance): Promise<void> {
  const probe = async (what: string, ping: () => Promise<void>): Promise<Probe> => {
    try {
      await ping();
      return 'ok';
    } catch (error) {
      app.log.warn({ err: error }, `readiness check: ${what} unreachable`);
      return 'unavailable';
    }
  };

  app.get(
    '/health/ready',
    {
      schema: {
        tags: ['service'],
        summary: 'Readiness: the database, and Redis when configured, answer',
        description:
          'For load balancers and orchestrators: 200 when this instance can serve; 503 with a `detail` naming what failed ' +
          '(the database, Redis) or while it shuts down, so traffic goes elsewhere. `/health` stays the liveness check.',
        response: { 200: ReadinessSchema, 503: ReadinessSchema },
      },
    },
    async (_request, reply) => {
      const [database, redis] = await Promise.all([
        probe('database', () => app.database.ping(HEALTH_PROBE_TIMEOUT_MS)),
        app.config.redisUrl === null ? ('disabled' as const) : probe('Redis', () => withDeadline(app.notificationBus.ping(), HEALTH_PROBE_TIMEOUT_MS)),
      ]);
      const unavailable = [database === 'unavailable' && 'database', redis === 'unavailable' && 'Redis'].filter((name) => name !== false);
      const problems = [...(app.draining ? ['shutting down'] : []), ...(unavailable.length > 0 ? [`${unavailable.join(' and ')} unavailable`] : [])];
      if (problems.length === 0) return { status: 'ready' as const, database, redis };
      return reply.status(503).send({ status: 'not_ready' as const, detail: `Not ready: ${problems.join('; ')}`, database, redis });
    },
  );

  const base = { app: app.config.appName, version: app.config.appVersion, environment: app.config.environment };
  // Probes that arrive while a ping is out share it instead of queueing one each (on PostgreSQL each
  // takes a pool connection and a round trip). Nothing outlives the ping: the next probe pings again,
  // so a database that goes down is reported at once.
  let pingInFlight: Promise<Probe> | null = null;
  const pingShared = (): Promise<Probe> => {
    pingInFlight ??= app.database.ping(HEALTH_PROBE_TIMEOUT_MS).then(
      () => {
        pingInFlight = null;
        return 'ok' as const;
      },
      (error: unknown) => {
        pingInFlight = null;
        app.log.warn({ err: error }, 'health check: database unreachable');
        return 'unavailable' as const;
      },
    );
    return pingInFlight;
  };

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
      const database = await pingShared();
      if (database === 'ok') return { status: 'healthy' as const, ...base, database };
      return reply.status(503).send({ status: 'unhealthy' as const, ...base, database });
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
