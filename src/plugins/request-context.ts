// Headers every response carries: X-Request-Id (the caller's, when sane, or a fresh UUID) and
// X-Process-Time (seconds spent on the request). API answers also say they must not be cached
// (tokens and personal data) and, being JSON, that they may load nothing and be framed by no one
// (OWASP secure headers for APIs); /docs brings its own Content-Security-Policy.
import type { FastifyInstance } from 'fastify';

const API_CSP = "default-src 'none'; frame-ancestors 'none'";

// Callback-style hooks: every request runs them, and an async hook costs a promise and a microtask
// turn each.
export function installRequestContext(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-process-time', (reply.elapsedTime / 1000).toFixed(6));
    if (request.url.startsWith('/api')) {
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      reply.header('content-security-policy', API_CSP);
    }
    done(null, payload);
  });
}
