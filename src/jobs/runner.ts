// The scheduled jobs, run one after another: each in its own transaction holding its job lock (so
// with several instances a job runs on one of them at a time), its new notifications handed to
// `deliver` only after that transaction committed. A failing job is logged and reported, never
// thrown: the other jobs still run, and the scheduler calling this keeps going.
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { withJobLock } from '../db/locks.js';
import type { NotificationPublic } from '../modules/notifications/notifications.schemas.js';
import { sendDeadlineWarnings } from './deadline-warnings.js';
import { escalatePriorities } from './escalation.js';
import { describeRetention, runRetention } from './retention.js';

export const JOB_NAMES = ['deadline_warnings', 'priority_escalation', 'retention'] as const;
export type JobName = (typeof JOB_NAMES)[number];

export const isJobName = (name: string): name is JobName => (JOB_NAMES as readonly string[]).includes(name);

/** Pushes committed notifications to their recipients (the app's notifier); must not throw. */
export type Deliver = (notifications: readonly NotificationPublic[]) => void;

/** The part of a pino/Fastify logger the jobs use. */
export interface JobLogger {
  debug(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface JobDependencies {
  db: Database;
  config: Config;
  log: JobLogger;
  deliver: Deliver;
}

interface JobWork {
  notifications: readonly NotificationPublic[];
  /** One line for people: `ctms jobs run` prints it, the run's log line carries it. */
  summary: string;
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

const JOBS: Record<JobName, (trx: Database, config: Config, now: Date) => Promise<JobWork>> = {
  async deadline_warnings(trx, _config, now) {
    const notifications = await sendDeadlineWarnings(trx, now);
    return { notifications, summary: `${count(notifications.length, 'deadline warning')} sent` };
  },
  async priority_escalation(trx, _config, now) {
    const { escalations, notifications } = await escalatePriorities(trx, now);
    return { notifications, summary: `${count(escalations.length, 'task')} escalated` };
  },
  async retention(trx, config, now) {
    return { notifications: [], summary: `removed ${describeRetention(await runRetention(trx, config, now))}` };
  },
};

export type JobOutcome =
  | { job: JobName; status: 'done'; summary: string; notifications: readonly NotificationPublic[] }
  | { job: JobName; status: 'skipped'; summary: string }
  | { job: JobName; status: 'failed'; summary: string; error: unknown };

/** Runs the jobs in `which` (all by default) at `now`; resolves with one outcome per job, never rejects. */
export async function runJobs(deps: JobDependencies, now: Date, which: readonly JobName[] = JOB_NAMES): Promise<JobOutcome[]> {
  const outcomes: JobOutcome[] = [];
  for (const job of which) outcomes.push(await runJob(deps, job, now));
  deps.log.debug(
    { now: now.toISOString(), jobs: Object.fromEntries(outcomes.map((o) => [o.job, `${o.status}: ${o.summary}`])) },
    'scheduled jobs run',
  );
  return outcomes;
}

async function runJob({ db, config, log, deliver }: JobDependencies, job: JobName, now: Date): Promise<JobOutcome> {
  let locked;
  try {
    locked = await withJobLock(db, job, (trx) => JOBS[job](trx, config, now));
  } catch (error) {
    log.error({ err: error, job }, `scheduled job ${job} failed`);
    return { job, status: 'failed', summary: error instanceof Error ? error.message : String(error), error };
  }
  if (!locked.acquired) return { job, status: 'skipped', summary: 'running on another instance' };
  const { notifications, summary } = locked.value;
  if (notifications.length > 0) {
    try {
      deliver(notifications);
    } catch (error) {
      // They are committed and stay undelivered: the recipients' sockets replay them on connect.
      log.error({ err: error, job }, `delivering the notifications of scheduled job ${job} failed`);
    }
  }
  return { job, status: 'done', summary, notifications };
}
