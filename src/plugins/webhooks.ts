// The webhook delivery worker of this instance (modules/webhooks/delivery-worker.ts), when
// WEBHOOK_WORKER_ENABLED. Deliveries are queued in the database by the changes themselves; a
// successful write answered here wakes the worker at once (its transaction has committed by then),
// and every instance also polls, so deliveries queued elsewhere or due for a retry are found too.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createDeliveryWorker, type DeliveryWorker } from '../modules/webhooks/delivery-worker.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** This instance's delivery worker; null when WEBHOOK_WORKER_ENABLED is false. */
    webhookWorker: DeliveryWorker | null;
  }
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const webhooksPlugin = fp(
  async (app: FastifyInstance) => {
    if (!app.config.webhookWorkerEnabled) {
      app.decorate('webhookWorker', null);
      return;
    }
    const worker = createDeliveryWorker({ db: app.db, config: app.config, clock: app.clock, log: app.log.child({ component: 'webhooks' }) });
    app.decorate('webhookWorker', worker);
    // Callback style: every response runs it (an async hook costs a promise and a microtask turn).
    app.addHook('onResponse', (request, reply, done) => {
      if (!READS.has(request.method) && reply.statusCode < 400) worker.wake();
      done();
    });
    app.addHook('onReady', async () => worker.start());
    // preClose: the attempts in flight record their outcome while the database is still open.
    app.addHook('preClose', async () => worker.stop());
  },
  { name: 'ctms-webhooks' },
);
