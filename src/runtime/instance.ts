// One full instance of the service — the single process, or one cluster worker: builds the app on
// the database, listens, and closes gracefully. Shutdown: stop accepting connections, let requests
// in flight finish (their connections then close), close notification sockets with 1001, flush the
// audit queue, close Redis and the database, exit 0 — or exit 1 after SHUTDOWN_TIMEOUT_MS, or at
// once on a second signal.
import { buildApp } from '../app.js';
import type { Config } from '../config.js';
import { createDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { runAdminBootstrap } from '../modules/users/admin-bootstrap.js';
import { answerMetricsCollection, requestGroupMetrics } from './cluster-metrics.js';
import { exitAfterLogs, logDestination, startupSummary } from './log-output.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';
import { onShutdownRequests } from './signals.js';
import { lowerHelperThreadPriority } from './thread-priority.js';

/** How often connections that fell idle while draining are closed. */
const IDLE_SWEEP_MS = 250;
/** How long a starting instance waits for Redis before it listens (then it serves without it). */
const REDIS_WARMUP_MS = 5_000;

/**
 * Waits until the notification bus answers, so that a new instance (a replaced worker above all)
 * is ready when it takes its first connection rather than failing readiness probes meanwhile.
 */
async function waitForRedis(ping: () => Promise<void>): Promise<boolean> {
  const deadline = Date.now() + REDIS_WARMUP_MS;
  for (;;) {
    try {
      await ping();
      return true;
    } catch {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export interface InstanceOptions {
  /** Cluster worker slot (1…WEB_CONCURRENCY), or null for the single process. */
  worker: number | null;
}

export async function runInstance(baseConfig: Config, { worker }: InstanceOptions): Promise<void> {
  const inCluster = worker !== null;
  // Scheduled jobs run in one worker only: on SQLite nothing else would keep two from running a job
  // at once. (Several machines on PostgreSQL may each run them: advisory locks serialize the jobs.)
  const config = inCluster ? Object.freeze({ ...baseConfig, jobsEnabled: baseConfig.jobsEnabled && worker === 1 }) : baseConfig;
  const database = createDatabase(config.databaseUrl, { statementTimeoutMs: config.dbStatementTimeoutMs, poolSize: config.dbPoolSize, preparedStatements: config.dbPreparedStatements });
  // In a cluster the primary migrated once, before starting any worker.
  const migrated = inCluster ? null : await migrateToLatest(database.db);
  const destination = await logDestination(config);
  const app = await buildApp(config, {
    database,
    logger: destination === undefined ? undefined : { stream: destination },
    metrics: { worker: worker ?? 1, exposition: inCluster ? requestGroupMetrics : undefined },
  });
  if (inCluster && config.metricsEnabled) answerMetricsCollection(app.metricsRegistry);
  // In a cluster the primary did this too, once.
  if (!inCluster) await runAdminBootstrap(database.db, config, app.clock.now(), app.log);
  let metricsServer: MetricsServer | null = null;

  let closing = false;
  onShutdownRequests({
    graceful(reason) {
      if (closing) return;
      closing = true;
      app.log.info({ reason }, 'shutting down');
      const started = Date.now();
      setTimeout(() => {
        app.log.error(`graceful shutdown took longer than SHUTDOWN_TIMEOUT_MS (${config.shutdownTimeoutMs} ms); exiting`);
        process.exit(1);
      }, config.shutdownTimeoutMs).unref();
      // No new connections from here on; a connection whose last response went out is closed as
      // soon as it is idle (responses from now on also say Connection: close, see plugins/drain.ts).
      app.server.close();
      setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_MS).unref();
      // The database closes after the app: closing the app flushes the audit queue into it.
      Promise.all([app.close().then(() => database.close()), metricsServer?.close()]).then(
        () => {
          const durationMs = Date.now() - started;
          app.log.info({ durationMs }, `stopped after ${durationMs} ms: requests answered, connections closed`);
          exitAfterLogs(app.log, 0);
        },
        (error: unknown) => {
          app.log.error({ err: error }, 'error during shutdown');
          exitAfterLogs(app.log, 1);
        },
      );
    },
    immediate(signal) {
      app.log.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    },
  });

  if (config.redisUrl !== null && !(await waitForRedis(() => app.notificationBus.ping()))) {
    app.log.warn(`Redis did not answer within ${REDIS_WARMUP_MS} ms; listening without it`);
  }
  await app.listen({ host: config.host, port: config.port });
  // Hashing (a login storm) never holds the loop back: see runtime/thread-priority.ts.
  app.log.debug(lowerHelperThreadPriority(), 'helper threads at a lower priority than the event loop');
  if (!inCluster && config.metricsEnabled && config.metricsPort !== null) {
    const registry = app.metricsRegistry;
    metricsServer = await startMetricsServer({
      host: config.host,
      port: config.metricsPort,
      contentType: registry.contentType,
      exposition: () => registry.metrics(),
      log: app.log,
    });
  }
  if (inCluster) {
    app.log.info({ worker, jobs: config.jobsEnabled }, `worker ${worker} listening on http://${config.host}:${config.port}`);
  } else {
    const summary = startupSummary(config, { migrationsApplied: migrated?.length ?? 0, workers: 1 });
    app.log.info(summary.fields, summary.message);
  }
}
