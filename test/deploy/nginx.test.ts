// The deployment as it runs: two production instances (the compiled build, as `node dist/server.js`
// runs it) on one database and
// one Redis, behind Debian's nginx with deploy/nginx.conf (its upstreams, port and paths templated
// for the test). Through nginx: login and task writes, a socket that hears of writes made on either
// instance, the client address nginx saw in the audit trail (a forged X-Forwarded-For ignored), and
// a SIGTERM to one instance in the middle of a stream of requests losing none of them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { freePort, productionEnv, ROOT, runCli, startServer, waitUntilServing, type ServerProcess } from '../helpers/processes.js';
import { productionBuild } from '../helpers/production-build.js';
import { eventually, openSocket } from '../helpers/sockets.js';

const NGINX = '/usr/sbin/nginx';
const hasNginx = spawnSync(NGINX, ['-v']).status === 0;
const hasCompose = spawnSync('docker-compose', ['version']).status === 0;
// In CI these must run: .ci/run installs nginx and docker-compose.
const skipWithout = (available: boolean) => !available && !process.env.CI;

const readLog = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

interface Answer {
  status: number;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

/** An HTTP request from a chosen loopback address (so the "client address" differs from nginx's). */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: unknown; from?: string } = {}): Promise<Answer> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((done, fail) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        localAddress: options.from ?? '127.0.0.1',
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...options.headers },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => done({ status: res.statusCode ?? 0, body, json: () => JSON.parse(body) }));
      },
    );
    req.on('error', fail);
    req.end(payload);
  });
}

describe.skipIf(skipWithout(hasNginx))('nginx in front of two production instances', () => {
  let database: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  let nginx: ChildProcess;
  let proxy: string;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let managerToken: string;
  let devToken: string;
  let devId: number;

  const login = async (username: string) => {
    const res = await send(`${proxy}/api/auth/login`, { method: 'POST', body: { username, password: 'Deploy-pass-123' } });
    expect(res.status, res.body).toBe(200);
    return res.json<{ access: string }>().access;
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const newTask = (title: string) => ({ title, estimated_hours: 1, deadline: '2027-01-15T12:00:00Z', assigned_to: devId });

  beforeAll(async () => {
    const build = await productionBuild();
    database = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'ctms-nginx-'));
    const [portA, portB, proxyPort] = [await freePort(), await freePort(), await freePort()];
    env = productionEnv({
      DATABASE_URL: database.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: `ctms-deploy-${randomBytes(4).toString('hex')}`,
      // nginx connects from 127.0.0.1: only that address may speak for the client.
      TRUST_PROXY: '127.0.0.1',
      SHUTDOWN_TIMEOUT_MS: '10000',
    });
    [a, b] = await Promise.all([startServer({ ...env, PORT: String(portA) }, 20_000, build.server), startServer({ ...env, PORT: String(portB) }, 20_000, build.server)]);

    for (const [username, role] of [['deploy_manager', 'manager'], ['deploy_dev', 'developer']]) {
      const made = await runCli(['create-user', '--username', username!, '--email', `${username}@example.com`, '--password', 'Deploy-pass-123', '--role', role!], env, build.cli);
      expect(made.code, made.output).toBe(0);
      if (role === 'developer') devId = Number(made.stdout.trim().split('\n').pop());
    }

    const root = join(dir, 'html');
    mkdirSync(root);
    chmodSync(dir, 0o755);
    chmodSync(root, 0o755);
    const conf = readFileSync(join(ROOT, 'deploy/nginx.conf'), 'utf8')
      .replace('worker_processes auto;', 'worker_processes 1;')
      .replace('pid /var/run/nginx.pid;', `pid ${join(dir, 'nginx.pid')};`)
      .replace('access_log /dev/stdout ctms;', `access_log ${join(dir, 'access.log')} ctms;`)
      // Node's stdio pipes are sockets, which nginx cannot open as /dev/stderr.
      .replace('error_log /dev/stderr warn;', `error_log ${join(dir, 'error.log')} warn;`)
      .replace('listen 80;', `listen 127.0.0.1:${proxyPort};`)
      .replace('root /usr/share/nginx/html;', `root ${root};`)
      .replace(/server api:8000 ([^;]*);/, `server 127.0.0.1:${portA} $1;\n    server 127.0.0.1:${portB} $1;`);
    expect(conf).toContain(`127.0.0.1:${portB}`);
    writeFileSync(join(dir, 'nginx.conf'), conf);
    let nginxOutput = '';
    nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
    nginx.stderr?.on('data', (chunk: Buffer) => (nginxOutput += chunk.toString()));
    proxy = `http://127.0.0.1:${proxyPort}`;
    await waitUntilServing(`${proxy}/health`, () => nginx.exitCode !== null, 10_000, () => nginxOutput + readLog(join(dir, 'error.log')));

    managerToken = await login('deploy_manager');
    devToken = await login('deploy_dev');
  }, 90_000);

  afterAll(async () => {
    nginx?.kill('SIGTERM');
    await Promise.all([a?.stop('SIGKILL'), b?.stop('SIGKILL')]);
    await database?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the API through nginx: health, login, task writes and reads, JSON 404s', async () => {
    const health = await send(`${proxy}/health`);
    expect(health.json()).toMatchObject({ status: 'healthy', database: 'ok' });
    const created = await send(`${proxy}/api/tasks/`, { method: 'POST', headers: bearer(managerToken), body: newTask('Through the proxy') });
    expect(created.status, created.body).toBe(201);
    const list = await send(`${proxy}/api/tasks`, { headers: bearer(devToken) });
    expect(list.json<Array<{ title: string }>>().map((t) => t.title)).toContain('Through the proxy');
    const missing = await send(`${proxy}/api/nothing-here`);
    expect(missing.status).toBe(404);
    expect(typeof missing.json().detail).toBe('string');
    expect((await send(`${proxy}/metrics`)).status).toBe(404);
  });

  it('carries a notification socket, which hears of task writes made on either instance', async () => {
    const socket = await openSocket(`${proxy.replace('http', 'ws')}/ws/notifications/?token=${devToken}`);
    await socket.roundTrip();
    for (const [instance, title] of [[a, 'Made on A'], [b, 'Made on B']] as const) {
      const res = await send(`${instance.url}/api/tasks`, { method: 'POST', headers: bearer(managerToken), body: newTask(title) });
      expect(res.status, res.body).toBe(201);
    }
    for (const title of ['Made on A', 'Made on B']) {
      const message = await socket.next((m) => (m.notification as { task_title?: string } | undefined)?.task_title === title, 10_000);
      expect(message.notification).toMatchObject({ notification_type: 'task_assigned', user_id: devId });
    }
    await socket.close();
    // The token travelled in the socket's query string: nginx's log must not keep it.
    const accessLog = readLog(join(dir, 'access.log'));
    expect(accessLog).toContain('/ws/notifications/');
    expect(accessLog).not.toContain(devToken);
  });

  it('records the client address nginx saw in the audit trail, never a forged X-Forwarded-For', async () => {
    const agent = `deploy-test-${randomBytes(4).toString('hex')}`;
    const viaProxy = await send(`${proxy}/api/tags`, { from: '127.0.0.2', headers: { ...bearer(devToken), 'x-forwarded-for': '6.6.6.6', 'user-agent': `${agent}-proxy` } });
    expect(viaProxy.status).toBe(200);
    // Straight to an instance, from an address that is not the trusted proxy: its header is ignored.
    const direct = await send(`${a.url}/api/tags`, { from: '127.0.0.3', headers: { ...bearer(devToken), 'x-forwarded-for': '7.7.7.7', 'user-agent': `${agent}-direct` } });
    expect(direct.status).toBe(200);
    const ips = new Map<string, string | null>();
    await eventually(async () => {
      const rows = (await send(`${proxy}/api/audit-logs?endpoint=/api/tags&limit=500`, { headers: bearer(managerToken) })).json<Array<{ user_agent: string; ip: string }>>();
      for (const row of rows) ips.set(row.user_agent, row.ip);
      return ips.has(`${agent}-proxy`) && ips.has(`${agent}-direct`);
    }, 10_000, 'the audit rows');
    expect(ips.get(`${agent}-proxy`)).toBe('127.0.0.2');
    expect(ips.get(`${agent}-direct`)).toBe('127.0.0.3');
  });

  it('loses no request when one instance is stopped with SIGTERM in the middle of a stream', async () => {
    const statuses: number[] = [];
    let sent = 0;
    let stopping: Promise<number | null> | null = null;
    const worker = async () => {
      while (sent < 240) {
        const n = (sent += 1);
        if (n === 60) stopping = b.stop('SIGTERM');
        const res =
          n % 3 === 0
            ? await send(`${proxy}/api/tasks`, { method: 'POST', headers: bearer(managerToken), body: newTask(`Stream ${n}`) })
            : await send(`${proxy}/api/tasks?limit=5`, { headers: bearer(devToken) });
        statuses.push(res.status);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(stopping).not.toBeNull();
    expect(await stopping).toBe(0);
    expect(statuses.filter((s) => s >= 300)).toEqual([]);
    expect(statuses).toHaveLength(240);
    const created = statuses.filter((s) => s === 201).length;
    const stored = (await send(`${a.url}/api/tasks?search=Stream`, { headers: bearer(managerToken) })).json<unknown[]>();
    expect(stored).toHaveLength(created);
  }, 60_000);
});

describe.skipIf(skipWithout(hasCompose))('docker-compose.yml', () => {
  it('is a valid compose file (docker-compose config)', () => {
    const result = spawnSync('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], {
      env: { PATH: process.env.PATH, SECRET_KEY: randomBytes(32).toString('hex') },
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
  });

  it('refuses to start without a SECRET_KEY', () => {
    const result = spawnSync('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('SECRET_KEY');
  });
});
