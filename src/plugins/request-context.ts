// Headers every response carries: X-Request-Id (the caller's, when sane, or a fresh UUID) and
// X-Process-Time (seconds spent on the request). API answers also say they must not be cached
// (tokens and personal data) and, being JSON, that they may load nothing and be framed by no one
// (OWASP secure headers for APIs); /docs brings its own Content-Security-Policy.
import type { FastifyInstance } from 'fastify';

const API_CSP = "default-src 'none'; frame-ancestors 'none'";

export function installRequestContext(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-process-time', (reply.elapsedTime / 1000).toFixed(6));
    if (request.url.startsWith('/api')) {
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      reply.header('content-security-policy', API_CSP);
    }
    return payload;
  });
}
