import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, readEnvironment } from '../../src/config.js';
import { parseDatabaseUrl } from '../../src/db/database.js';

const strongSecret = 'a'.repeat(16) + 'b'.repeat(16) + 'c'.repeat(8);

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, { dataDir: null });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('uses the original service defaults when nothing is set', () => {
    const config = loadConfig({}, { dataDir: null });
    expect(config).toMatchObject({
      appName: 'CTMS',
      environment: 'development',
      port: 8000,
      algorithm: 'HS256',
      accessTokenExpireMinutes: 20,
      refreshTokenExpireDays: 3,
      maxSessionsPerUser: 3,
      bcryptRounds: 12,
      defaultTimezone: 'UTC',
      emailBackend: 'console',
      databaseUrl: 'sqlite:///./data/ctms.db',
      redisUrl: null,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every variable by its original name', () => {
    const config = loadConfig(
      {
        APP_NAME: 'Tasks',
        APP_VERSION: '2.0.0',
        DEBUG: 'true',
        ENVIRONMENT: 'production',
        HOST: '127.0.0.1',
        PORT: '9000',
        SECRET_KEY: strongSecret,
        ALGORITHM: 'HS256',
        ACCESS_TOKEN_EXPIRE_MINUTES: '5',
        REFRESH_TOKEN_EXPIRE_DAYS: '7',
        ALLOWED_ORIGINS: 'https://a.example.com, https://b.example.com/',
        DATABASE_URL: 'postgresql+asyncpg://u:p@db:5432/ctms',
        EMAIL_BACKEND: 'smtp',
        SMTP_HOST: 'mail',
        SMTP_PORT: '2525',
        SMTP_USER: 'bot',
        SMTP_PASSWORD: 'pw',
        SMTP_TLS: 'false',
        EMAIL_FROM: 'x@y.z',
        REDIS_URL: 'redis://cache:6379/0',
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_PER_MINUTE: '100',
        MAX_SESSIONS_PER_USER: '5',
        LOG_LEVEL: 'warn',
        BCRYPT_ROUNDS: '10',
        DEFAULT_TIMEZONE: 'Asia/Kolkata',
        VERIFICATION_TOKEN_EXPIRE_HOURS: '48',
        TRUST_PROXY: 'true',
      },
      { dataDir: null },
    );
    expect(config).toMatchObject({
      appName: 'Tasks',
      appVersion: '2.0.0',
      debug: true,
      environment: 'production',
      host: '127.0.0.1',
      port: 9000,
      accessTokenExpireMinutes: 5,
      refreshTokenExpireDays: 7,
      allowedOrigins: ['https://a.example.com', 'https://b.example.com'],
      emailBackend: 'smtp',
      smtpHost: 'mail',
      smtpPort: 2525,
      smtpTls: false,
      redisUrl: 'redis://cache:6379/0',
      rateLimitEnabled: true,
      rateLimitPerMinute: 100,
      maxSessionsPerUser: 5,
      logLevel: 'warn',
      bcryptRounds: 10,
      defaultTimezone: 'Asia/Kolkata',
      verificationTokenExpireHours: 48,
      trustProxy: true,
    });
  });

  it('logs at debug level with DEBUG=true unless LOG_LEVEL is set', () => {
    expect(loadConfig({ DEBUG: 'true' }, { dataDir: null }).logLevel).toBe('debug');
    expect(loadConfig({ DEBUG: 'true', LOG_LEVEL: 'warn' }, { dataDir: null }).logLevel).toBe('warn');
    expect(loadConfig({}, { dataDir: null }).logLevel).toBe('info');
  });

  it('lists every problem at once in one message', () => {
    const problems = problemsOf({ PORT: 'eighty', ENVIRONMENT: 'staging', DEBUG: 'maybe', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' });
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).toMatch(/PORT/);
    expect(problems.join('\n')).toMatch(/ENVIRONMENT/);
    expect(problems.join('\n')).toMatch(/DEBUG/);
    expect(problems.join('\n')).toMatch(/DATABASE_URL/);
    expect(problems.join('\n')).toMatch(/LOG_LEVEL/);
    expect(() => loadConfig({ PORT: 'eighty', DEBUG: 'maybe' }, { dataDir: null })).toThrow(
      /Invalid configuration:\n {2}- .*\n {2}- .*/,
    );
  });

  it.each([
    ['missing', {}],
    ['short', { SECRET_KEY: 'short-secret' }],
    ['a well-known default', { SECRET_KEY: 'your-secret-key-change-in-production' }],
  ])('refuses to start in production with a %s SECRET_KEY', (_label, env) => {
    const problems = problemsOf({ ENVIRONMENT: 'production', ...env });
    expect(problems.some((p) => p.includes('SECRET_KEY'))).toBe(true);
  });

  it('generates a development secret once and keeps it under the data directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctms-config-'));
    const first = loadConfig({}, { dataDir: dir });
    const second = loadConfig({}, { dataDir: dir });
    expect(first.secretKey.length).toBeGreaterThanOrEqual(32);
    expect(second.secretKey).toBe(first.secretKey);
    expect(readFileSync(join(dir, '.secret_key'), 'utf8').trim()).toBe(first.secretKey);
  });

  it('rejects an unknown DEFAULT_TIMEZONE, a non-HS256 ALGORITHM and an SMTP backend without a host', () => {
    const problems = problemsOf({ DEFAULT_TIMEZONE: 'Mars/Olympus', ALGORITHM: 'RS256', EMAIL_BACKEND: 'smtp' });
    expect(problems).toHaveLength(3);
  });

  it('keeps DEFAULT_TIMEZONE in its official IANA spelling and refuses names outside the tz database', () => {
    expect(loadConfig({ DEFAULT_TIMEZONE: 'asia/kolkata' }, { dataDir: null }).defaultTimezone).toBe('Asia/Kolkata');
    expect(loadConfig({ DEFAULT_TIMEZONE: 'us/eastern' }, { dataDir: null }).defaultTimezone).toBe('US/Eastern');
    expect(problemsOf({ DEFAULT_TIMEZONE: 'SystemV/AST4' })).toEqual([expect.stringContaining('DEFAULT_TIMEZONE')]);
  });

  it('reads .env under the real environment, which wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctms-env-'));
    const file = join(dir, '.env');
    writeFileSync(file, 'APP_NAME=FromFile\nPORT=9100\n');
    const env = readEnvironment({ PORT: '9200' }, file);
    expect(env.APP_NAME).toBe('FromFile');
    expect(env.PORT).toBe('9200');
    expect(existsSync(join(dir, 'missing'))).toBe(false);
    expect(readEnvironment({ A: '1' }, join(dir, 'missing'))).toEqual({ A: '1' });
  });
});

describe('DATABASE_URL forms', () => {
  it.each([
    ['sqlite:///./data/ctms.db', 'sqlite', './data/ctms.db'],
    ['sqlite+aiosqlite:///./data/ctms.db', 'sqlite', './data/ctms.db'],
    ['sqlite:////var/lib/ctms/ctms.db', 'sqlite', '/var/lib/ctms/ctms.db'],
    ['postgresql://u:p@localhost:5432/ctms', 'postgres', 'postgresql://u:p@localhost:5432/ctms'],
    ['postgresql+asyncpg://u:p@localhost:5432/ctms', 'postgres', 'postgresql://u:p@localhost:5432/ctms'],
  ])('accepts %s', (url, dialect, target) => {
    expect(problemsOf({ DATABASE_URL: url })).toEqual([]);
    expect(parseDatabaseUrl(url)).toEqual({ dialect, target });
  });
});
