// `npm run soak [-- --duration 10m] [--db sqlite|postgres] [--rate 100] [--redis redis://…] [--json FILE]`:
// the soak of test/reliability/soak-runner.ts against the production build, printing its report
// (statuses, lost notifications, RSS over time). Exits 1 when a check fails. The duration also
// comes from SOAK_DURATION (e.g. 90s, 10m, or seconds); PostgreSQL is TEST_DATABASE_URL or the
// local ctms_test database (a private schema, dropped afterwards).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatReport, runSoak } from '../test/reliability/soak-runner.js';

const DEFAULT_PG = 'postgresql://postgres@127.0.0.1:5432/ctms_test';

/** "90s", "10m", "1h" or a number of seconds, in milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`not a duration: "${text}" (use e.g. 90s, 10m, 1h)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
  return Number(match[1]) * unit;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: process.env.SOAK_DURATION ?? '10m' },
      db: { type: 'string', default: process.env.TEST_DATABASE_URL ? 'postgres' : 'sqlite' },
      rate: { type: 'string', default: '100' },
      redis: { type: 'string' },
      json: { type: 'string' },
    },
  });
  if (values.db === 'sqlite') delete process.env.TEST_DATABASE_URL;
  else if (values.db === 'postgres' || values.db === 'postgresql') process.env.TEST_DATABASE_URL ??= DEFAULT_PG;
  else if (/^postgres(ql)?:\/\//.test(values.db)) process.env.TEST_DATABASE_URL = values.db;
  else throw new Error(`--db must be sqlite, postgres or a postgresql:// URL (got "${values.db}")`);

  const durationMs = parseDuration(values.duration);
  const rate = Number(values.rate);
  if (!(rate > 0)) throw new Error('--rate must be a positive number of requests a second');
  console.log(`soak: ${durationMs / 1000} s on ${values.db} at ${rate} requests/s`);
  const report = await runSoak({ durationMs, rate, redisUrl: values.redis, log: (line) => console.log(line) });
  console.log(formatReport(report));
  if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.ok ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
