// Configuration: every setting of the service, read once from an environment map, validated as a
// whole (every problem listed in one message) and frozen. Tests build a Config directly.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { passwordProblem } from './cli/password.js';
import { normalizeTimeZone } from './lib/timezone.js';

export type Environment = 'development' | 'production' | 'test';
export type EmailBackend = 'console' | 'smtp';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** The first manager, created at start when no manager exists yet (ADMIN_USERNAME/EMAIL/PASSWORD). */
export interface AdminBootstrap {
  username: string;
  email: string;
  password: string;
}
/**
 * Which proxies may report the client address in X-Forwarded-For (Fastify's `trustProxy`): none,
 * any (true), the last N hops, or the listed addresses/CIDRs.
 */
export type TrustProxy = boolean | number | string[];

export interface Config {
  appName: string;
  appVersion: string;
  debug: boolean;
  environment: Environment;
  host: string;
  port: number;
  secretKey: string;
  algorithm: 'HS256';
  accessTokenExpireMinutes: number;
  refreshTokenExpireDays: number;
  /** Seconds after a rotation in which the replaced refresh token repeats it (parallel tabs); 0: never. */
  refreshReuseGraceSeconds: number;
  allowedOrigins: string[];
  databaseUrl: string;
  /** PostgreSQL: the longest a statement may run; SQLite: the longest a write waits for the lock. Then a 503. */
  dbStatementTimeoutMs: number;
  /** PostgreSQL: connections in the pool of each process (worker). */
  dbPoolSize: number;
  /** PostgreSQL: the hottest statements run as named prepared statements (off behind a transaction-mode pooler). */
  dbPreparedStatements: boolean;
  emailBackend: EmailBackend;
  smtpHost: string;
  smtpPort: number;
  smtpUser: string;
  smtpPassword: string;
  smtpTls: boolean;
  emailFrom: string;
  redisUrl: string | null;
  /** Prefix of every Redis key and channel: instances sharing a Redis but not a database need their own. */
  redisKeyPrefix: string;
  /**
   * Milliseconds an instance may answer the session check from a session read before, with Redis
   * (src/modules/auth/session-cache.ts); 0 (or no REDIS_URL): every check reads the database.
   */
  sessionCacheMs: number;
  rateLimitEnabled: boolean;
  /** Requests a minute per user (authenticated) or per client IP (anonymous). */
  rateLimitPerMinute: number;
  /** Requests a minute per client IP to each public auth route (login, register, refresh, …). */
  rateLimitAuthPerMinute: number;
  /** Login attempts per target username (or e-mail) in RATE_LIMIT_LOGIN_WINDOW_MINUTES, from any address. */
  rateLimitLoginPerUsername: number;
  rateLimitLoginWindowMinutes: number;
  maxSessionsPerUser: number;
  logLevel: LogLevel;
  bcryptRounds: number;
  defaultTimezone: string;
  verificationTokenExpireHours: number;
  /** Whether POST /api/auth/register accepts anyone; when false only a manager's invitation does. */
  registrationEnabled: boolean;
  /** Developers' working hours, [start, end) as HH:MM on their own wall clock. */
  workHoursStart: string;
  workHoursEnd: string;
  /** ADMIN_USERNAME / ADMIN_EMAIL / ADMIN_PASSWORD, all three or none. */
  admin: AdminBootstrap | null;
  auditRetentionDays: number;
  trustProxy: TrustProxy;
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  /** Worker processes serving the port (node:cluster); 1 runs a single process without a cluster. */
  webConcurrency: number;
  /** Whether /metrics (Prometheus text format) is served. */
  metricsEnabled: boolean;
  /** When set, /metrics is served on this port by a separate small server instead of the main port. */
  metricsPort: number | null;
  /** Whether this process runs the scheduled jobs (deadline warnings, escalation, retention). */
  jobsEnabled: boolean;
  jobsIntervalSeconds: number;
  /** Seconds between WebSocket pings; a socket that missed the previous pong is dropped. */
  wsHeartbeatSeconds: number;
  wsMaxSocketsPerUser: number;
  /** Whether webhooks may target private, loopback and link-local addresses (WEBHOOK_ALLOW_PRIVATE). */
  webhookAllowPrivate: boolean;
  /** Bound of one delivery attempt: connect, send, answer and its (capped) body. */
  webhookTimeoutMs: number;
  /** Attempts of one delivery before it is marked failed. */
  webhookMaxAttempts: number;
  /** The first retry's delay; each next one doubles (with jitter), up to an hour. */
  webhookBackoffBaseMs: number;
  /** How often the delivery worker looks for due deliveries (it is also woken after local writes). */
  webhookPollIntervalMs: number;
  /** Whether this process runs the webhook delivery worker. */
  webhookWorkerEnabled: boolean;
  /** A built single-page client served at / (absolute path; holds index.html), or null. */
  staticDir: string | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_DATA_DIR = './data';
export const DEFAULT_DATABASE_URL = 'sqlite:///./data/ctms.db';
const WEAK_SECRETS = new Set([
  'secret',
  'changeme',
  'change-me',
  'your-secret-key',
  'your-secret-key-here',
  'your-secret-key-change-in-production',
  'dev-secret-key',
]);
const MIN_SECRET_LENGTH = 32;
/** 40 × "a" is 40 characters but no secret: production also wants this much estimated entropy. */
const MIN_SECRET_ENTROPY_BITS = 128;
const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

/** Reads `.env` (if present) under the process environment: real variables win. */
export function readEnvironment(processEnv: Env = process.env, envFile = '.env'): Env {
  const fromFile = existsSync(envFile) ? parseDotenv(readFileSync(envFile)) : {};
  return { ...fromFile, ...processEnv };
}

export interface LoadOptions {
  /** Where a development secret is kept; null disables generating one. */
  dataDir?: string | null;
}

export function loadConfig(env: Env, options: LoadOptions = {}): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const str = (name: string, fallback: string): string => read(name) ?? fallback;
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!/^-?\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return Number(raw);
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = read(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name} must be a boolean (true/false), got "${raw}"`);
    return fallback;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = read(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  };

  const environment = oneOf<Environment>('ENVIRONMENT', ['development', 'production', 'test'], 'development');
  const algorithm = str('ALGORITHM', 'HS256');
  if (algorithm !== 'HS256') problems.push(`ALGORITHM must be HS256 (got "${algorithm}")`);

  const databaseUrl = str('DATABASE_URL', DEFAULT_DATABASE_URL);
  if (!/^(sqlite(\+aiosqlite)?:\/\/\/.+|sqlite(\+aiosqlite)?:\/\/\/:memory:|postgres(ql)?(\+asyncpg)?:\/\/.+)$/.test(databaseUrl)) {
    problems.push(
      'DATABASE_URL must be sqlite:///path, sqlite+aiosqlite:///path, postgresql://… or postgresql+asyncpg://…',
    );
  }

  const emailBackend = oneOf<EmailBackend>('EMAIL_BACKEND', ['console', 'smtp'], 'console');
  const smtpHost = str('SMTP_HOST', 'localhost');
  if (emailBackend === 'smtp' && read('SMTP_HOST') === undefined) {
    problems.push('SMTP_HOST is required when EMAIL_BACKEND=smtp');
  }

  const typedTimezone = str('DEFAULT_TIMEZONE', 'UTC');
  // Stored for new users as it is: in its official spelling.
  const defaultTimezone = normalizeTimeZone(typedTimezone);
  if (defaultTimezone === undefined) problems.push(`DEFAULT_TIMEZONE is not a known IANA time zone ("${typedTimezone}")`);

  const allowedOrigins = str('ALLOWED_ORIGINS', 'http://localhost:3000,http://localhost:5173')
    .split(',')
    .map((o) => o.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  for (const origin of allowedOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      problems.push(`ALLOWED_ORIGINS entry "${origin}" is not an origin like https://app.example.com`);
    }
  }
  if (environment === 'production' && allowedOrigins.includes('*')) {
    problems.push('ALLOWED_ORIGINS must list the browser origins in production: "*" would let any site call the API');
  }

  const redisUrl = read('REDIS_URL') ?? null;
  if (redisUrl !== null && !/^rediss?:\/\//.test(redisUrl)) problems.push('REDIS_URL must start with redis:// or rediss://');
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(str('REDIS_KEY_PREFIX', 'ctms'))) {
    problems.push('REDIS_KEY_PREFIX must be 1-64 letters, digits or :_.-');
  }

  const secretKey = read('SECRET_KEY');
  const weakSecret =
    secretKey !== undefined &&
    (secretKey.length < MIN_SECRET_LENGTH || WEAK_SECRETS.has(secretKey.toLowerCase()) || estimatedEntropyBits(secretKey) < MIN_SECRET_ENTROPY_BITS);
  if (weakSecret && environment === 'production') {
    problems.push(
      `SECRET_KEY is too weak: use at least ${MIN_SECRET_LENGTH} random characters carrying about ${MIN_SECRET_ENTROPY_BITS} bits ` +
        '(e.g. openssl rand -hex 32)',
    );
  }
  if (secretKey === undefined && environment === 'production') {
    problems.push(`SECRET_KEY is required in production: at least ${MIN_SECRET_LENGTH} random characters (e.g. openssl rand -hex 32)`);
  }

  const debug = bool('DEBUG', false);
  // DEBUG only makes the logs chattier; error responses never carry internals, whatever it says.
  const logLevel = oneOf<LogLevel>('LOG_LEVEL', LOG_LEVELS, debug ? 'debug' : environment === 'test' ? 'silent' : 'info');

  const config: Config = {
    appName: str('APP_NAME', 'CTMS'),
    appVersion: str('APP_VERSION', '1.0.0'),
    debug,
    environment,
    // Loopback unless told otherwise, in every environment: the image sets HOST=0.0.0.0 itself.
    host: str('HOST', '127.0.0.1'),
    port: int('PORT', 8000, 0, 65535),
    secretKey: secretKey ?? '',
    algorithm: 'HS256',
    accessTokenExpireMinutes: int('ACCESS_TOKEN_EXPIRE_MINUTES', 20, 1, 24 * 60),
    refreshTokenExpireDays: int('REFRESH_TOKEN_EXPIRE_DAYS', 3, 1, 365),
    refreshReuseGraceSeconds: int('REFRESH_REUSE_GRACE_SECONDS', 10, 0, 300),
    allowedOrigins,
    databaseUrl,
    dbStatementTimeoutMs: int('DB_STATEMENT_TIMEOUT_MS', 10_000, 100, 600_000),
    dbPoolSize: int('DB_POOL_SIZE', 10, 1, 1000),
    dbPreparedStatements: bool('DB_PREPARED_STATEMENTS', true),
    emailBackend,
    smtpHost,
    smtpPort: int('SMTP_PORT', 587, 1, 65535),
    smtpUser: str('SMTP_USER', ''),
    smtpPassword: str('SMTP_PASSWORD', ''),
    smtpTls: bool('SMTP_TLS', true),
    emailFrom: str('EMAIL_FROM', 'CTMS <noreply@ctms.local>'),
    redisUrl,
    redisKeyPrefix: str('REDIS_KEY_PREFIX', 'ctms'),
    sessionCacheMs: int('SESSION_CACHE_MS', 2000, 0, 60_000),
    // On by default in production only: development and tests stay unthrottled unless asked.
    rateLimitEnabled: bool('RATE_LIMIT_ENABLED', environment === 'production'),
    rateLimitPerMinute: int('RATE_LIMIT_PER_MINUTE', 60, 1, 1_000_000),
    rateLimitAuthPerMinute: int('RATE_LIMIT_AUTH_PER_MINUTE', 10, 1, 1_000_000),
    rateLimitLoginPerUsername: int('RATE_LIMIT_LOGIN_PER_USERNAME', 10, 1, 1_000_000),
    rateLimitLoginWindowMinutes: int('RATE_LIMIT_LOGIN_WINDOW_MINUTES', 15, 1, 24 * 60),
    maxSessionsPerUser: int('MAX_SESSIONS_PER_USER', 3, 1, 100),
    logLevel,
    bcryptRounds: int('BCRYPT_ROUNDS', 12, 4, 15),
    defaultTimezone: defaultTimezone ?? 'UTC',
    verificationTokenExpireHours: int('VERIFICATION_TOKEN_EXPIRE_HOURS', 24, 1, 24 * 30),
    registrationEnabled: bool('REGISTRATION_ENABLED', true),
    ...parseWorkHours(read('WORK_HOURS_START'), read('WORK_HOURS_END'), problems),
    admin: parseAdminBootstrap(read('ADMIN_USERNAME'), read('ADMIN_EMAIL'), env.ADMIN_PASSWORD, problems),
    auditRetentionDays: int('AUDIT_RETENTION_DAYS', 90, 1, 3650),
    trustProxy: parseTrustProxy(read('TRUST_PROXY'), problems),
    bodyLimitBytes: 1024 * 1024,
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    webConcurrency: parseWebConcurrency(read('WEB_CONCURRENCY'), problems),
    metricsEnabled: bool('METRICS_ENABLED', false),
    metricsPort: read('METRICS_PORT') === undefined ? null : int('METRICS_PORT', 0, 1, 65535),
    jobsEnabled: bool('JOBS_ENABLED', environment !== 'test'),
    jobsIntervalSeconds: int('JOBS_INTERVAL_SECONDS', 60, 1, 86_400),
    wsHeartbeatSeconds: int('WS_HEARTBEAT_SECONDS', 30, 1, 3600),
    wsMaxSocketsPerUser: int('WS_MAX_SOCKETS_PER_USER', 10, 1, 1000),
    webhookAllowPrivate: bool('WEBHOOK_ALLOW_PRIVATE', false),
    webhookTimeoutMs: int('WEBHOOK_TIMEOUT_MS', 5000, 100, 60_000),
    webhookMaxAttempts: int('WEBHOOK_MAX_ATTEMPTS', 8, 1, 25),
    webhookBackoffBaseMs: int('WEBHOOK_BACKOFF_BASE_MS', 15_000, 1, 3_600_000),
    webhookPollIntervalMs: int('WEBHOOK_POLL_INTERVAL_MS', 2000, 10, 600_000),
    webhookWorkerEnabled: bool('WEBHOOK_WORKER_ENABLED', environment !== 'test'),
    staticDir: parseStaticDir(read('STATIC_DIR'), problems),
  };
  if (config.metricsPort !== null && config.metricsPort === config.port) problems.push('METRICS_PORT must differ from PORT');
  if (problems.length > 0) throw new ConfigError(problems);
  if (secretKey === undefined) {
    // Development and test only: a secret that survives restarts, so logins survive them too.
    config.secretKey = options.dataDir === null ? randomBytes(32).toString('hex') : developmentSecret(options.dataDir ?? DEFAULT_DATA_DIR);
  }
  return Object.freeze(config);
}

/**
 * A rough estimate of a key's randomness: the Shannon entropy of its own character frequencies
 * times its length. Repeats and tiny alphabets score low (40 × "a": 0 bits; "abab…": 1 bit a
 * character); 64 random hex characters (openssl rand -hex 32) score about 240 bits.
 */
export function estimatedEntropyBits(key: string): number {
  const characters = [...key];
  const counts = new Map<string, number>();
  for (const character of characters) counts.set(character, (counts.get(character) ?? 0) + 1);
  let bitsPerCharacter = 0;
  for (const count of counts.values()) {
    const p = count / characters.length;
    bitsPerCharacter -= p * Math.log2(p);
  }
  return bitsPerCharacter * characters.length;
}

const CLOCK_TIME = /^([01]?\d|2[0-3]):([0-5]\d)$/;

/** Minutes since midnight of an HH:MM time; 24:00 (the end of the day) is 1440. */
export function minutesOfDay(time: string): number {
  if (time === '24:00') return 24 * 60;
  const match = CLOCK_TIME.exec(time);
  return match ? Number(match[1]) * 60 + Number(match[2]) : Number.NaN;
}

/** WORK_HOURS_START / WORK_HOURS_END: HH:MM times (the end may be 24:00), start before end. */
export function parseWorkHours(
  rawStart: string | undefined,
  rawEnd: string | undefined,
  problems: string[],
): { workHoursStart: string; workHoursEnd: string } {
  const time = (name: string, raw: string | undefined, fallback: string, allowEndOfDay: boolean): string | undefined => {
    if (raw === undefined) return fallback;
    if (CLOCK_TIME.test(raw) || (allowEndOfDay && raw === '24:00')) return raw.padStart(5, '0');
    problems.push(`${name} must be a time as HH:MM between 00:00 and ${allowEndOfDay ? '24:00' : '23:59'} (got "${raw}")`);
    return undefined;
  };
  const start = time('WORK_HOURS_START', rawStart, '09:00', false);
  const end = time('WORK_HOURS_END', rawEnd, '18:00', true);
  if (start !== undefined && end !== undefined && minutesOfDay(start) >= minutesOfDay(end)) {
    problems.push(`WORK_HOURS_START must be earlier than WORK_HOURS_END (got ${start} to ${end})`);
  }
  return { workHoursStart: start ?? '09:00', workHoursEnd: end ?? '18:00' };
}

const ADMIN_SETTINGS = ['ADMIN_USERNAME', 'ADMIN_EMAIL', 'ADMIN_PASSWORD'] as const;

/**
 * ADMIN_USERNAME / ADMIN_EMAIL / ADMIN_PASSWORD: all three or none, each by the API's rules for a
 * new account. The password is never echoed in a problem, and is kept as given (spaces count).
 */
export function parseAdminBootstrap(
  username: string | undefined,
  email: string | undefined,
  password: string | undefined,
  problems: string[],
): AdminBootstrap | null {
  const given = [username, email, password === '' ? undefined : password];
  if (given.every((value) => value === undefined)) return null;
  const missing = ADMIN_SETTINGS.filter((_, i) => given[i] === undefined);
  if (missing.length > 0) {
    problems.push(`ADMIN_USERNAME, ADMIN_EMAIL and ADMIN_PASSWORD go together: ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} missing`);
    return null;
  }
  const before = problems.length;
  if (!/^[A-Za-z0-9._@+-]{3,150}$/.test(username ?? '')) {
    problems.push('ADMIN_USERNAME must be 3-150 characters: letters, digits and ._@+-');
  }
  if ((email ?? '').length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email ?? '')) {
    problems.push(`ADMIN_EMAIL must be a valid e-mail address (got "${email}")`);
  }
  const weak = passwordProblem(password ?? '', 'ADMIN_PASSWORD');
  if (weak !== undefined) problems.push(weak);
  return problems.length > before ? null : { username: username ?? '', email: email ?? '', password: password ?? '' };
}

const MAX_WEB_CONCURRENCY = 256;

/** WEB_CONCURRENCY: a worker count, or `auto` for one worker per core the process may use. */
export function parseWebConcurrency(raw: string | undefined, problems: string[]): number {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '') return 1;
  if (value === 'auto') return availableParallelism();
  if (/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_WEB_CONCURRENCY) return Number(value);
  problems.push(`WEB_CONCURRENCY must be "auto" or an integer between 1 and ${MAX_WEB_CONCURRENCY} (got "${value}")`);
  return 1;
}

const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];
const MAX_PROXY_HOPS = 20;

/**
 * TRUST_PROXY: off (unset, false, 0), true (every proxy: only behind one that overwrites
 * X-Forwarded-For), a hop count, or a comma-separated list of proxy addresses and CIDRs (and
 * proxy-addr's names loopback, linklocal, uniquelocal). A list names every bad entry.
 */
export function parseTrustProxy(raw: string | undefined, problems: string[]): TrustProxy {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '' || ['false', 'no', 'off', '0'].includes(value)) return false;
  if (['true', 'yes', 'on'].includes(value)) return true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops <= MAX_PROXY_HOPS) return hops;
    problems.push(`TRUST_PROXY as a hop count must be between 1 and ${MAX_PROXY_HOPS} (got "${value}")`);
    return false;
  }
  const entries = value.split(',').map((entry) => entry.trim());
  const bad = entries.filter((entry) => !isProxyAddress(entry));
  if (bad.length > 0) {
    problems.push(
      'TRUST_PROXY must be false, true, a hop count or a comma-separated list of proxy addresses/CIDRs such as ' +
        `127.0.0.1,10.0.0.0/8 (not an address or CIDR: ${bad.map((entry) => `"${entry}"`).join(', ')})`,
    );
    return false;
  }
  return entries;
}

function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.includes(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  // Zone ids (fe80::1%eth0) are not understood by the proxy matcher.
  const version = address.includes('%') ? 0 : isIP(address);
  if (version === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128));
}

/** Development convenience: a random secret generated once and kept under the data directory. */
function developmentSecret(dataDir: string): string {
  const file = resolve(dataDir, '.secret_key');
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length >= MIN_SECRET_LENGTH) return kept;
  }
  const secret = randomBytes(32).toString('hex');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** A complete configuration for tests and tools, with overrides. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  const base = loadConfig({ ENVIRONMENT: 'test', SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789', BCRYPT_ROUNDS: '4' }, { dataDir: null });
  return Object.freeze({ ...base, ...overrides });
}

/** STATIC_DIR: an existing directory holding the client's index.html, kept as an absolute path. */
export function parseStaticDir(raw: string | undefined, problems: string[]): string | null {
  if (raw === undefined) return null;
  const dir = resolve(raw);
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory() !== true) {
    problems.push(`STATIC_DIR must be a directory holding the built client (not a directory: "${dir}")`);
  } else if (statSync(join(dir, 'index.html'), { throwIfNoEntry: false })?.isFile() !== true) {
    problems.push(`STATIC_DIR must hold the client's index.html (none in "${dir}")`);
  }
  return dir;
}
