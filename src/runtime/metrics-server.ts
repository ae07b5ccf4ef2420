// The small HTTP server of METRICS_PORT: GET /metrics and nothing else, apart from the API, so the
// metrics need not be reachable where the API is. Run by the single process, or by a cluster's
// primary (then with the sum over every worker).
import { createServer, type Server } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';

export interface MetricsServerOptions {
  host: string;
  port: number;
  contentType: string;
  exposition(): Promise<string>;
  log: Pick<FastifyBaseLogger, 'warn'>;
}

export interface MetricsServer {
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0]?.replace(/\/+$/, '');
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not Found"}');
      return;
    }
    options.exposition().then(
      (text) => response.writeHead(200, { 'content-type': options.contentType }).end(request.method === 'HEAD' ? undefined : text),
      (error: unknown) => {
        options.log.warn({ err: error }, 'could not collect metrics');
        response.writeHead(503, { 'content-type': 'application/json' }).end('{"detail":"Metrics are unavailable right now"}');
      },
    );
  });
  // Scrapers keep connections alive; they must not hold the process open at shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
