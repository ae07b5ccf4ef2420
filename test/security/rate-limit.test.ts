// Rate limits on the real app: per user with a valid access token, per personal API token, per client
// address without either, stricter per address on the public auth routes, per account on login whatever the address; 429s
// that look like every other error; counters shared by instances through Redis, and local counting
// when Redis is unreachable.
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/lib/hash.js';
import { accessTokenClaims } from '../../src/plugins/auth.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { bearer, captureLogs, craftJwt } from '../helpers/auth.js';
import { createUser } from '../helpers/factories.js';
import { buildSecondInstance, eventually } from '../helpers/sockets.js';
import { signIn, type Session } from '../helpers/tasks.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** A Redis key prefix of this file's own, so parallel test files never share counters. */
const redisKeyPrefix = `ctms-test-${randomBytes(6).toString('hex')}`;

const limits = { rateLimitEnabled: true, rateLimitPerMinute: 5, rateLimitAuthPerMinute: 3, rateLimitLoginPerUsername: 4 };
/** The app trusts the test's own loopback "proxy", so each test can pick its client's address. */
const behindProxy = { ...limits, trustProxy: ['127.0.0.1'] };

let addressCounter = 0;
/** A client address no other test has used (each has fresh counters). */
const newAddress = () => {
  addressCounter += 1;
  return `198.51.100.${addressCounter}`;
};
const from = (address: string) => ({ 'x-forwarded-for': address });

/** Sends `count` requests one after the other and returns their responses. */
async function repeat(count: number, send: () => Promise<LightMyRequestResponse>): Promise<LightMyRequestResponse[]> {
  const responses: LightMyRequestResponse[] = [];
  for (let i = 0; i < count; i += 1) responses.push(await send());
  return responses;
}
const statuses = (responses: LightMyRequestResponse[]) => responses.map((r) => r.statusCode);

function expectTooManyRequests(res: LightMyRequestResponse, maxSeconds = 60): void {
  expect(res.statusCode).toBe(429);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json();
  expect(Object.keys(body)).toEqual(['detail']);
  expect(typeof body.detail).toBe('string');
  expect(body.detail).toMatch(/^Too many requests: try again in \d+ seconds?$/);
  const retryAfter = String(res.headers['retry-after']);
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThan(0);
  expect(Number(retryAfter)).toBeLessThanOrEqual(maxSeconds);
  expect(res.headers['x-request-id']).toBeTruthy();
  expect(res.headers['x-process-time']).toMatch(/^\d+\.\d+$/);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
}

const me = (app: FastifyInstance, headers: Record<string, string>) => app.inject({ method: 'GET', url: '/api/auth/users/me', headers });
const login = (app: FastifyInstance, username: string, password: string, headers: Record<string, string>) =>
  app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password }, headers });

/** A new personal API token of the session's user. */
async function createApiToken(app: FastifyInstance, session: Session): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/auth/tokens', headers: session.headers, payload: { name: 'script', scope: 'read' } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ token: string }>().token;
}

describe('rate limits, counted in memory', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp(behindProxy);
  });
  afterAll(async () => {
    await t.close();
  });

  it('limits each user separately: two users from one address each get their own allowance', async () => {
    const address = newAddress();
    const alice = await signIn(t.app);
    const bob = await signIn(t.app);
    const first = await repeat(6, () => me(t.app, { ...alice.headers, ...from(address) }));
    expect(statuses(first)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(first[0]!.headers['x-ratelimit-limit']).toBe('5');
    expect(first[0]!.headers['x-ratelimit-remaining']).toBe('4');
    expectTooManyRequests(first[5]!);

    expect((await me(t.app, { ...bob.headers, ...from(address) })).statusCode).toBe(200);
    // Alice stays limited from anywhere: her counter follows her token, not her address.
    expectTooManyRequests(await me(t.app, { ...alice.headers, ...from(newAddress()) }));
  });

  it('limits anonymous requests per client address', async () => {
    const address = newAddress();
    const responses = await repeat(6, () => t.app.inject({ method: 'GET', url: '/api/tasks', headers: from(address) }));
    expect(statuses(responses)).toEqual([401, 401, 401, 401, 401, 429]);
    expectTooManyRequests(responses[5]!);
    expect((await t.app.inject({ method: 'GET', url: '/api/tasks', headers: from(newAddress()) })).statusCode).toBe(401);
  });

  it('counts a token that does not verify against the address, whatever user it claims', async () => {
    const address = newAddress();
    const forged = (sub: number) =>
      craftJwt({ alg: 'HS256', typ: 'JWT' }, { sub: String(sub), sid: 1, jti: `j${sub}`, type: 'access', iat: 0, exp: 4_102_444_800 }, 'not-the-secret');
    let sub = 1000;
    const responses = await repeat(6, () => me(t.app, { authorization: `Bearer ${forged((sub += 1))}`, ...from(address) }));
    expect(statuses(responses)).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('limits each personal API token separately: two tokens from one address each get their own allowance', async () => {
    const address = newAddress();
    const user = await signIn(t.app);
    const [first, second] = [await createApiToken(t.app, user), await createApiToken(t.app, user)];
    const responses = await repeat(6, () => me(t.app, { ...bearer(first), ...from(address) }));
    expect(statuses(responses)).toEqual([200, 200, 200, 200, 200, 429]);
    expectTooManyRequests(responses[5]!);

    expect((await me(t.app, { ...bearer(second), ...from(address) })).statusCode).toBe(200);
    // The address lent each token its first request only (before this instance had accepted it).
    expect((await t.app.inject({ method: 'GET', url: '/api/tasks', headers: from(address) })).headers['x-ratelimit-remaining']).toBe('2');
    // The first token stays limited from anywhere: its counter follows the token.
    expectTooManyRequests(await me(t.app, { ...bearer(first), ...from(newAddress()) }));
    // The token's user has an allowance of their own.
    expect((await me(t.app, { ...user.headers, ...from(address) })).statusCode).toBe(200);
  });

  it('counts made-up API tokens against the address, so they cannot each get an allowance', async () => {
    const address = newAddress();
    const responses = await repeat(6, () => me(t.app, { ...bearer(`ctms_${randomBytes(32).toString('base64url')}`), ...from(address) }));
    expect(statuses(responses)).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('does not try a personal API token as a JWT', async () => {
    const request = (authorization: string) => ({ headers: { authorization }, accessClaims: undefined }) as unknown as FastifyRequest;
    const user = await signIn(t.app);
    const token = await createApiToken(t.app, user);
    let reads = 0;
    const clock = {
      now: () => {
        reads += 1;
        return new Date();
      },
    };
    const counting = Object.assign(Object.create(t.app) as FastifyInstance, { clock });
    expect(accessTokenClaims(counting, request(`Bearer ${token}`))).toBeNull();
    expect(reads).toBe(0);
    // An access token is verified, against the clock.
    expect(accessTokenClaims(counting, request(user.headers.authorization))?.userId).toBe(user.user.id);
    expect(reads).toBe(1);
  });

  it('counts unknown paths too', async () => {
    const address = newAddress();
    const responses = await repeat(6, () => t.app.inject({ method: 'GET', url: `/api/nothing-here-${randomBytes(2).toString('hex')}`, headers: from(address) }));
    expect(statuses(responses)).toEqual([404, 404, 404, 404, 404, 429]);
    expectTooManyRequests(responses[5]!);
  });

  it('never limits /health, /, /docs and /openapi.json', async () => {
    const address = newAddress();
    for (const url of ['/health', '/', '/openapi.json', '/docs']) {
      const responses = await repeat(8, () => t.app.inject({ method: 'GET', url, headers: from(address) }));
      expect(statuses(responses).filter((status) => status === 429)).toEqual([]);
      expect(responses[0]!.headers['x-ratelimit-limit']).toBeUndefined();
    }
    // …and they did not use up the address's allowance for the API.
    expect((await t.app.inject({ method: 'GET', url: '/api/tasks', headers: from(address) })).headers['x-ratelimit-remaining']).toBe('4');
  });

  it('limits each public auth route per address, more strictly, even for a signed-in caller', async () => {
    const address = newAddress();
    const user = await signIn(t.app);
    const resend = () =>
      t.app.inject({ method: 'POST', url: '/api/auth/resend-verification', payload: { email: 'nobody@example.com' }, headers: { ...user.headers, ...from(address) } });
    const responses = await repeat(4, resend);
    expect(statuses(responses)).toEqual([202, 202, 202, 429]);
    expectTooManyRequests(responses[3]!);
    // Another auth route has its own counter; the user's API allowance is untouched.
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/verify-email', payload: { token: 'x' }, headers: from(address) })).statusCode).toBe(400);
    expect((await me(t.app, { ...user.headers, ...from(address) })).headers['x-ratelimit-remaining']).toBe('4');
  });

  it.each([
    ['/api/auth/register', { username: 'someone', email: 'someone@example.com', password: 'x' }],
    ['/api/auth/verify-email', { token: 'unknown' }],
    ['/api/auth/refresh', undefined],
    ['/api/auth/login', { username: 'nobody', password: 'wrong-password' }],
  ])('limits POST %s to the auth allowance per address', async (url, payload) => {
    const address = newAddress();
    const responses = await repeat(4, () => t.app.inject({ method: 'POST', url: `${url}/`, payload, headers: from(address) }));
    expect(statuses(responses).slice(0, 3)).not.toContain(429);
    expectTooManyRequests(responses[3]!);
  });

  it('limits login attempts per username from many addresses, whatever its case', async () => {
    const victim = await createUser(t.app, { username: `Victim_${randomBytes(3).toString('hex')}` });
    // Four wrong guesses, each from a different address (far under each address's own limit).
    const spellings = [victim.username, victim.username.toUpperCase(), victim.username.toLowerCase(), victim.username];
    const guesses: LightMyRequestResponse[] = [];
    for (const spelling of spellings) guesses.push(await login(t.app, spelling, 'wrong-password', from(newAddress())));
    expect(statuses(guesses)).toEqual([400, 400, 400, 400]);

    const blocked = await login(t.app, victim.username, victim.password, from(newAddress()));
    expectTooManyRequests(blocked, 15 * 60);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(60);

    // Other accounts are unaffected; the e-mail has a counter of its own, so being limited never
    // tells which e-mail belongs to which username.
    const other = await createUser(t.app);
    expect((await login(t.app, other.username, other.password, from(newAddress()))).statusCode).toBe(200);
    expect((await login(t.app, victim.email, victim.password, from(newAddress()))).statusCode).toBe(200);
  });

  it('limits login attempts per unknown identifier too, without revealing whether it exists', async () => {
    const name = `ghost_${randomBytes(3).toString('hex')}`;
    const responses = await repeat(5, () => login(t.app, name, 'wrong-password', from(newAddress())));
    expect(statuses(responses)).toEqual([400, 400, 400, 400, 429]);
  });

  it('documents 429 on the limited routes and not on the exempt ones', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const loginOperation = doc.paths['/api/auth/login'].post;
    expect(loginOperation.responses['429']).toBeDefined();
    expect(loginOperation.description).toMatch(/3 requests a minute per client address, and 4 attempts per username or e-mail every 15 minutes/);
    expect(doc.paths['/api/tasks'].get.responses['429']).toBeDefined();
    expect(doc.paths['/api/tasks'].get.description).toMatch(/5 requests a minute per user or personal API token/);
    expect(doc.paths['/health'].get.responses['429']).toBeUndefined();
  });
});

describe('rate limits switched off (the default outside production)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers every request and sends no rate-limit headers', async () => {
    expect(t.config.rateLimitEnabled).toBe(false);
    const responses = await repeat(15, () => login(t.app, 'nobody', 'wrong-password', {}));
    expect(statuses(responses).filter((status) => status !== 400)).toEqual([]);
    expect(responses[0]!.headers['x-ratelimit-limit']).toBeUndefined();
  });
});

describe('two instances sharing Redis', () => {
  let a: TestApp;
  let b: FastifyInstance;
  const logs = captureLogs('info');

  beforeAll(async () => {
    a = await buildTestApp({ ...behindProxy, redisUrl: REDIS_URL, redisKeyPrefix }, { logger: logs.logger });
    b = await buildSecondInstance(a);
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('counts a user\'s requests to either instance against one limit', async () => {
    const user = await signIn(a.app);
    let turn = 0;
    const responses = await repeat(6, () => me((turn += 1) % 2 === 0 ? a.app : b, user.headers));
    expect(statuses(responses)).toEqual([200, 200, 200, 200, 200, 429]);
    expectTooManyRequests(responses[5]!);
    expectTooManyRequests(await me(a.app, user.headers));
  });

  it("counts a personal API token's requests to either instance against one limit, keyed by its hash alone", async () => {
    const user = await signIn(a.app);
    const token = await createApiToken(a.app, user);
    let turn = 0;
    const responses = await repeat(6, () => me((turn += 1) % 2 === 0 ? a.app : b, { ...bearer(token), ...from(newAddress()) }));
    expect(statuses(responses)).toEqual([200, 200, 200, 200, 200, 429]);
    expectTooManyRequests(responses[5]!);

    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${redisKeyPrefix}:*`);
      expect(keys.filter((key) => key.endsWith(`token:${sha256(token)}`))).toHaveLength(1);
      expect(keys.join('\n')).not.toContain(token.slice('ctms_'.length));
    } finally {
      redis.disconnect();
    }
    expect(logs.text()).not.toContain(token.slice('ctms_'.length));
  });

  it('counts login attempts on one username across instances and addresses', async () => {
    const victim = await createUser(a.app);
    for (const app of [a.app, b, a.app, b]) expect((await login(app, victim.username, 'wrong-password', from(newAddress()))).statusCode).toBe(400);
    expectTooManyRequests(await login(b, victim.username, victim.password, from(newAddress())), 15 * 60);
  });
});

describe('Redis unreachable', () => {
  let t: TestApp;
  const logs = captureLogs('warn');

  beforeAll(async () => {
    // Nothing listens on port 1: every Redis command fails.
    t = await buildTestApp({ ...behindProxy, redisUrl: 'redis://127.0.0.1:1', redisKeyPrefix }, { logger: logs.logger });
  });
  afterAll(async () => {
    await t.close();
  });

  it('keeps serving, limits with local counters and warns once', async () => {
    const user = await signIn(t.app);
    const responses = await repeat(6, () => me(t.app, user.headers));
    expect(statuses(responses)).toEqual([200, 200, 200, 200, 200, 429]);
    expectTooManyRequests(responses[5]!);
    const address = newAddress();
    expect(statuses(await repeat(4, () => login(t.app, 'nobody', 'wrong-password', from(address))))).toEqual([400, 400, 400, 429]);
    const warnings = logs.lines.filter((line) => line.includes('rate limits are counted by this instance alone'));
    expect(warnings).toHaveLength(1);
  });
});

/**
 * A TCP relay in front of the test Redis that the test can cut and restore: an outage as the
 * instances see it (connections dropped, then refused), without touching the shared Redis.
 */
async function redisRelay() {
  const target = new URL(REDIS_URL);
  const sockets = new Set<Socket>();
  const relay = (client: Socket) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', drop).on('close', () => {
        sockets.delete(socket);
        drop();
      });
    }
    client.pipe(upstream).pipe(client);
  };
  const start = (port: number) =>
    new Promise<Server>((resolve, reject) => {
      const server = createServer(relay);
      server.once('error', reject).listen(port, '127.0.0.1', () => resolve(server));
    });
  let server = await start(0);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `redis://127.0.0.1:${port}${target.pathname}`,
    async cut() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    async restore() {
      server = await start(port);
    },
  };
}

describe('a Redis outage between two instances', () => {
  let relay: Awaited<ReturnType<typeof redisRelay>>;
  let a: TestApp;
  let b: FastifyInstance;
  const logsA = captureLogs('info');

  beforeAll(async () => {
    relay = await redisRelay();
    const settings = { ...limits, rateLimitPerMinute: 100, redisUrl: relay.url, redisKeyPrefix: `${redisKeyPrefix}-outage` };
    a = await buildTestApp(settings, { logger: logsA.logger });
    b = await buildSecondInstance(a);
  });
  afterAll(async () => {
    await b.close();
    await a.close();
    await relay.cut();
  });

  /** What a fresh user has left on instance B after one request to A and one to B. */
  const remainingAfterOneEach = async () => {
    const user = await signIn(a.app);
    await me(a.app, user.headers);
    return (await me(b, user.headers)).headers['x-ratelimit-remaining'];
  };

  it('keeps serving with local counters while Redis is away, and shares counters again once it is back', async () => {
    expect(await remainingAfterOneEach()).toBe('98');

    await relay.cut();
    const user = await signIn(a.app);
    const duringOutage = await repeat(3, () => me(a.app, user.headers));
    expect(statuses(duringOutage)).toEqual([200, 200, 200]);
    expect(duringOutage[2]!.headers['x-ratelimit-remaining']).toBe('97');
    // Each instance counts on its own meanwhile.
    expect((await me(b, user.headers)).headers['x-ratelimit-remaining']).toBe('99');
    expect(logsA.text().match(/rate limits are counted by this instance alone/g)).toHaveLength(1);

    await relay.restore();
    await eventually(async () => (await remainingAfterOneEach()) === '98', 10_000, 'counters shared through Redis again');
    expect(logsA.text()).toMatch(/Redis is back: rate-limit counters are shared again/);
  }, 30_000);
});
