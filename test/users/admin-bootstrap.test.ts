// ADMIN_USERNAME / ADMIN_EMAIL / ADMIN_PASSWORD: the first manager, created once at start, never
// overwriting anyone, never logging the password — in the module and in real server processes
// (single and with workers) on the test database.
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testConfig, type AdminBootstrap } from '../../src/config.js';
import { verifyPassword } from '../../src/lib/hash.js';
import { bootstrapAdmin, runAdminBootstrap } from '../../src/modules/users/admin-bootstrap.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { captureLogs, loginRequest } from '../helpers/auth.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { createUser } from '../helpers/factories.js';
import { freePort, SOURCE_SERVER, sourceServerEnv, startServer } from '../helpers/processes.js';

const ADMIN: AdminBootstrap = { username: 'first_admin', email: 'first.admin@example.com', password: 'Bootstrap-Secret-42' };

async function usersNamed(t: TestApp, username: string) {
  return t.db.selectFrom('users').selectAll().where('username', '=', username).execute();
}

describe('admin bootstrap', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ admin: ADMIN });
  });
  afterAll(async () => {
    await t.close();
  });
  afterEach(async () => {
    await t.db.deleteFrom('user_sessions').execute();
    await t.db.deleteFrom('users').execute();
  });

  it('creates a verified, active manager who can log in, once; a second start changes nothing', async () => {
    const logs = captureLogs('debug');
    const log = pino(logs.logger, logs.logger.stream);
    expect(await runAdminBootstrap(t.db, t.config, new Date(), log)).toMatchObject({ status: 'created' });
    const [created, ...others] = await usersNamed(t, ADMIN.username);
    expect(others).toEqual([]);
    expect(created).toMatchObject({ email: ADMIN.email, role: 'manager', timezone: 'UTC' });
    expect(Boolean(created?.email_verified) && Boolean(created?.is_active)).toBe(true);
    const login = await loginRequest(t.app, ADMIN.username, ADMIN.password);
    expect(login.statusCode).toBe(200);
    expect(login.json()).toHaveProperty('access');

    // The next start, with another password in the environment: the manager is left as it is.
    const changed = testConfig({ admin: { ...ADMIN, password: 'Another-Secret-43' } });
    expect(await runAdminBootstrap(t.db, changed, new Date(), log)).toEqual({ status: 'manager-exists' });
    expect(await t.db.selectFrom('users').select('id').execute()).toHaveLength(1);
    const after = (await usersNamed(t, ADMIN.username))[0];
    expect(after?.hashed_password).toBe(created?.hashed_password);
    expect(await verifyPassword(ADMIN.password, after?.hashed_password ?? '')).toBe(true);

    expect(logs.lines.map((line) => JSON.parse(line) as { msg: string; username?: string })).toContainEqual(
      expect.objectContaining({ msg: 'created the first manager "first_admin" from ADMIN_USERNAME/ADMIN_EMAIL', username: 'first_admin' }),
    );
    expect(logs.text()).toContain('a manager exists already: nothing created');
    expect(logs.text()).not.toContain(ADMIN.password);
    expect(logs.text()).not.toContain('Another-Secret-43');
  });

  it('creates nothing when any manager exists, whatever its name', async () => {
    const manager = await createUser(t.app, { role: 'manager', active: false });
    expect(await bootstrapAdmin(t.db, t.config, new Date())).toEqual({ status: 'manager-exists' });
    expect((await t.db.selectFrom('users').select('id').execute()).map((row) => row.id)).toEqual([manager.id]);
  });

  it.each([
    ['username', { username: 'First_Admin' }],
    ['email', { email: 'FIRST.ADMIN@example.com' }],
    ['username', { username: 'x_user', email: 'first_admin' }],
  ] as const)('never takes over an account holding the %s (%o), and leaves it as it was', async (field, identity) => {
    const developer = await createUser(t.app, { role: 'developer', ...identity });
    const before = await t.db.selectFrom('users').selectAll().execute();
    expect(await bootstrapAdmin(t.db, t.config, new Date())).toEqual({ status: 'identity-taken', field });
    expect(await t.db.selectFrom('users').selectAll().execute()).toEqual(before);
    expect(before.map((row) => row.id)).toEqual([developer.id]);
  });

  it('does nothing without the settings', async () => {
    expect(await bootstrapAdmin(t.db, testConfig(), new Date())).toEqual({ status: 'off' });
    expect(await t.db.selectFrom('users').select('id').execute()).toEqual([]);
  });

  it('creates exactly one manager when several instances start at once', async () => {
    const outcomes = await Promise.all(Array.from({ length: 4 }, () => bootstrapAdmin(t.db, t.config, new Date())));
    expect(outcomes.filter((outcome) => outcome.status === 'created')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.status !== 'created')).toEqual(Array(3).fill({ status: 'manager-exists' }));
    expect(await t.db.selectFrom('users').select('role').execute()).toEqual([{ role: 'manager' }]);
  });
});

describe('admin bootstrap in the server process', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.cleanup();
  });

  /** Starts src/server.ts (through tsx: no build needed), waits until it serves, stops it, returns its output. */
  async function startAndStop(overrides: Record<string, string>): Promise<string> {
    const env = sourceServerEnv({
      DATABASE_URL: database.url,
      PORT: String(await freePort()),
      LOG_LEVEL: 'info',
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_EMAIL: ADMIN.email,
      ...overrides,
    });
    const server = await startServer(env, 40_000, SOURCE_SERVER);
    expect(await server.stop()).toBe(0);
    return server.output();
  }

  const managers = () => database.handle.db.selectFrom('users').select(['username', 'hashed_password']).where('role', '=', 'manager').execute();

  it('creates the manager on the first start of a cluster, once, and never logs the password', async () => {
    const first = await startAndStop({ ADMIN_PASSWORD: ADMIN.password, WEB_CONCURRENCY: '2' });
    expect(first.match(/created the first manager/g)).toHaveLength(1);
    expect(first).not.toContain(ADMIN.password);
    const created = await managers();
    expect(created.map((row) => row.username)).toEqual([ADMIN.username]);

    const second = await startAndStop({ ADMIN_PASSWORD: 'Changed-Secret-77' });
    expect(second).toContain('a manager exists already: nothing created');
    expect(second).not.toContain('Changed-Secret-77');
    expect(await managers()).toEqual(created);
  }, 90_000);

  it('refuses to start with a partial or weak setting, naming the problem but not the password', async () => {
    const weak = await startServer(
      sourceServerEnv({ DATABASE_URL: database.url, PORT: String(await freePort()), ADMIN_USERNAME: 'x_admin', ADMIN_EMAIL: 'x@example.com', ADMIN_PASSWORD: 'tiny77' }),
      20_000,
      SOURCE_SERVER,
    ).then(
      async (server) => {
        await server.stop();
        return 'started';
      },
      (error: Error) => error.message,
    );
    expect(weak).toContain('ADMIN_PASSWORD must be 8-100 characters');
    expect(weak).not.toContain('tiny77');
  }, 60_000);
});
