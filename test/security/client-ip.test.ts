// Which address the service believes is the client's (request.ip: session records, the audit trail,
// rate limits) under each TRUST_PROXY setting: a spoofed X-Forwarded-For is ignored unless the peer
// is a proxy TRUST_PROXY names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseTrustProxy, type TrustProxy } from '../../src/config.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { captureLogs } from '../helpers/auth.js';
import { createUser } from '../helpers/factories.js';

const PROXY = '10.0.0.1';
const CLIENT = '203.0.113.9';

/** The setting parsed from TRUST_PROXY=value, and the problems it raised. */
function parse(value: string): { trustProxy: TrustProxy; problems: string[] } {
  const problems: string[] = [];
  return { trustProxy: parseTrustProxy(value, problems), problems };
}

describe('TRUST_PROXY', () => {
  it('is off unless set', () => {
    expect(loadConfig({}, { dataDir: null }).trustProxy).toBe(false);
  });

  it.each([
    ['false', false],
    ['off', false],
    ['0', false],
    ['true', true],
    ['yes', true],
    ['1', 1],
    ['2', 2],
    ['127.0.0.1', ['127.0.0.1']],
    ['127.0.0.1, 10.0.0.0/8,::1,fd00::/8', ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8']],
    ['loopback,uniquelocal', ['loopback', 'uniquelocal']],
  ])('reads TRUST_PROXY=%s', (value, expected) => {
    expect(parse(value)).toEqual({ trustProxy: expected, problems: [] });
    expect(loadConfig({ TRUST_PROXY: value }, { dataDir: null }).trustProxy).toEqual(expected);
  });

  it('names every entry that is not an address or CIDR', () => {
    const { trustProxy, problems } = parse('10.0.0.0/33,proxy.internal,,1.2.3.4/8/1,fe80::1%eth0,10.0.0.1');
    expect(trustProxy).toBe(false);
    expect(problems).toHaveLength(1);
    for (const bad of ['"10.0.0.0/33"', '"proxy.internal"', '""', '"1.2.3.4/8/1"', '"fe80::1%eth0"']) expect(problems[0]).toContain(bad);
    expect(problems[0]).not.toContain('"10.0.0.1"');
  });

  it('refuses a hop count beyond 20', () => {
    expect(parse('21').problems).toEqual([expect.stringMatching(/TRUST_PROXY as a hop count must be between 1 and 20/)]);
  });

  it('stops the start with its problem listed beside the others', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'proxy.internal', PORT: 'eighty' }, { dataDir: null })).toThrow(
      /Invalid configuration:\n {2}- PORT .*\n {2}- TRUST_PROXY .*"proxy\.internal"/,
    );
  });
});

/** Logs in through the real endpoint from `remoteAddress` and returns the `ip` its session records. */
async function sessionIp(t: TestApp, remoteAddress: string, forwardedFor?: string): Promise<string | null> {
  const user = await createUser(t.app);
  const headers = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
  const res = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: user.password }, headers, remoteAddress });
  expect(res.statusCode).toBe(200);
  const sessions = await t.app.inject({ method: 'GET', url: '/api/auth/sessions', headers: { authorization: `Bearer ${res.json().access}` } });
  expect(sessions.statusCode).toBe(200);
  const [session] = sessions.json() as Array<{ ip: string | null }>;
  return session?.ip ?? null;
}

describe('with TRUST_PROXY off (the default)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp({ rateLimitEnabled: true, rateLimitPerMinute: 5, rateLimitAuthPerMinute: 3 });
  });
  afterAll(async () => {
    await t.close();
  });

  it('records the peer address, not a spoofed X-Forwarded-For', async () => {
    expect(await sessionIp(t, '192.0.2.10', CLIENT)).toBe('192.0.2.10');
    expect(await sessionIp(t, PROXY, `${CLIENT}, 198.51.100.1`)).toBe(PROXY);
  });

  it('still limits a client that sends a new X-Forwarded-For with every request', async () => {
    let n = 0;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const res = await t.app.inject({ method: 'GET', url: '/api/tasks', headers: { 'x-forwarded-for': `198.51.100.${(n += 1)}` }, remoteAddress: '192.0.2.20' });
      statuses.push(res.statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('still limits logins from one peer whatever X-Forwarded-For says', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 4; i += 1) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: `nobody${i}`, password: 'wrong-password' },
        headers: { 'x-forwarded-for': `198.51.100.${i}` },
        remoteAddress: '192.0.2.21',
      });
      statuses.push(res.statusCode);
    }
    expect(statuses).toEqual([400, 400, 400, 429]);
  });
});

describe.each([
  ['the proxy address', [PROXY]],
  ['the proxy network', ['10.0.0.0/8']],
])('with TRUST_PROXY naming %s', (_name, trustProxy) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp({ trustProxy, rateLimitEnabled: true, rateLimitPerMinute: 5 });
  });
  afterAll(async () => {
    await t.close();
  });

  it('believes the address the proxy reports', async () => {
    expect(await sessionIp(t, PROXY, CLIENT)).toBe(CLIENT);
  });

  it('takes the address the proxy appended, not what the client wrote before it', async () => {
    expect(await sessionIp(t, PROXY, `198.51.100.1, ${CLIENT}`)).toBe(CLIENT);
  });

  it('ignores X-Forwarded-For from any other peer', async () => {
    expect(await sessionIp(t, '192.0.2.30', CLIENT)).toBe('192.0.2.30');
  });

  it('counts rate limits per reported client, so clients behind one proxy do not share a limit', async () => {
    const get = (client: string) => t.app.inject({ method: 'GET', url: '/api/tasks', headers: { 'x-forwarded-for': client }, remoteAddress: PROXY });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await get('203.0.113.50')).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    expect((await get('203.0.113.51')).statusCode).toBe(401);
  });
});

describe('with TRUST_PROXY as a hop count', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp({ trustProxy: 2 });
  });
  afterAll(async () => {
    await t.close();
  });

  it('believes that many hops and no more', async () => {
    // Peer (hop 0) and the address it reports (hop 1) are proxies: the client is the one before.
    expect(await sessionIp(t, PROXY, `198.51.100.1, ${CLIENT}, 10.0.0.2`)).toBe(CLIENT);
  });
});

describe('with TRUST_PROXY=true', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp({ trustProxy: true });
  });
  afterAll(async () => {
    await t.close();
  });

  it('believes the first address of X-Forwarded-For, from any peer', async () => {
    expect(await sessionIp(t, '192.0.2.40', `${CLIENT}, 10.0.0.2`)).toBe(CLIENT);
  });

  it('warns at start', async () => {
    const logs = captureLogs('warn');
    const other = await buildTestApp({ trustProxy: true }, { logger: logs.logger });
    await other.close();
    expect(logs.text()).toMatch(/TRUST_PROXY=true believes X-Forwarded-For from any peer/);
  });
});
