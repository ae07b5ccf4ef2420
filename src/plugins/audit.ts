// The audit trail (§8): every /api request becomes a row — caller, path, method, status, redacted
// body, the error body of a failure, client address and agent, duration — queued and written in
// batches after the response has gone (modules/audit/audit-queue.ts). Closing the app flushes it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isoString } from '../lib/clock.js';
import { AuditQueue } from '../modules/audit/audit-queue.js';
import { redactedJson, redactedResponse } from '../modules/audit/redact.js';

declare module 'fastify' {
  interface FastifyInstance {
    audit: AuditQueue;
  }
  interface FastifyRequest {
    auditedErrorBody: string | null;
  }
}

const isApi = (request: FastifyRequest) => request.url === '/api' || request.url.startsWith('/api/') || request.url.startsWith('/api?');
const clip = (text: string | undefined, max: number) => (text === undefined ? null : text.slice(0, max));

export const auditPlugin = fp(
  async (app: FastifyInstance) => {
    const queue = new AuditQueue({ db: app.db, log: app.log, maxQueued: 10_000, batchSize: 200, flushIntervalMs: 1000 });
    app.decorate('audit', queue);
    app.decorateRequest('auditedErrorBody', null);

    // Callback-style hooks: every response runs them (an async hook costs a promise and a microtask
    // turn each).
    app.addHook('onSend', (request, reply, payload, done) => {
      if (reply.statusCode >= 400 && isApi(request)) request.auditedErrorBody = redactedResponse(payload);
      done(null, payload);
    });

    app.addHook('onResponse', (request, reply, done) => {
      if (!isApi(request)) return done();
      try {
        const userAgent = request.headers['user-agent'];
        queue.enqueue({
          user_id: request.auth?.user.id ?? null,
          api_token_id: request.auth?.apiToken?.id ?? null,
          endpoint: (request.url.split('?')[0] ?? '').slice(0, 512),
          method: request.method.slice(0, 10),
          status_code: reply.statusCode,
          request_body: redactedJson(request.body),
          response_body: request.auditedErrorBody,
          ip: clip(request.ip, 64),
          user_agent: clip(typeof userAgent === 'string' ? userAgent : undefined, 512),
          duration_ms: Math.round(reply.elapsedTime * 1000) / 1000,
          timestamp: isoString(app.clock.now()),
        });
      } catch (error) {
        request.log.error({ err: error }, 'could not queue the audit row');
      }
      done();
    });

    app.addHook('onClose', async () => queue.flush());
  },
  { name: 'audit', dependencies: ['auth'] },
);
