// Draining on close: from the moment the app starts closing, every response says `Connection: close`,
// so a keep-alive client whose request was already in flight opens its next connection elsewhere (to
// another worker or instance) instead of finding this one gone. `app.draining` tells readiness.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    /** True once the app has begun to close. */
    readonly draining: boolean;
  }
}

export const drainPlugin = fp(
  async (app: FastifyInstance) => {
    let draining = false;
    app.decorate('draining', { getter: () => draining });
    app.addHook('preClose', async () => {
      draining = true;
    });
    // Callback style: every response runs it (an async hook costs a promise and a microtask turn).
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (draining) reply.header('connection', 'close');
      done(null, payload);
    });
  },
  { name: 'drain' },
);
