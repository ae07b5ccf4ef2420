// Headers every response carries: X-Request-Id (the caller's, when sane, or a fresh UUID) and
// X-Process-Time (seconds spent on the request).
import type { FastifyInstance } from 'fastify';

export function installRequestContext(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-process-time', (reply.elapsedTime / 1000).toFixed(6));
    return payload;
  });
}
