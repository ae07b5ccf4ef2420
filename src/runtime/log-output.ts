// Where the service's logs go, and the lines it writes about itself. In development on a terminal:
// pretty single lines through pino-pretty (a devDependency: present after `npm install`, absent
// from the production image, where the logs stay JSON); otherwise one JSON object a line, for log
// collectors. Also the start-up summary (what runs where) and the shutdown line.
import { symbols, type DestinationStream } from 'pino';
import type { Config } from '../config.js';
import { parseDatabaseUrl } from '../db/database.js';

/** Fields the request line (plugins/request-log.ts) repeats in its message: not printed twice. */
const SHOWN_IN_MESSAGE = 'pid,hostname,method,url,statusCode,responseTime';

const loadPretty = async () => (await import('pino-pretty')).default;
type PrettyFactory = Awaited<ReturnType<typeof loadPretty>>;

/**
 * A pretty, synchronous destination for a developer's terminal, or undefined (JSON to stdout) in
 * any other environment, when stdout is not a terminal, or when pino-pretty cannot be loaded.
 */
export async function logDestination(
  config: Config,
  stdout: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
  load: () => Promise<PrettyFactory> = loadPretty,
): Promise<DestinationStream | undefined> {
  if (config.environment !== 'development' || stdout.isTTY !== true) return undefined;
  try {
    const pretty = await load();
    return pretty({
      colorize: stdout === process.stdout,
      singleLine: true,
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: SHOWN_IN_MESSAGE,
      destination: stdout,
    });
  } catch {
    return undefined;
  }
}

/** The database as the summary shows it: its kind and where, never a user or a password. */
export function describeDatabase(url: string): string {
  const { dialect, target } = parseDatabaseUrl(url);
  if (dialect === 'sqlite') return `SQLite ${target}`;
  try {
    const parsed = new URL(target);
    return `PostgreSQL ${parsed.host}${parsed.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

export interface StartupFacts {
  /** Migrations applied by this start (null: applied elsewhere, by the cluster primary). */
  migrationsApplied: number | null;
  workers: number;
}

/** The start-up summary: one line saying what runs, where and on what. */
export function startupSummary(config: Config, facts: StartupFacts): { fields: Record<string, unknown>; message: string } {
  const url = `http://${config.host}:${config.port}`;
  const database = describeDatabase(config.databaseUrl);
  const mail = config.emailBackend === 'smtp' ? `smtp ${config.smtpHost}:${config.smtpPort}` : 'console';
  const redis = config.redisUrl === null ? 'off' : 'on';
  const migrations =
    facts.migrationsApplied === null ? '' : `, ${facts.migrationsApplied === 0 ? 'no' : facts.migrationsApplied} migration${facts.migrationsApplied === 1 ? '' : 's'} applied`;
  return {
    fields: {
      url,
      environment: config.environment,
      database,
      ...(facts.migrationsApplied === null ? {} : { migrationsApplied: facts.migrationsApplied }),
      mail,
      redis,
      workers: facts.workers,
    },
    message:
      `${config.appName} ${config.appVersion} listening on ${url} (docs at ${url}/docs): ${config.environment}, ${database}${migrations}, ` +
      `mail ${mail}, Redis ${redis}, ${facts.workers} worker${facts.workers === 1 ? '' : 's'}`,
  };
}

/** How long an exit waits for the log's pending lines. */
const LOG_DRAIN_LIMIT_MS = 2000;

/** pino's default destination (sonic-boom, asynchronous): `_writing` while a write is on libuv's pool. */
interface AsyncDestination {
  _writing: boolean;
  flushSync(): void;
}

function isAsyncDestination(stream: unknown): stream is AsyncDestination {
  const candidate = stream as Partial<AsyncDestination> | null | undefined;
  return typeof candidate?.flushSync === 'function' && typeof candidate._writing === 'boolean';
}

/**
 * Exits with `code` once no log line is being written. pino's default destination writes
 * asynchronously and, at exit, flushes what is pending synchronously — overtaking a write still in
 * flight on libuv's pool: a shutdown's last line ("stopped after …") came out before the one logged
 * ahead of it, into the middle of it, or was lost. Once no write is in flight, that flush writes the
 * rest in order. Other destinations (tests' streams, the development terminal's) exit at once.
 */
export function exitAfterLogs(log: object, code: number): void {
  const stream: unknown = (log as Record<symbol, unknown>)[symbols.streamSym];
  if (!isAsyncDestination(stream)) process.exit(code);
  const deadline = Date.now() + LOG_DRAIN_LIMIT_MS;
  const exitWhenIdle = () => {
    if (stream._writing && Date.now() < deadline) setTimeout(exitWhenIdle, 1);
    else process.exit(code);
  };
  exitWhenIdle();
}
