// The process entry point: reads the configuration and runs the service — a single process
// (runtime/instance.ts: migrates, builds the app, listens, shuts down gracefully), or with
// WEB_CONCURRENCY > 1 a node:cluster primary (runtime/primary.ts) whose workers are each a full
// instance. Each part is loaded only where it runs: the primary never loads the app.
import cluster from 'node:cluster';
import { ConfigError, loadConfig, readEnvironment, type Config } from './config.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(readEnvironment());
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }

  if (cluster.isWorker) {
    const { WORKER_SLOT_ENV } = await import('./runtime/primary.js');
    const { runInstance } = await import('./runtime/instance.js');
    await runInstance(config, { worker: Number(process.env[WORKER_SLOT_ENV]) || 1 });
  } else if (config.webConcurrency > 1) {
    const { runPrimary } = await import('./runtime/primary.js');
    await runPrimary(config);
  } else {
    const { runInstance } = await import('./runtime/instance.js');
    await runInstance(config, { worker: null });
  }
}

main().catch((error: unknown) => {
  console.error('Failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
