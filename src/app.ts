// buildApp(config): the whole HTTP application, with every plugin in explicit order. Used by the
// server and by every test, so tests validate, serialize and log exactly as production does.
import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Config } from './config.js';
import { createDatabase, type Database, type DatabaseHandle } from './db/database.js';
import { systemClock, type Clock } from './lib/clock.js';
import { createMailer, type Mailer } from './lib/mailer.js';
import { auditPlugin } from './plugins/audit.js';
import { authPlugin } from './plugins/auth.js';
import { trustProxyOption, warnAboutTrustProxy } from './plugins/client-ip.js';
import { corsOptions } from './plugins/cors.js';
import { registerDocs } from './plugins/docs.js';
import { installErrorHandler } from './plugins/error-handler.js';
import { installJsonParser } from './plugins/json-body.js';
import { jobsPlugin } from './plugins/jobs.js';
import { installRequestContext } from './plugins/request-context.js';
import { installRequestLog, redactQueryTokens } from './plugins/request-log.js';
import { drainPlugin } from './plugins/drain.js';
import { metricsPlugin, type MetricsOptions } from './plugins/metrics.js';
import { notifierPlugin } from './plugins/notifier.js';
import { rateLimitPlugin } from './plugins/rate-limit.js';
import { staticClientPlugin } from './plugins/static-client.js';
import { answerFailedExpectations, securityHeadersPlugin, unroutedErrorHandlers } from './plugins/unrouted-errors.js';
import { installValidators } from './plugins/validation.js';
import { webhooksPlugin } from './plugins/webhooks.js';
import { ErrorSchema, ValidationErrorSchema } from './schemas/common.js';
import { apiRoutes } from './routes.js';
import { systemRoutes } from './modules/system/system.routes.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    database: DatabaseHandle;
    db: Database;
    clock: Clock;
    mailer: Mailer;
  }
}

export interface AppDependencies {
  /** An open database (tests pass their own); otherwise one is opened from config.databaseUrl. */
  database?: DatabaseHandle;
  clock?: Clock;
  /** Overrides the logger (tests may capture log lines). */
  logger?: FastifyServerOptions['logger'];
  /** The cluster worker's slot and where its /metrics come from (runtime/instance.ts). */
  metrics?: MetricsOptions;
}

export async function buildApp(config: Config, deps: AppDependencies = {}): Promise<FastifyInstance> {
  const database = deps.database ?? createDatabase(config.databaseUrl, { statementTimeoutMs: config.dbStatementTimeoutMs, poolSize: config.dbPoolSize, preparedStatements: config.dbPreparedStatements });
  const ownsDatabase = deps.database === undefined;

  const loggerOptions = {
    level: config.logLevel,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], remove: true },
    serializers: {
      req: (req: { method: string; url: string; ip?: string }) => ({
        method: req.method,
        url: redactQueryTokens(req.url),
        ip: req.ip,
      }),
    },
  };
  const app = Fastify({
    // A logger given by the caller (tests capture lines) keeps the redaction of secrets.
    logger: typeof deps.logger === 'object' && deps.logger !== null ? { ...loggerOptions, ...deps.logger } : (deps.logger ?? loggerOptions),
    // One line per request instead of Fastify's two (plugins/request-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    // Closing stops new connections; a request already accepted is served, not answered 503, so a
    // proxy never loses one during a rolling restart.
    return503OnClosing: false,
    trustProxy: trustProxyOption(config.trustProxy),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // Requests that fail before routing still answer like every other response.
    ...unroutedErrorHandlers(config),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
    },
  });

  answerFailedExpectations(app, config);
  app.decorate('config', config);
  app.decorate('database', database);
  app.decorate('db', database.db);
  app.decorate('clock', deps.clock ?? systemClock);
  if (ownsDatabase) app.addHook('onClose', async () => database.close());
  // One mailer for every module; closed (its background work finished) before the database.
  app.decorate('mailer', createMailer(config, app.log));
  app.addHook('onClose', async () => app.mailer.close());
  warnAboutTrustProxy(config.trustProxy, app.log);

  installRequestContext(app);
  installRequestLog(app);
  installValidators(app, [ErrorSchema, ValidationErrorSchema]);
  installErrorHandler(app);
  installJsonParser(app);
  app.addSchema(ErrorSchema);
  app.addSchema(ValidationErrorSchema);

  await app.register(drainPlugin);
  await app.register(securityHeadersPlugin);
  await app.register(cors, corsOptions(config));
  await app.register(cookie);
  await app.register(authPlugin);
  await app.register(auditPlugin);
  await registerDocs(app, config);
  // After the docs, so that /metrics is in the OpenAPI document.
  await app.register(metricsPlugin, deps.metrics ?? {});
  // The client's pages (STATIC_DIR): before the rate limits, which they are not subject to.
  await app.register(staticClientPlugin);
  await app.register(notifierPlugin);
  // Rate limits: after the plugins' own routes (docs, socket: never limited), before the API's.
  await app.register(rateLimitPlugin);

  // jobs: the scheduler registers here (after the notifier, before the routes).
  await app.register(jobsPlugin);
  // The webhook delivery worker (its wake-up hook runs after each write's response).
  await app.register(webhooksPlugin);
  await app.register(systemRoutes);
  await app.register(apiRoutes, { prefix: '/api' });
  return app;
}

// Kept importable from here, where it always was.
export { redactQueryTokens };
