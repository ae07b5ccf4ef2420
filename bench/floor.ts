// The framework's floor for `health`: Fastify with nothing but what every answer of the service
// carries — the route's response schema (compiled serialization) and the same headers, set the way
// the service sets them (helmet's, X-Request-Id, X-Process-Time, Vary). No logger, plugins, hooks
// of the service's features or database ping. Measured beside ceiling 1 and the service, it splits
// health's distance from its ceiling into what the stack and the headers cost and what the service
// adds. Environment: the service's own (ENVIRONMENT, SECRET_KEY, …) and PORT.
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { loadConfig } from '../src/config.js';
import { HealthSchema } from '../src/modules/system/system.routes.js';
import { securityHeaderOptions, securityHeaders } from '../src/plugins/unrouted-errors.js';

const config = loadConfig(process.env, { dataDir: null });
const security = securityHeaders(securityHeaderOptions(config));
const app = Fastify({ logger: false });
app.addHook('onRequest', (_request, reply, done) => {
  reply.header('x-request-id', randomUUID());
  reply.headers(security);
  reply.header('vary', 'Origin');
  done();
});
app.addHook('onSend', (_request, reply, payload, done) => {
  reply.header('x-process-time', (reply.elapsedTime / 1000).toFixed(6));
  done(null, payload);
});
const body = { status: 'healthy' as const, app: config.appName, version: config.appVersion, environment: config.environment, database: 'ok' };
app.get('/health', { schema: { response: { 200: HealthSchema } } }, async () => body);
app.server.keepAliveTimeout = 72_000;
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
