// Prometheus metrics (METRICS_ENABLED): requests by route template and status, their latency, open
// notification sockets, notifications pushed, the audit queue, the PostgreSQL pool, and prom-client's
// process metrics (memory, event-loop lag, GC). Each app has its own registry (`app.metricsRegistry`).
// /metrics serves them on the main port unless METRICS_PORT moves them to a server of their own
// (runtime/metrics-server.ts). In a cluster worker, `exposition` fetches the whole process group's
// metrics from the primary (runtime/cluster-metrics.ts), so any worker's /metrics tells about all.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AppError } from '../errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    metricsRegistry: Registry;
  }
}

export interface MetricsOptions {
  /** Cluster worker slot (1…WEB_CONCURRENCY); a single process is worker 1. */
  worker?: number;
  /** Where /metrics text comes from; by default this app's own registry. */
  exposition?: () => Promise<string>;
}

/** Requests without a route (404s, malformed paths) share one label, whatever their URL. */
const UNMATCHED_ROUTE = 'unmatched';
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const metricsPlugin = fp<MetricsOptions>(
  async (app, options) => {
    if (!app.config.metricsEnabled) return;
    const registry = new Registry();
    app.decorate('metricsRegistry', registry);
    collectDefaultMetrics({ register: registry });
    registerServiceMetrics(app, registry, options.worker ?? 1);

    const labels = ['method', 'route', 'status_code'] as const;
    const requests = new Counter({ name: 'ctms_http_requests_total', help: 'HTTP requests answered', labelNames: labels, registers: [registry] });
    const latency = new Histogram({
      name: 'ctms_http_request_duration_seconds',
      help: 'Time from receiving a request to sending its response',
      labelNames: labels,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    // Callback style: every request runs it (an async hook costs a promise and a microtask turn).
    app.addHook('onResponse', (request, reply, done) => {
      // The route template (/api/tasks/:id), never the URL: ids must not become label values.
      const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
      const values = { method: request.method, route, status_code: String(reply.statusCode) };
      requests.inc(values);
      latency.observe(values, reply.elapsedTime / 1000);
      done();
    });

    if (app.config.metricsPort !== null) return;
    const exposition = options.exposition ?? (() => registry.metrics());
    app.get(
      '/metrics',
      {
        schema: {
          tags: ['service'],
          summary: 'Prometheus metrics',
          description:
            'Prometheus text format (METRICS_ENABLED; with METRICS_PORT it moves to that port and this path answers 404). ' +
            'With WEB_CONCURRENCY workers, the sum over the whole process group.',
          produces: ['text/plain'],
          response: { 200: { type: 'string', description: 'Prometheus text exposition format 0.0.4' } },
        },
      },
      async (_request, reply) => {
        let text: string;
        try {
          text = await exposition();
        } catch (error) {
          app.log.warn({ err: error }, 'could not collect metrics');
          throw new AppError(503, 'Metrics are unavailable right now');
        }
        return reply.type(registry.contentType).send(text);
      },
    );
  },
  { name: 'metrics' },
);

/** Gauges and counters read from the app's parts at each scrape. */
function registerServiceMetrics(app: FastifyInstance, registry: Registry, worker: number): void {
  const registers = [registry];
  new Gauge({ name: 'ctms_worker_info', help: 'One series per live worker process', labelNames: ['worker', 'pid'], registers }).set(
    { worker: String(worker), pid: String(process.pid) },
    1,
  );
  new Gauge({
    name: 'ctms_websocket_connections',
    help: 'Open notification sockets',
    registers,
    collect() {
      this.set(app.socketHub.size);
    },
  });
  new Counter({
    name: 'ctms_notifications_pushed_total',
    help: 'Notification messages written to sockets',
    registers,
    collect() {
      this.reset();
      this.inc(app.socketHub.notificationsSent);
    },
  });
  new Gauge({
    name: 'ctms_audit_queue_depth',
    help: 'Audit rows waiting to be written',
    registers,
    collect() {
      this.set(app.audit.stats().queued);
    },
  });
  new Counter({
    name: 'ctms_audit_rows_total',
    help: 'Audit rows by outcome: written, dropped (queue full) or failed (the store refused them)',
    labelNames: ['outcome'],
    registers,
    collect() {
      const { written, dropped, failed } = app.audit.stats();
      this.reset();
      this.inc({ outcome: 'written' }, written);
      this.inc({ outcome: 'dropped' }, dropped);
      this.inc({ outcome: 'failed' }, failed);
    },
  });

  const { poolStats } = app.database;
  if (!poolStats) return;
  new Gauge({
    name: 'ctms_db_pool_connections',
    help: 'PostgreSQL pool connections by state: idle, or in use',
    labelNames: ['state'],
    registers,
    collect() {
      const { total, idle } = poolStats();
      this.set({ state: 'idle' }, idle);
      this.set({ state: 'in_use' }, total - idle);
    },
  });
  new Gauge({
    name: 'ctms_db_pool_waiting_queries',
    help: 'Queries waiting for a PostgreSQL pool connection',
    registers,
    collect() {
      this.set(poolStats().waiting);
    },
  });
}
