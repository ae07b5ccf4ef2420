import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { estimatedEntropyBits, loadConfig, readEnvironment } from '../../src/config.js';
import { parseDatabaseUrl } from '../../src/db/database.js';
import { buildTestApp } from '../helpers/app.js';
import { problemsOf } from '../helpers/config.js';

/** What `openssl rand -hex 32` prints. */
const strongSecret = '5f0c9e3b7a12d84c6e0b9f3a21c7d5e8b4a69f0e3d2c1b7a8e5f4d3c2b1a0f9e';

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
      refreshReuseGraceSeconds: 10,
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
        REFRESH_REUSE_GRACE_SECONDS: '0',
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
      refreshReuseGraceSeconds: 0,
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

  it('refuses a REFRESH_REUSE_GRACE_SECONDS that is negative, fractional or over 300', () => {
    for (const value of ['-1', '2.5', '301', 'ten']) {
      expect(problemsOf({ REFRESH_REUSE_GRACE_SECONDS: value }), value).toEqual([expect.stringContaining('REFRESH_REUSE_GRACE_SECONDS')]);
    }
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

  it.each([
    ['40 × "a"', 'a'.repeat(40)],
    ['a repeated pair', 'ab'.repeat(20)],
    ['three letters in runs', 'a'.repeat(16) + 'b'.repeat(16) + 'c'.repeat(8)],
    ['a short alphabet', '0123'.repeat(12)],
  ])('refuses to start in production with a long but low-entropy SECRET_KEY (%s)', (_label, secret) => {
    expect(estimatedEntropyBits(secret)).toBeLessThan(128);
    const problems = problemsOf({ ENVIRONMENT: 'production', SECRET_KEY: secret });
    expect(problems).toEqual([expect.stringContaining('SECRET_KEY is too weak')]);
  });

  it('accepts the keys openssl rand -hex 32 and -base64 32 print, every time', () => {
    expect(problemsOf({ ENVIRONMENT: 'production', SECRET_KEY: strongSecret })).toEqual([]);
    for (let i = 0; i < 500; i += 1) {
      for (const key of [randomBytes(32).toString('hex'), randomBytes(32).toString('base64')]) {
        expect(problemsOf({ ENVIRONMENT: 'production', SECRET_KEY: key }), key).toEqual([]);
      }
    }
  });

  it('keeps a low-entropy SECRET_KEY usable in development', () => {
    expect(loadConfig({ SECRET_KEY: 'a'.repeat(40) }, { dataDir: null }).secretKey).toBe('a'.repeat(40));
  });

  it('refuses ALLOWED_ORIGINS=* in production, alone or in a list, and keeps it in development', () => {
    for (const origins of ['*', 'https://app.example.com,*']) {
      const problems = problemsOf({ ENVIRONMENT: 'production', SECRET_KEY: strongSecret, ALLOWED_ORIGINS: origins });
      expect(problems).toEqual([expect.stringContaining('ALLOWED_ORIGINS')]);
    }
    expect(loadConfig({ ALLOWED_ORIGINS: '*' }, { dataDir: null }).allowedOrigins).toEqual(['*']);
  });

  it('generates a development secret once and keeps it under the data directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctms-config-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
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
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
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

describe('ALLOWED_ORIGINS=* (development only)', () => {
  const origins = ['*', 'https://app.example.com'];
  const get = async (origin: string) => {
    const t = await buildTestApp({ environment: 'development', allowedOrigins: origins });
    try {
      const simple = await t.app.inject({ method: 'GET', url: '/health', headers: { origin } });
      const preflight = await t.app.inject({
        method: 'OPTIONS',
        url: '/api/auth/refresh',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      return { simple: simple.headers, preflight: preflight.headers };
    } finally {
      await t.close();
    }
  };

  it('lets any other origin read responses but never with credentials, and never echoes it', async () => {
    const { simple, preflight } = await get('https://evil.example.net');
    for (const headers of [simple, preflight]) {
      expect(headers['access-control-allow-origin']).toBe('*');
      expect(headers['access-control-allow-credentials']).toBeUndefined();
    }
  });

  it('still grants credentials to an origin listed by name', async () => {
    const { simple, preflight } = await get('https://app.example.com');
    for (const headers of [simple, preflight]) {
      expect(headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(headers['access-control-allow-credentials']).toBe('true');
    }
  });
});

describe('docker-compose.yml', () => {
  it('does not trust X-Forwarded-For when the API port is published directly', () => {
    const compose = readFileSync(join(__dirname, '../../docker-compose.yml'), 'utf8');
    // The api service up to the next service; TRUST_PROXY may sit in a shared environment block.
    const api = /\n {2}api:\n((?: {4}.*\n|\s*\n)*)/.exec(compose)?.[1] ?? '';
    expect(api).not.toBe('');
    const publishesPort = /\n {4}ports:/.test(`\n${api}`);
    const trustsProxy = /TRUST_PROXY:\s*"?(?!(?:false|0|off|no)\b)[^"\s]+/i.test(compose);
    expect(publishesPort && trustsProxy).toBe(false);
  });
});
