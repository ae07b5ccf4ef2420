// The session check's cache (session-cache.ts) on two instances sharing a database and a real
// Redis: instance B answers checks from sessions it read lately, and every change made through
// instance A (or the CLI) is in force on B as soon as A has answered — revocations of every kind,
// deactivation, role and profile changes — even when B missed the message.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/database.js';
import { buildApp } from '../../src/app.js';
import { sha256 } from '../../src/lib/hash.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createSession, createUser, DEFAULT_PASSWORD } from '../helpers/factories.js';
import { freePort } from '../helpers/processes.js';
import { redisProxy, type RedisProxy } from '../helpers/redis-proxy.js';
import { eventually } from '../helpers/sockets.js';
import { signIn } from '../helpers/tasks.js';
import { cliEnv, runInProcess } from '../cli/harness.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** A single-use token valid for an hour: its text, and the columns of its row in a token table. */
const freshToken = () => {
  const now = Date.now();
  const token = randomBytes(32).toString('base64url');
  return { token, row: { token_hash: sha256(token), created_at: new Date(now).toISOString(), expires_at: new Date(now + 3_600_000).toISOString() } };
};
const me = (app: FastifyInstance, headers: { authorization: string }) => app.inject({ method: 'GET', url: '/api/auth/users/me', headers });

describe('the session cache on two instances', () => {
  const keyPrefix = `ctms-test-${randomBytes(6).toString('hex')}`;
  const settings = { redisUrl: REDIS_URL, redisKeyPrefix: keyPrefix, sessionCacheMs: 2000, refreshReuseGraceSeconds: 0 };
  let a: TestApp;
  let b: FastifyInstance;
  /** SQL B has run since the last reset. */
  const queriesOfB: string[] = [];

  beforeAll(async () => {
    a = await buildTestApp(settings);
    const database = createDatabase(a.database.url, { poolSize: 5, onQuery: (sql) => queriesOfB.push(sql) });
    b = await buildApp({ ...a.config, ...settings }, { database });
    b.addHook('onClose', async () => database.close());
    await b.ready();
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const sessionReadsOnB = async (headers: { authorization: string }) => {
    queriesOfB.length = 0;
    const res = await me(b, headers);
    expect(res.statusCode).toBe(200);
    return queriesOfB.filter((sql) => /\buser_sessions\b/.test(sql)).length;
  };
  /** Waits until B answers this token's check without reading the database: the cache is in use. */
  const cachedOnB = async (headers: { authorization: string }) => {
    await eventually(async () => (await sessionReadsOnB(headers)) === 0, 5000, 'B to answer from its cache');
  };

  it('answers a repeated check from the cache, without reading the session again', async () => {
    const dev = await signIn(a.app);
    await cachedOnB(dev.headers);
    expect(await sessionReadsOnB(dev.headers)).toBe(0);
  });

  it('refuses a token on B as soon as A has answered its logout', async () => {
    const dev = await signIn(a.app);
    await cachedOnB(dev.headers);
    expect((await a.app.inject({ method: 'POST', url: '/api/auth/logout', headers: dev.headers })).statusCode).toBe(200);
    const res = await me(b, dev.headers);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ detail: 'Session ended: logged out' });
  });

  it('refuses every session of the user on B after logout-all through A', async () => {
    const dev = await signIn(a.app);
    const other = await createSession(a.app, dev.user);
    await cachedOnB(dev.headers);
    await cachedOnB(other.headers);
    expect((await a.app.inject({ method: 'POST', url: '/api/auth/logout-all', headers: dev.headers })).statusCode).toBe(200);
    for (const headers of [dev.headers, other.headers]) {
      expect((await me(b, headers)).json()).toEqual({ detail: 'Session ended: logged out from all devices' });
    }
  });

  it('refuses a session revoked from another session', async () => {
    const dev = await signIn(a.app);
    const other = await createSession(a.app, dev.user);
    await cachedOnB(other.headers);
    const res = await a.app.inject({ method: 'DELETE', url: `/api/auth/sessions/${other.sessionId}`, headers: dev.headers });
    expect(res.statusCode).toBe(204);
    expect((await me(b, other.headers)).json()).toEqual({ detail: 'Session ended: revoked from another session' });
    expect((await me(b, dev.headers)).statusCode).toBe(200);
  });

  it('refuses a session a login evicted over the device cap', async () => {
    const user = await createUser(a.app);
    const first = await createSession(a.app, user);
    await cachedOnB(first.headers);
    for (let i = 0; i < a.config.maxSessionsPerUser; i += 1) {
      const login = await a.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: DEFAULT_PASSWORD } });
      expect(login.statusCode).toBe(200);
    }
    expect((await me(b, first.headers)).json()).toEqual({ detail: 'Session ended: signed in on too many devices' });
  });

  it('refuses a session whose refresh token was replayed', async () => {
    const dev = await signIn(a.app);
    await cachedOnB(dev.headers);
    const refresh = () => a.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { refresh_token: dev.refreshToken } });
    expect((await refresh()).statusCode).toBe(200);
    expect((await refresh()).statusCode).toBe(400);
    expect((await me(b, dev.headers)).json()).toEqual({ detail: 'Session ended: its refresh token was used twice' });
  });

  it('keeps the entries of a user whose refresh failed without a replay (nothing was revoked)', async () => {
    const dev = await signIn(a.app);
    const other = await createSession(a.app, dev.user);
    expect((await a.app.inject({ method: 'POST', url: '/api/auth/logout', headers: dev.headers })).statusCode).toBe(200);
    await cachedOnB(other.headers);
    const refresh = await a.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { refresh_token: dev.refreshToken } });
    expect(refresh.json()).toEqual({ detail: 'Session has been revoked' });
    expect(await sessionReadsOnB(other.headers)).toBe(0);
  });

  it('refuses the other sessions after a password change, and keeps the one that changed it', async () => {
    const dev = await signIn(a.app);
    const other = await createSession(a.app, dev.user);
    await cachedOnB(dev.headers);
    await cachedOnB(other.headers);
    const res = await a.app.inject({
      method: 'PATCH',
      url: '/api/auth/users/me',
      headers: dev.headers,
      payload: { current_password: DEFAULT_PASSWORD, new_password: 'An0ther-passw0rd!' },
    });
    expect(res.statusCode).toBe(200);
    expect((await me(b, other.headers)).json()).toEqual({ detail: 'Session ended: password changed' });
    expect((await me(b, dev.headers)).statusCode).toBe(200);
  });

  it('refuses every session after a password reset', async () => {
    const dev = await signIn(a.app);
    await cachedOnB(dev.headers);
    const { token, row } = freshToken();
    await a.db.insertInto('password_reset_tokens').values({ user_id: dev.user.id, ...row }).execute();
    const res = await a.app.inject({ method: 'POST', url: '/api/auth/password-reset/confirm', payload: { token, new_password: 'An0ther-passw0rd!' } });
    expect(res.statusCode).toBe(200);
    expect((await me(b, dev.headers)).json()).toEqual({ detail: 'Session ended: password reset' });
  });

  it('refuses a deactivated user, and shows a new time zone at once', async () => {
    const manager = await signIn(a.app, { role: 'manager' });
    const dev = await signIn(a.app);
    await cachedOnB(dev.headers);
    await cachedOnB(manager.headers);

    const zone = await a.app.inject({ method: 'PATCH', url: `/api/auth/users/${dev.user.id}`, headers: manager.headers, payload: { timezone: 'Asia/Tokyo' } });
    expect(zone.statusCode).toBe(200);
    expect((await me(b, dev.headers)).json()).toMatchObject({ timezone: 'Asia/Tokyo' });

    const own = await a.app.inject({ method: 'PATCH', url: '/api/auth/users/me', headers: manager.headers, payload: { timezone: 'Europe/Berlin' } });
    expect(own.statusCode).toBe(200);
    expect((await me(b, manager.headers)).json()).toMatchObject({ timezone: 'Europe/Berlin' });

    await cachedOnB(dev.headers);
    const deactivated = await a.app.inject({ method: 'PATCH', url: `/api/auth/users/${dev.user.id}`, headers: manager.headers, payload: { is_active: false } });
    expect(deactivated.statusCode).toBe(200);
    expect((await me(b, dev.headers)).json()).toEqual({ detail: 'Session ended: account deactivated' });
  });

  it('shows a role change on B at once (a developer made auditor reads the audit log)', async () => {
    const manager = await signIn(a.app, { role: 'manager' });
    const dev = await signIn(a.app);
    await cachedOnB(dev.headers);
    expect((await b.inject({ method: 'GET', url: '/api/audit-logs', headers: dev.headers })).statusCode).toBe(403);
    const role = await a.app.inject({ method: 'PATCH', url: `/api/auth/users/${dev.user.id}`, headers: manager.headers, payload: { role: 'auditor' } });
    expect(role.statusCode).toBe(200);
    expect((await b.inject({ method: 'GET', url: '/api/audit-logs', headers: dev.headers })).statusCode).toBe(200);
  });

  it('shows a verified new e-mail address on B at once', async () => {
    const dev = await signIn(a.app);
    await cachedOnB(dev.headers);
    const { token, row } = freshToken();
    const newEmail = `moved-${randomBytes(4).toString('hex')}@example.com`;
    await a.db.insertInto('email_verification_tokens').values({ user_id: dev.user.id, email: newEmail, used_at: null, ...row }).execute();
    expect((await a.app.inject({ method: 'POST', url: '/api/auth/verify-email', payload: { token } })).statusCode).toBe(200);
    expect((await me(b, dev.headers)).json()).toMatchObject({ email: newEmail });
  });

  it('refuses a user the CLI deactivated, and shows a role the CLI set, once the command has finished', async () => {
    const env = { ...cliEnv(a.database.url), REDIS_URL, REDIS_KEY_PREFIX: keyPrefix, SESSION_CACHE_MS: '2000' };
    const dev = await signIn(a.app);
    await cachedOnB(dev.headers);
    const setRole = await runInProcess(env, ['set-role', '--username', dev.user.username, '--role', 'auditor']);
    expect(setRole.code).toBe(0);
    expect((await me(b, dev.headers)).json()).toMatchObject({ role: 'auditor' });
    await cachedOnB(dev.headers);
    const deactivate = await runInProcess(env, ['deactivate', '--username', dev.user.username]);
    expect(deactivate).toMatchObject({ code: 0, err: '' });
    expect((await me(b, dev.headers)).json()).toEqual({ detail: 'Session ended: account deactivated' });
  });

  it('never keeps a session read while a logout of it was being committed', async () => {
    for (let round = 0; round < 10; round += 1) {
      const dev = await signIn(a.app);
      await cachedOnB(dev.headers);
      // Checks on B race the logout on A: some read the session before the commit, some after.
      const racing = Array.from({ length: 20 }, () => me(b, dev.headers));
      const logout = await a.app.inject({ method: 'POST', url: '/api/auth/logout', headers: dev.headers });
      expect(logout.statusCode).toBe(200);
      await Promise.all(racing);
      const after = await me(b, dev.headers);
      expect(after.json()).toEqual({ detail: 'Session ended: logged out' });
    }
  });

  it('ignores garbage on its channels, and still forgets what a logout through A names', async () => {
    const admin = new Redis(REDIS_URL);
    try {
      const garbage = ['null', '1', '"x"', '[]', '{}', '{"users":null}', '{"from":1,"id":{},"users":[1]}', '{"from":"x","users":"1"}', '{', 'tick:abc', 'ack', 'ack::', ':'.repeat(10_000)];
      const channels = (await admin.call('PUBSUB', 'CHANNELS', `${keyPrefix}:session-cache:*`)) as string[];
      expect(channels).toContain(`${keyPrefix}:session-cache:forget`);
      for (const channel of channels) for (const message of garbage) await admin.publish(channel, message);
      const dev = await signIn(a.app);
      await cachedOnB(dev.headers);
      expect((await a.app.inject({ method: 'POST', url: '/api/auth/logout', headers: dev.headers })).statusCode).toBe(200);
      expect((await me(b, dev.headers)).json()).toEqual({ detail: 'Session ended: logged out' });
    } finally {
      admin.disconnect();
    }
  });

  it('refuses a token on B after a logout, also when Redis lost the set of lease holders', async () => {
    const admin = new Redis(REDIS_URL);
    try {
      for (let round = 0; round < 3; round += 1) {
        const dev = await signIn(a.app);
        await cachedOnB(dev.headers);
        // Evicted under maxmemory, flushed, or every score made stale by a step of Redis's clock.
        await admin.del(`${keyPrefix}:session-cache:holders`);
        expect((await a.app.inject({ method: 'POST', url: '/api/auth/logout', headers: dev.headers })).statusCode).toBe(200);
        expect((await me(b, dev.headers)).json()).toEqual({ detail: 'Session ended: logged out' });
      }
    } finally {
      admin.disconnect();
    }
  });

  it('refuses a token on B after a logout whose message B missed (its subscription was cut)', async () => {
    const admin = new Redis(REDIS_URL);
    try {
      for (let round = 0; round < 3; round += 1) {
        const dev = await signIn(a.app);
        await cachedOnB(dev.headers);
        // Cut both instances' subscriptions (they reconnect on their own): A hears no
        // acknowledgement, and the logout's message may reach B or not.
        const clients = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
        const ids = clients
          .split('\n')
          .filter((line) => line.includes(` name=${keyPrefix}:session-cache:subscriber `))
          .map((line) => /\bid=(\d+)/.exec(line)?.[1])
          .filter((id): id is string => id !== undefined);
        for (const id of ids) await admin.client('KILL', 'ID', id).catch(() => undefined);
        expect((await a.app.inject({ method: 'POST', url: '/api/auth/logout', headers: dev.headers })).statusCode).toBe(200);
        expect((await me(b, dev.headers)).json()).toEqual({ detail: 'Session ended: logged out' });
      }
    } finally {
      admin.disconnect();
    }
  });
});

describe('the session cache without a reachable Redis', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ redisUrl: `redis://127.0.0.1:${await freePort()}`, redisKeyPrefix: 'ctms-test-unreachable', sessionCacheMs: 300 });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('reads every session from the database, and a logout is in force once answered', async () => {
    const dev = await signIn(t.app);
    for (let i = 0; i < 3; i += 1) {
      t.queries.length = 0;
      expect((await me(t.app, dev.headers)).statusCode).toBe(200);
      expect(t.queries.filter((sql) => /\buser_sessions\b/.test(sql))).toHaveLength(1);
    }
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: dev.headers })).statusCode).toBe(200);
    expect((await me(t.app, dev.headers)).json()).toEqual({ detail: 'Session ended: logged out' });
  });
});

describe('the session cache when Redis misbehaves', () => {
  /** Two instances on one database and Redis, B through a proxy; A's and B's settings as given. */
  async function instances(settingsOfA: Partial<TestApp['config']>, settingsOfB: Partial<TestApp['config']>, proxy: RedisProxy) {
    const keyPrefix = `ctms-test-${randomBytes(6).toString('hex')}`;
    const a = await buildTestApp({ redisUrl: REDIS_URL, redisKeyPrefix: keyPrefix, ...settingsOfA });
    const queriesOfB: string[] = [];
    const database = createDatabase(a.database.url, { poolSize: 5, onQuery: (sql) => queriesOfB.push(sql) });
    const b = await buildApp({ ...a.config, redisUrl: proxy.url, redisKeyPrefix: keyPrefix, ...settingsOfB }, { database });
    b.addHook('onClose', async () => database.close());
    await b.ready();
    const cachedOnB = (headers: { authorization: string }) =>
      eventually(
        async () => {
          queriesOfB.length = 0;
          expect((await me(b, headers)).statusCode).toBe(200);
          return !queriesOfB.some((sql) => /\buser_sessions\b/.test(sql));
        },
        5000,
        'B to answer from its cache',
      );
    return { a, b, keyPrefix, cachedOnB, close: async () => Promise.all([b.close(), a.close()]) };
  }
  const STILL_WAITING = 'still waiting after 5 s';
  const within5s = <T>(promise: Promise<T>) =>
    Promise.race([promise, new Promise<typeof STILL_WAITING>((resolve) => setTimeout(() => resolve(STILL_WAITING), 5000))]);

  it('answers a logout, and shuts down, while Redis accepts connections but answers nothing', async () => {
    const proxy = await redisProxy();
    const t = await buildTestApp({ redisUrl: proxy.url, redisKeyPrefix: `ctms-test-${randomBytes(6).toString('hex')}`, sessionCacheMs: 300 });
    try {
      const dev = await signIn(t.app);
      await eventually(async () => {
        t.queries.length = 0;
        expect((await me(t.app, dev.headers)).statusCode).toBe(200);
        return !t.queries.some((sql) => /\buser_sessions\b/.test(sql));
      }, 5000, 'the cache to be in use');
      proxy.freeze();
      const logout = t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: dev.headers }).then((res) => res.statusCode);
      expect(await within5s(logout)).toBe(200);
      expect((await me(t.app, dev.headers)).json()).toEqual({ detail: 'Session ended: logged out' });
      expect(await within5s(t.app.close().then(() => 'closed'))).toBe('closed');
    } finally {
      proxy.thaw();
      await proxy.close();
      await t.database.cleanup();
    }
  });

  it("waits for the lease of an instance with a longer SESSION_CACHE_MS that does not answer", async () => {
    const proxy = await redisProxy();
    const { a, b, cachedOnB, close } = await instances({ sessionCacheMs: 300 }, { sessionCacheMs: 3000 }, proxy);
    try {
      const dev = await signIn(a.app);
      await cachedOnB(dev.headers);
      proxy.freeze(); // B hears nothing now, and acknowledges nothing
      expect((await a.app.inject({ method: 'POST', url: '/api/auth/logout', headers: dev.headers })).statusCode).toBe(200);
      expect((await me(b, dev.headers)).json()).toEqual({ detail: 'Session ended: logged out' });
    } finally {
      proxy.thaw();
      await proxy.close();
      await close();
    }
  });

  it('holds no lease while it cannot subscribe, so no forget waits for it', async () => {
    // B's subscriber connection is refused; its command connection works.
    const proxy = await redisProxy({ refuse: /session-cache:subscriber/ });
    const { keyPrefix, close } = await instances({ sessionCacheMs: 400 }, { sessionCacheMs: 400 }, proxy);
    const admin = new Redis(REDIS_URL);
    try {
      const holders = () => admin.zrange(`${keyPrefix}:session-cache:holders`, 0, -1);
      await eventually(async () => (await holders()).length > 0, 5000, 'A to hold a lease');
      // Five of B's renewal periods.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await holders()).toHaveLength(1);
    } finally {
      admin.disconnect();
      await proxy.close();
      await close();
    }
  });
});
