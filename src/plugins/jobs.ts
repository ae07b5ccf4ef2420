// Runs the scheduled jobs (deadline warnings, priority escalation, retention) in this process every
// JOBS_INTERVAL_SECONDS, when JOBS_ENABLED. Several instances may all run it: each job takes its
// lock (runner.ts). New notifications go to `app.notifier` when the app has one.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { runJobs, type Deliver } from '../jobs/runner.js';
import { createScheduler } from '../jobs/scheduler.js';
import type { Notifier } from '../modules/notifications/notifier.js';

/** The app's notifier, if one was registered before this plugin. */
function notifierOf(app: FastifyInstance): Notifier | undefined {
  return app.hasDecorator('notifier') ? (app as unknown as { notifier: Notifier }).notifier : undefined;
}

export const jobsPlugin = fp(
  async (app: FastifyInstance) => {
    if (!app.config.jobsEnabled) return;
    const notifier = notifierOf(app);
    const deliver: Deliver = notifier ? (notifications) => notifier.deliver(notifications) : () => undefined;
    const log = app.log.child({ component: 'jobs' });
    const scheduler = createScheduler({
      intervalMs: app.config.jobsIntervalSeconds * 1000,
      run: () => runJobs({ db: app.db, config: app.config, log, deliver }, app.clock.now()),
      onError: (error) => log.error({ err: error }, 'scheduled jobs run failed'),
    });
    app.addHook('onReady', async () => scheduler.start());
    // preClose, not onClose: onClose hooks may close the database (or the notifier) before ours
    // runs, and the run in progress must finish against an open one.
    app.addHook('preClose', async () => scheduler.stop());
  },
  { name: 'ctms-jobs' },
);
