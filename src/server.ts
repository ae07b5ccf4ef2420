// The process entry point: reads the environment, migrates, builds the app, listens, and shuts
// down gracefully on SIGTERM/SIGINT. The only file that listens on a port.
import { buildApp } from './app.js';
import { ConfigError, loadConfig, readEnvironment } from './config.js';
import { createDatabase, redactUrl } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(readEnvironment());
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }

  const database = createDatabase(config.databaseUrl);
  await migrateToLatest(database.db);
  const app = await buildApp(config, { database });

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      app.log.error('graceful shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    // The database closes after the app: closing the app flushes the audit queue into it.
    app
      .close()
      .then(() => database.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          app.log.error({ err: error }, 'error during shutdown');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  app.log.info(
    { database: redactUrl(config.databaseUrl), environment: config.environment },
    `${config.appName} ${config.appVersion} listening on http://${config.host}:${config.port} (docs at /docs)`,
  );
}

main().catch((error: unknown) => {
  console.error('Failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
