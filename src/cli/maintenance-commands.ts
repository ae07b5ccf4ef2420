// The maintenance commands of `ctms`: migrate, seed-demo, cleanup and jobs run.
import { migrateToLatest } from '../db/migrate.js';
import { describeRetention, runRetention } from '../jobs/retention.js';
import { runJobs as runScheduledJobs, type JobName } from '../jobs/runner.js';
import { systemClock } from '../lib/clock.js';
import { seedDemo as seedDemoTeam } from '../modules/tasks/seed-demo.js';
import { CliError, type CommandContext } from './command.js';

export async function migrate({ database: { db }, out }: CommandContext): Promise<void> {
  const results = await migrateToLatest(db);
  if (results.length === 0) out('Database is up to date.');
  for (const r of results) out(`Applied migration ${r.migrationName}`);
}

export async function seedDemo({ config, database: { db }, out, forgetSessions }: CommandContext): Promise<void> {
  // The demo logins have published passwords: never plant them in a production database.
  if (config.environment === 'production') throw new CliError('seed-demo is not available in production');
  await migrateToLatest(db);
  const result = await seedDemoTeam(db, config, systemClock);
  // A second run resets the demo developer's time zone.
  await forgetSessions(result.changedUserIds);
  out(result.created ? 'Demo team created. Logins:' : 'The demo team already exists. Logins:');
  for (const user of result.users) out(`  ${user.role.padEnd(9)}  username: ${user.username}  password: ${user.password}`);
  out(`The developer's time zone is ${result.developerTimezone}, where it is working hours now (${config.workHoursStart}-${config.workHoursEnd}).`);
}

export async function cleanup({ config, database: { db }, out }: CommandContext): Promise<void> {
  await migrateToLatest(db);
  const removed = await runRetention(db, config, systemClock.now());
  out(`Removed ${describeRetention(removed)}.`);
}

export async function runJobs({ config, database: { db }, out }: CommandContext, which: readonly JobName[]): Promise<void> {
  await migrateToLatest(db);
  // No notifier in this process: the new notifications wait, undelivered, for the recipients' next socket.
  const quiet = { debug: () => undefined, error: () => undefined };
  const outcomes = await runScheduledJobs({ db, config, log: quiet, deliver: () => undefined }, systemClock.now(), which);
  for (const o of outcomes) out(`${o.job}: ${o.status === 'done' ? o.summary : `${o.status} (${o.summary})`}`);
  const failed = outcomes.filter((o) => o.status === 'failed').map((o) => o.job);
  if (failed.length > 0) throw new CliError(`${failed.length === 1 ? 'A job' : 'Jobs'} failed: ${failed.join(', ')}`);
}
