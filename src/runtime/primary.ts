// The node:cluster primary of WEB_CONCURRENCY > 1: migrates the database once, then runs that many
// workers on one port (each a full instance, runtime/instance.ts) and keeps them running. A worker
// that dies is replaced — at once after a long life, then after 1 s, 2 s, 4 s … up to 30 s while it
// keeps dying young, so a crash loop does not spin; a worker that dies before any worker ever
// listened means the service cannot start, and the primary exits 1. On SIGTERM/SIGINT it asks every
// worker to shut down gracefully, replaces none, and exits once they all have (0 when they all
// exited 0); a second signal kills them and exits at once. With METRICS_ENABLED it sums the
// workers' metrics (cluster-metrics.ts), served by any worker's /metrics or on METRICS_PORT here.
import cluster, { type Worker } from 'node:cluster';
import { pino } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Config } from '../config.js';
import { createDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { runAdminBootstrap } from '../modules/users/admin-bootstrap.js';
import { GroupMetrics } from './cluster-metrics.js';
import { exitAfterLogs, logDestination, startupSummary } from './log-output.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';
import { onShutdownRequests, SHUTDOWN_MESSAGE } from './signals.js';

/** The environment variable that tells a worker its slot. */
export const WORKER_SLOT_ENV = 'CTMS_WORKER_SLOT';
/** A worker that lived this long is healthy: if it dies, it is replaced at once. */
const STABLE_AFTER_MS = 30_000;
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;
/** How long the primary waits beyond SHUTDOWN_TIMEOUT_MS for workers to exit before killing them. */
const EXIT_GRACE_MS = 2_000;

/** The wait before replacing a worker that died young for the n-th time in a row (n ≥ 1). */
export function restartDelayMs(failuresInARow: number): number {
  if (failuresInARow <= 1) return 0;
  return Math.min(FIRST_BACKOFF_MS * 2 ** (failuresInARow - 2), MAX_BACKOFF_MS);
}

interface Slot {
  index: number;
  worker: Worker | null;
  startedAt: number;
  listening: boolean;
  failuresInARow: number;
  restartTimer: NodeJS.Timeout | null;
}

export async function runPrimary(config: Config): Promise<void> {
  const destination = await logDestination(config);
  const log = (destination === undefined ? pino({ level: config.logLevel }) : pino({ level: config.logLevel }, destination)).child({
    role: 'primary',
  });
  const database = createDatabase(config.databaseUrl);
  let migrationsApplied = 0;
  try {
    migrationsApplied = (await migrateToLatest(database.db)).length;
    await runAdminBootstrap(database.db, config, new Date(), log);
  } finally {
    await database.close();
  }

  const slots: Slot[] = Array.from({ length: config.webConcurrency }, (_, i) => ({
    index: i + 1,
    worker: null,
    startedAt: 0,
    listening: false,
    failuresInARow: 0,
    restartTimer: null,
  }));
  const live = () => slots.flatMap((slot) => (slot.worker ? [slot.worker] : []));
  let anyListened = false;
  let stopping = false;
  let exitCode = 0;

  const registry = new Registry();
  new Gauge({
    name: 'ctms_cluster_workers',
    help: 'Worker processes listening',
    registers: [registry],
    collect() {
      this.set(slots.filter((slot) => slot.listening).length);
    },
  });
  const restarts = new Counter({ name: 'ctms_cluster_worker_restarts_total', help: 'Workers replaced after exiting', registers: [registry] });
  const group = new GroupMetrics(() => slots.flatMap((slot) => (slot.worker && slot.listening ? [slot.worker] : [])), registry);
  if (config.metricsEnabled) cluster.on('message', (worker, message) => group.handle(worker, message));

  const fork = (slot: Slot) => {
    const worker = cluster.fork({ [WORKER_SLOT_ENV]: String(slot.index) });
    Object.assign(slot, { worker, startedAt: Date.now(), listening: false });
    worker.on('listening', () => {
      slot.listening = true;
      if (!anyListened) {
        anyListened = true;
        const summary = startupSummary(config, { migrationsApplied, workers: config.webConcurrency });
        log.info(summary.fields, summary.message);
      }
    });
    worker.on('exit', (code, signal) => onExit(slot, worker, code, signal));
    // A message to a worker that has just died fails here, not in the primary.
    worker.on('error', (error: Error) => log.warn({ worker: slot.index, err: error.message }, 'worker channel error'));
  };

  const onExit = (slot: Slot, worker: Worker, code: number | null, signal: string | null) => {
    if (slot.worker !== worker) return;
    const wasListening = slot.listening;
    Object.assign(slot, { worker: null, listening: false });
    const pid = worker.process.pid;
    if (stopping) {
      if (code !== 0 && wasListening) exitCode = 1;
      if (live().length === 0) finish();
      return;
    }
    if (!anyListened) {
      log.error({ worker: slot.index, pid, code, signal }, 'a worker failed to start; stopping');
      exitCode = 1;
      stop('startup failure');
      return;
    }
    slot.failuresInARow = Date.now() - slot.startedAt >= STABLE_AFTER_MS ? 1 : slot.failuresInARow + 1;
    const delay = restartDelayMs(slot.failuresInARow);
    restarts.inc();
    // Exit code 0 is a worker stopped on purpose (kill -TERM <pid>: a rolling restart of one worker).
    log[code === 0 ? 'warn' : 'error']({ worker: slot.index, pid, code, signal, restartInMs: delay }, `worker ${slot.index} exited; replacing it`);
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      if (!stopping) fork(slot);
    }, delay);
  };

  let metricsServer: MetricsServer | null = null;
  const finish = () => {
    Promise.resolve(metricsServer?.close()).finally(() => {
      log.info({ exitCode }, `stopped: every worker has exited${exitCode === 0 ? '' : ' (not all cleanly)'}`);
      exitAfterLogs(log, exitCode);
    });
  };

  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down the workers');
    for (const slot of slots) if (slot.restartTimer) clearTimeout(slot.restartTimer);
    setTimeout(() => {
      log.error('workers did not exit in time; killing them');
      for (const worker of live()) worker.process.kill('SIGKILL');
      process.exit(1);
    }, config.shutdownTimeoutMs + EXIT_GRACE_MS).unref();
    for (const slot of slots) {
      // A worker still starting may not listen for the message yet; it serves nothing, so a signal will do.
      if (slot.worker?.isConnected() && slot.listening) slot.worker.send({ type: SHUTDOWN_MESSAGE });
      else slot.worker?.process.kill('SIGTERM');
    }
    if (live().length === 0) finish();
  };

  onShutdownRequests({
    graceful: stop,
    immediate(signal) {
      log.warn({ signal }, 'second signal: killing the workers and exiting at once');
      for (const worker of live()) worker.process.kill('SIGKILL');
      process.exit(1);
    },
  });

  if (config.metricsEnabled && config.metricsPort !== null) {
    metricsServer = await startMetricsServer({
      host: config.host,
      port: config.metricsPort,
      contentType: group.contentType,
      exposition: () => group.collect(),
      log,
    });
  }
  for (const slot of slots) fork(slot);
}
