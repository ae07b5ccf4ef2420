// Logs people can read: one line per request (method, redacted URL, status, duration, request id,
// user), probes at debug level, pretty single lines on a developer's terminal, a start-up summary
// without secrets and a shutdown line — in the app, and in a real server process.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { logDestination, startupSummary } from '../../src/runtime/log-output.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { captureLogs, type CapturedLogs } from '../helpers/auth.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { createUserWithSession } from '../helpers/factories.js';
import { freePort, SOURCE_SERVER, sourceServerEnv, startServer } from '../helpers/processes.js';
import { listen, openSocket, socketUrl } from '../helpers/sockets.js';

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  method?: string;
  url?: string;
  statusCode?: number;
  responseTime?: number;
  userId?: number;
  [field: string]: unknown;
}

/** The JSON lines of captured output (a process also writes Node's warnings there). */
const parse = (chunks: readonly string[]): LogLine[] =>
  chunks
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
const INFO = 30;
const DEBUG = 20;

describe('request log lines', () => {
  let t: TestApp;
  let logs: CapturedLogs;
  beforeAll(async () => {
    logs = captureLogs('debug');
    t = await buildTestApp({ metricsEnabled: true }, { logger: logs.logger });
  });
  afterAll(async () => {
    await t.close();
  });

  /** The lines logged while `act` ran. */
  async function linesOf(act: () => Promise<unknown>): Promise<LogLine[]> {
    const from = logs.lines.length;
    await act();
    return parse(logs.lines.slice(from));
  }

  it('writes exactly one line per request, with method, URL, status, duration, request id and user', async () => {
    const { user, headers } = await createUserWithSession(t.app, { role: 'manager' });
    let requestId = '';
    const lines = await linesOf(async () => {
      const res = await t.app.inject({ method: 'GET', url: '/api/tasks?status=pending', headers });
      expect(res.statusCode).toBe(200);
      requestId = String(res.headers['x-request-id']);
    });
    const mine = lines.filter((line) => line.reqId === requestId);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      level: INFO,
      method: 'GET',
      url: '/api/tasks?status=pending',
      statusCode: 200,
      userId: user.id,
      msg: expect.stringMatching(/^GET \/api\/tasks\?status=pending 200 \d+(\.\d)? ms$/),
    });
    expect(mine[0]?.responseTime).toBeGreaterThanOrEqual(0);
    // No secret reaches the line: not the Authorization header, not the token.
    expect(JSON.stringify(lines)).not.toContain(headers.authorization.slice('Bearer '.length));
  });

  it('writes the line of an anonymous or refused request too, without a user', async () => {
    const lines = await linesOf(() => t.app.inject({ method: 'POST', url: '/api/tasks', payload: { title: 'x' } }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: INFO, method: 'POST', url: '/api/tasks', statusCode: 401 });
    expect(lines[0]).not.toHaveProperty('userId');
  });

  it('redacts token parameters in the URL', async () => {
    const lines = await linesOf(() => t.app.inject({ method: 'GET', url: '/api/tasks?token=s3cr3t-value&access_token=other-secret&page=2' }));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.url).toBe('/api/tasks?token=[redacted]&access_token=[redacted]&page=2');
    expect(JSON.stringify(lines)).not.toMatch(/s3cr3t-value|other-secret/);
  });

  it('writes one line for a WebSocket upgrade, its token redacted', async () => {
    const { accessToken } = await createUserWithSession(t.app);
    const address = await listen(t.app);
    const lines = await linesOf(async () => {
      const socket = await openSocket(socketUrl(address, accessToken));
      await socket.roundTrip();
      await socket.close();
    });
    const upgrades = lines.filter((line) => line.url?.startsWith('/ws/notifications'));
    expect(upgrades).toEqual([expect.objectContaining({ level: INFO, method: 'GET', url: '/ws/notifications?token=[redacted]', upgrade: 'websocket' })]);
    expect(JSON.stringify(lines)).not.toContain(accessToken);
  });

  it.each(['/health', '/health/ready', '/metrics'])('logs %s at debug level', async (url) => {
    const lines = await linesOf(() => t.app.inject({ method: 'GET', url }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: DEBUG, url, statusCode: 200 });
  });
});

describe('log output', () => {
  const capture = () => {
    let text = '';
    const stream = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          text += chunk.toString();
          done();
        },
      }),
      { isTTY: true },
    );
    return { stream, text: () => text };
  };

  it('is pretty single lines in development on a terminal, the fields shown once', async () => {
    const out = capture();
    const destination = await logDestination(testConfig({ environment: 'development' }), out.stream);
    expect(destination).toBeDefined();
    const log = pino({ level: 'info' }, destination);
    log.info({ reqId: 'req-1', method: 'GET', url: '/api/tasks', statusCode: 200, responseTime: 1.5, userId: 7 }, 'GET /api/tasks 200 1.5 ms');
    const lines = out.text().split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: GET \/api\/tasks 200 1\.5 ms \{"reqId":"req-1","userId":7\}$/);
  });

  it('stays JSON off a terminal, in production, and when pino-pretty cannot be loaded', async () => {
    const pipe = Object.assign(capture().stream, { isTTY: false });
    expect(await logDestination(testConfig({ environment: 'development' }), pipe)).toBeUndefined();
    expect(await logDestination(testConfig({ environment: 'production' }), capture().stream)).toBeUndefined();
    const missing = () => Promise.reject(new Error("Cannot find package 'pino-pretty'"));
    expect(await logDestination(testConfig({ environment: 'development' }), capture().stream, missing)).toBeUndefined();
  });
});

describe('start-up summary', () => {
  it('says where, in which environment, on what database, mail and Redis, never a password', () => {
    const config = testConfig({
      host: '127.0.0.1',
      port: 8123,
      environment: 'production',
      databaseUrl: 'postgresql+asyncpg://ctms:pg-pass-123@db.internal:5432/ctms?sslmode=require&password=other-pass',
      emailBackend: 'smtp',
      smtpHost: 'mail.internal',
      smtpPort: 2525,
      smtpPassword: 'smtp-pass-456',
      redisUrl: 'redis://:redis-pass-789@cache:6379/0',
    });
    const { fields, message } = startupSummary(config, { migrationsApplied: 2, workers: 4 });
    expect(fields).toEqual({
      url: 'http://127.0.0.1:8123',
      environment: 'production',
      database: 'PostgreSQL db.internal:5432/ctms',
      migrationsApplied: 2,
      mail: 'smtp mail.internal:2525',
      redis: 'on',
      workers: 4,
    });
    expect(message).toBe(
      'CTMS 1.0.0 listening on http://127.0.0.1:8123 (docs at http://127.0.0.1:8123/docs): production, PostgreSQL db.internal:5432/ctms, ' +
        '2 migrations applied, mail smtp mail.internal:2525, Redis on, 4 workers',
    );
    expect(JSON.stringify({ fields, message })).not.toMatch(/pass|ctms:/);
  });

  it('names a SQLite file, no migrations and one worker', () => {
    const { message } = startupSummary(testConfig({ databaseUrl: 'sqlite:///./data/ctms.db' }), { migrationsApplied: 0, workers: 1 });
    expect(message).toContain(': test, SQLite ./data/ctms.db, no migrations applied, mail console, Redis off, 1 worker');
  });
});

describe('a server process', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await database.cleanup();
  });

  it('logs its summary, one line per request (none for /health at info), and a shutdown line', async () => {
    const port = await freePort();
    const server = await startServer(
      sourceServerEnv({ DATABASE_URL: database.url, PORT: String(port), LOG_LEVEL: 'info' }),
      40_000,
      SOURCE_SERVER,
    );
    const api = await fetch(`${server.url}/api/tasks`);
    expect(api.status).toBe(401);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect(await server.stop()).toBe(0);

    const lines = parse([server.output()]);
    const summary = lines.find((line) => line.msg.includes('listening on http://127.0.0.1'));
    expect(summary).toMatchObject({ url: `http://127.0.0.1:${port}`, environment: 'production', mail: 'console', redis: 'off', workers: 1 });
    expect(summary?.migrationsApplied).toBeGreaterThan(0);
    expect(summary?.database).toMatch(/^(SQLite|PostgreSQL) /);
    const requests = lines.filter((line) => line.statusCode !== undefined);
    expect(requests).toEqual([expect.objectContaining({ level: INFO, method: 'GET', url: '/api/tasks', statusCode: 401, reqId: api.headers.get('x-request-id') })]);
    expect(lines.at(-1)?.msg).toMatch(/^stopped after \d+ ms/);
  }, 60_000);
});
