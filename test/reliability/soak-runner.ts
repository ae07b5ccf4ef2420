// The soak: a real production server process (the compiled build, single process) on a fresh
// database, driven for a fixed time by a paced, mixed workload — reads, writes (create, patch,
// reassignment, bulk status updates) by a manager, logins/refreshes/logouts, and notification
// sockets (one long-lived socket per developer plus short-lived ones coming and going). It samples
// the server's memory throughout (RSS, and the heap left after a forced full collection) and ends
// with a report: statuses, lost notifications, memory over time. `npm run soak` (bench/soak.ts) and test/reliability/soak.test.ts both run it.
//
// Lost notifications, precisely. Every write is made by the manager on tasks one writer loop owns
// alone, so the loop knows each task's status and assignee and thus which notifications the
// contract (§7) requires of each acknowledged (2xx) write: a create → task_assigned to the
// assignee; a status change (PATCH or bulk, only for tasks whose status differs) → status_change to
// the assignee; a reassignment → task_assigned to the new and task_unassigned to the previous
// assignee. After the workload stops (and a drain of at most one heartbeat plus 10 s):
//   1. stored: the notification rows of the soak's tasks equal the expected multiset of
//      (user, task, type) exactly — none missing, none extra;
//   2. received: every such row's id arrived on a socket of its user (the union of that user's
//      sockets; repeats are allowed, delivery is at least once) and no socket got another user's;
//   3. delivered: every row is marked is_delivered.
// `lost` counts the failures of 1 (missing) and 2 (never received).
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { WebSocket } from 'ws';
import { createTestDatabase } from '../helpers/database.js';
import { freePort, productionEnv, runCli, startServer, type ServerProcess } from '../helpers/processes.js';
import { productionBuild, type ProductionBuild } from '../helpers/production-build.js';
import { openSocket, socketUrl, type TestSocket } from '../helpers/sockets.js';
import { call, newTask, type CallOptions, type Outcome } from '../helpers/traffic.js';

export interface SoakOptions {
  durationMs: number;
  /** Requests a second over all HTTP loops together (each loop paces itself). */
  rate?: number;
  writers?: number;
  readers?: number;
  developers?: number;
  /** Heartbeat of the sockets (WS_HEARTBEAT_SECONDS): the longest a missed push may wait. */
  heartbeatSeconds?: number;
  /** Memory samples over the run (at least one a second). */
  samples?: number;
  redisUrl?: string;
  /** The production build to run (by default the one of the current sources, compiled if needed). */
  build?: ProductionBuild;
  /** Progress lines (the CLI prints them; the test keeps quiet). */
  log?: (line: string) => void;
}

export interface MemorySample {
  atMs: number;
  /** Resident set size (from /proc), before the forced collection. */
  rssBytes: number;
  /** V8 heap in use right after a forced full collection: what the process really retains. */
  heapAfterGcBytes: number;
  requests: number;
}

export interface MemoryVerdict {
  ok: boolean;
  /** Max of the quarter after warm-up (25–50 % of the run) and of the last quarter. */
  baselineMaxBytes: number;
  lastMaxBytes: number;
  allowedBytes: number;
  /** Least-squares slope over the second half, MiB per minute (reported, not judged). */
  secondHalfSlopeMiBPerMin: number;
  reason: string;
}

export interface SoakReport {
  database: 'sqlite' | 'postgresql';
  durationMs: number;
  requests: number;
  requestsPerSecond: number;
  statuses: Record<string, number>;
  serverErrors: number;
  /** Connection errors and timeouts: a request the server never answered. */
  transportErrors: number;
  /** 4xx answers to requests the workload expects to succeed (the runner's model or the server is wrong). */
  unexpected: string[];
  writes: { acknowledged: number; creates: number; patches: number; reassignments: number; bulk: number };
  logins: number;
  refreshes: number;
  notifications: { expected: number; stored: number; missing: number; extra: number; received: number; neverReceived: number; misdelivered: number; repeats: number; undeliveredRows: number; lateArrivals: number; lost: number };
  sockets: { longLived: number; shortLived: number; unexpectedCloses: string[] };
  serverErrorLogs: string[];
  exitCode: number | null;
  memorySamples: MemorySample[];
  memory: { ok: boolean; heap: MemoryVerdict; rss: MemoryVerdict };
  ok: boolean;
}

const PASSWORD = 'Soak-password-123';
const STATUSES = ['pending', 'in_progress', 'blocked', 'completed'] as const;
type Status = (typeof STATUSES)[number];
const MiB = 1024 * 1024;

/** Warm-up excluded from the memory judgement: the first quarter of the run. */
export const WARMUP_FRACTION = 0.25;
/** Tolerances of the two series: the last quarter may peak this much above the quarter after warm-up. */
export const HEAP_TOLERANCE = { ratio: 1.1, slackBytes: 4 * MiB };
export const RSS_TOLERANCE = { ratio: 1.15, slackBytes: 16 * MiB };

export interface Point {
  atMs: number;
  bytes: number;
}

/**
 * Whether a memory series levelled off: the highest value of the last quarter of the run is at most
 * `ratio` × the highest of the quarter after warm-up (25–50 %), plus `slackBytes`. Comparing maxima
 * of windows compares plateaus, which a single sample or a slope over a short run does not: the
 * allocator and the collector make both swing. A leak of L bytes a minute raises the last plateau
 * by about L × half the run. The retained heap (after a forced full collection) is the sharp
 * signal — garbage waiting for the collector does not count — and RSS the coarse one.
 */
export function judgeMemory(series: readonly Point[], durationMs: number, tolerance: { ratio: number; slackBytes: number }): MemoryVerdict {
  const within = (from: number, to: number) => series.filter((s) => s.atMs >= from * durationMs && s.atMs <= to * durationMs).map((s) => s.bytes);
  const baseline = within(WARMUP_FRACTION, 0.5);
  const last = within(0.75, 1.01);
  const slope = (slopeBytesPerMs(series.filter((s) => s.atMs >= durationMs / 2)) * 60_000) / MiB;
  if (baseline.length < 2 || last.length < 2) {
    return { ok: false, baselineMaxBytes: 0, lastMaxBytes: 0, allowedBytes: 0, secondHalfSlopeMiBPerMin: slope, reason: 'too few memory samples to judge' };
  }
  const baselineMax = Math.max(...baseline);
  const lastMax = Math.max(...last);
  const allowed = baselineMax * tolerance.ratio + tolerance.slackBytes;
  const ok = lastMax <= allowed;
  const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
  return {
    ok,
    baselineMaxBytes: baselineMax,
    lastMaxBytes: lastMax,
    allowedBytes: allowed,
    secondHalfSlopeMiBPerMin: slope,
    reason: `last-quarter peak ${mb(lastMax)} ${ok ? '≤' : '>'} allowed ${mb(allowed)} (the quarter after warm-up peaked at ${mb(baselineMax)})`,
  };
}

function slopeBytesPerMs(series: readonly Point[]): number {
  if (series.length < 2) return 0;
  const n = series.length;
  const mx = series.reduce((a, s) => a + s.atMs, 0) / n;
  const my = series.reduce((a, s) => a + s.bytes, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of series) {
    num += (s.atMs - mx) * (s.bytes - my);
    den += (s.atMs - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * A DevTools-protocol session with the server process (started with --inspect on loopback), used
 * only to force a full collection and read the heap that survives it.
 */
async function inspector(port: number): Promise<{ heapAfterGc(): Promise<number>; close(): void }> {
  let targets: Array<{ webSocketDebuggerUrl: string }> = [];
  for (let i = 0; i < 50 && targets.length === 0; i += 1) {
    try {
      targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as typeof targets;
    } catch {
      await sleep(100);
    }
  }
  const ws = new WebSocket(targets[0]?.webSocketDebuggerUrl ?? '');
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let lastId = 0;
  const pending = new Map<number, (message: { result?: unknown; error?: { message: string } }) => void>();
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
    if (message.id !== undefined) pending.get(message.id)?.(message);
    if (message.id !== undefined) pending.delete(message.id);
  });
  const send = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = (lastId += 1);
      pending.set(id, (m) => (m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result)));
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    heapAfterGc: async () => {
      await send('HeapProfiler.collectGarbage');
      const answer = (await send('Runtime.evaluate', { expression: 'process.memoryUsage().heapUsed', returnByValue: true })) as { result: { value: number } };
      return answer.result.value;
    },
    close: () => ws.close(),
  };
}

/** Resident memory of a process (Linux /proc), in bytes. */
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return Number(kib ?? 0) * 1024;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
const keyOf = (userId: number, taskId: number, type: string) => `${userId}:${taskId}:${type}`;

interface Session {
  headers: Record<string, string>;
  token: string;
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const rate = options.rate ?? 100;
  const writers = options.writers ?? 3;
  const readers = options.readers ?? 3;
  const developerCount = options.developers ?? 4;
  const heartbeatSeconds = options.heartbeatSeconds ?? 10;
  const log = options.log ?? (() => undefined);
  const [build, database] = await Promise.all([options.build ?? productionBuild(), createTestDatabase()]);
  const dbKind = database.url.startsWith('sqlite') ? 'sqlite' : 'postgresql';
  let server: ServerProcess | undefined;
  try {
    const inspectorPort = await freePort();
    const env = productionEnv({
      DATABASE_URL: database.url,
      PORT: String(await freePort()),
      // Rate limiting stays on (its store is part of what must not leak) with limits the workload never reaches.
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
      RATE_LIMIT_LOGIN_PER_USERNAME: '1000000',
      // Tokens outlive the run (max 24 h), so the long-lived sockets are never closed for expiry.
      ACCESS_TOKEN_EXPIRE_MINUTES: String(Math.min(24 * 60, Math.ceil(options.durationMs / 60_000) + 30)),
      WS_HEARTBEAT_SECONDS: String(heartbeatSeconds),
      JOBS_ENABLED: 'true',
      // Loopback only: the runner forces full collections through it to read the retained heap.
      NODE_OPTIONS: `--inspect=127.0.0.1:${inspectorPort}`,
      ...(options.redisUrl ? { REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: `ctms-soak-${process.pid}` } : {}),
    });
    server = await startServer(env, 40_000, build.server);
    const base = server.url;
    const address = base.replace(/^http:\/\//, '');
    const pid = server.child.pid ?? 0;
    const heap = await inspector(inspectorPort);

    const createUser = async (username: string, role: string) => {
      const made = await runCli(['create-user', '--username', username, '--email', `${username}@soak.example.com`, '--password', PASSWORD, '--role', role], env, build.cli);
      if (made.code !== 0) throw new Error(`create-user ${username} failed:\n${made.output}`);
      return Number(made.stdout.trim().split('\n').pop());
    };
    const loginUsers = ['soak_login0', 'soak_login1'];
    const [, ...developers] = await Promise.all([
      createUser('soak_manager', 'manager'),
      ...Array.from({ length: developerCount }, (_, i) => createUser(`soak_dev${i}`, 'developer')),
      ...loginUsers.map((name) => createUser(name, 'developer')),
    ]);
    developers.splice(developerCount);

    // Counters.
    const statuses: Record<string, number> = {};
    const unexpected: string[] = [];
    let transportErrors = 0;
    let requests = 0;
    const writes = { acknowledged: 0, creates: 0, patches: 0, reassignments: 0, bulk: 0 };
    let logins = 0;
    let refreshes = 0;
    const expected = new Map<string, number>();
    const expectNotification = (userId: number, taskId: number, type: string) => {
      const key = keyOf(userId, taskId, type);
      expected.set(key, (expected.get(key) ?? 0) + 1);
    };

    /** One request; counts it and flags anything but the expected status. */
    const request = async (what: string, path: string, want: number, options: CallOptions = {}): Promise<Outcome> => {
      const outcome = await call(`${base}${path}`, options);
      requests += 1;
      const label = outcome.error ? `error:${outcome.error}` : String(outcome.status);
      statuses[label] = (statuses[label] ?? 0) + 1;
      if (outcome.error) transportErrors += 1;
      else if (outcome.status !== want && (outcome.status ?? 0) < 500 && unexpected.length < 50) {
        unexpected.push(`${what} ${path} → ${outcome.status} ${outcome.body?.slice(0, 200)}`);
      }
      return outcome;
    };
    const json = <T>(outcome: Outcome): T => JSON.parse(outcome.body ?? 'null') as T;

    const loginAs = async (username: string, agent?: Agent): Promise<Session & { cookies: string }> => {
      const res = await request('login', '/api/auth/login', 200, { method: 'POST', body: { username, password: PASSWORD }, agent });
      if (res.status !== 200) throw new Error(`login of ${username} failed: ${res.status ?? res.error} ${res.body}`);
      logins += 1;
      const token = json<{ access: string }>(res).access;
      return { token, headers: { authorization: `Bearer ${token}` }, cookies: cookieHeader(res) };
    };
    const manager = await loginAs('soak_manager');
    const devSessions = new Map<number, Session>();
    for (let i = 0; i < developerCount; i += 1) devSessions.set(developers[i] as number, await loginAs(`soak_dev${i}`));

    // Sockets: one long-lived per developer (reopened, and counted, if the server closes it).
    const received = new Map<number, TestSocket[]>(developers.map((id) => [id, []]));
    const unexpectedCloses: string[] = [];
    let stopping = false;
    let shortLived = 0;
    const openFor = async (userId: number): Promise<TestSocket> => {
      const socket = await openSocket(socketUrl(address, (devSessions.get(userId) as Session).token));
      received.get(userId)?.push(socket);
      return socket;
    };
    let stop: () => void = () => undefined;
    const stopped = new Promise<null>((resolve) => (stop = () => resolve(null)));
    const keepOpen = async (userId: number) => {
      while (!stopping) {
        const socket = await openFor(userId);
        const closed = await Promise.race([socket.closed, stopped]);
        if (closed && !stopping) unexpectedCloses.push(`developer ${userId}: ${closed.code} ${closed.reason}`);
      }
    };
    const longLived = developers.map((id) => keepOpen(id));
    // Wait until every long-lived socket answers a ping before the workload starts.
    for (const id of developers) {
      const sockets = received.get(id) ?? [];
      for (let i = 0; i < 100 && sockets.length === 0; i += 1) await sleep(20);
      await sockets[0]?.roundTrip();
    }

    const started = Date.now();
    const deadline = started + options.durationMs;
    const loops = writers + readers + 1;
    const interval = (1000 * loops) / rate;
    /** Runs `step` until the deadline, at most once per interval. */
    const paced = async (step: () => Promise<void>) => {
      while (Date.now() < deadline) {
        const at = Date.now();
        await step();
        const rest = interval - (Date.now() - at);
        if (rest > 0) await sleep(rest);
      }
    };

    const writer = async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const owned: Array<{ id: number; status: Status; assignee: number }> = [];
      const opts = (extra: CallOptions) => ({ headers: manager.headers, agent, ...extra });
      await paced(async () => {
        const roll = Math.random();
        if (owned.length < 5 || roll < 0.25) {
          const assignee = pick(developers);
          const body = { ...newTask(`Soak ${requests}`, assignee), ...(owned.length > 0 && Math.random() < 0.2 ? { parent_task: pick(owned).id } : {}) };
          const res = await request('create', '/api/tasks', 201, opts({ method: 'POST', body }));
          if (res.status !== 201) return;
          const task = json<{ id: number; status: Status }>(res);
          owned.push({ id: task.id, status: task.status, assignee });
          expectNotification(assignee, task.id, 'task_assigned');
          writes.creates += 1;
        } else if (roll < 0.55) {
          const task = pick(owned);
          const status = pick(STATUSES.filter((s) => s !== task.status));
          const res = await request('patch', `/api/tasks/${task.id}`, 200, opts({ method: 'PATCH', body: { status } }));
          if (res.status !== 200) return;
          task.status = status;
          expectNotification(task.assignee, task.id, 'status_change');
          writes.patches += 1;
        } else if (roll < 0.7) {
          const task = pick(owned);
          const assignee = pick(developers.filter((d) => d !== task.assignee));
          const res = await request('reassign', `/api/tasks/${task.id}`, 200, opts({ method: 'PATCH', body: { assigned_to: assignee, title: `Soak moved ${requests}` } }));
          if (res.status !== 200) return;
          expectNotification(assignee, task.id, 'task_assigned');
          expectNotification(task.assignee, task.id, 'task_unassigned');
          task.assignee = assignee;
          writes.reassignments += 1;
        } else if (roll < 0.8) {
          const task = pick(owned);
          const res = await request('retitle', `/api/tasks/${task.id}`, 200, opts({ method: 'PATCH', body: { description: `Edited ${requests}` } }));
          if (res.status !== 200) return;
          writes.patches += 1;
        } else {
          const chosen = [...new Set(Array.from({ length: 2 + Math.floor(Math.random() * 8) }, () => pick(owned)))];
          const status = pick(STATUSES);
          const res = await request('bulk', '/api/tasks/bulk-update', 200, opts({ method: 'POST', body: { task_ids: chosen.map((t) => t.id), status } }));
          if (res.status !== 200) return;
          for (const task of chosen) {
            if (task.status !== status) expectNotification(task.assignee, task.id, 'status_change');
            task.status = status;
          }
          writes.bulk += 1;
        }
        writes.acknowledged += 1;
      });
      agent.destroy();
    };

    const reader = async (n: number) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const who = n === 0 ? manager : (devSessions.get(developers[n % developers.length] as number) as Session);
      const paths = ['/api/tasks?limit=50', '/api/tasks?limit=20&status=in_progress&ordering=-updated_at', '/api/notifications?limit=20', '/api/notifications/unread_count', '/api/analytics', '/api/auth/users/me', '/health'];
      await paced(async () => {
        await request('read', pick(paths), 200, { headers: who.headers, agent });
      });
      agent.destroy();
    };

    // Logins, refreshes (twice, with the rotated cookie) and logouts of users nobody else uses, so their
    // device cap never ends a developer's socket session.
    const authLoop = async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      let turn = 0;
      await paced(async () => {
        turn += 1;
        const session = await loginAs(pick(loginUsers), agent);
        let cookies = session.cookies;
        let token = session.token;
        for (let i = 0; i < 2; i += 1) {
          const res = await request('refresh', '/api/auth/refresh', 200, { method: 'POST', headers: { cookie: cookies }, agent });
          if (res.status !== 200) return;
          refreshes += 1;
          cookies = cookieHeader(res) || cookies;
          token = json<{ access: string }>(res).access;
        }
        await request('me', '/api/auth/users/me', 200, { headers: { authorization: `Bearer ${token}` }, agent });
        // Every other session is left to the device cap to evict (the login that makes a fourth).
        if (turn % 2 === 0) await request('logout', '/api/auth/logout', 200, { method: 'POST', headers: { authorization: `Bearer ${token}`, cookie: cookies }, agent });
      });
      agent.destroy();
    };

    // Short-lived sockets: open, ping, hold a moment, close — for a random developer.
    const socketChurn = async () => {
      while (Date.now() < deadline) {
        const socket = await openFor(pick(developers));
        await socket.roundTrip().catch(() => undefined);
        await sleep(300 + Math.random() * 700);
        await socket.close();
        shortLived += 1;
      }
    };

    // Memory: a sample every second or more (~`samples` over the run): RSS, then a forced full
    // collection and the heap that survived it.
    const memorySamples: MemorySample[] = [];
    const everyMs = Math.max(1000, Math.floor(options.durationMs / (options.samples ?? 60)));
    const sample = async () => {
      const rssBytes = rssOf(pid);
      memorySamples.push({ atMs: Date.now() - started, rssBytes, heapAfterGcBytes: await heap.heapAfterGc(), requests });
    };
    const sampler = (async () => {
      while (Date.now() < deadline) {
        await sample();
        await sleep(everyMs);
      }
      await sample();
    })();
    const progress = setInterval(() => {
      const last = memorySamples[memorySamples.length - 1];
      log(
        `${Math.round((Date.now() - started) / 1000)} s: ${requests} requests, RSS ${((last?.rssBytes ?? 0) / MiB).toFixed(1)} MiB, ` +
          `heap after GC ${((last?.heapAfterGcBytes ?? 0) / MiB).toFixed(1)} MiB, 5xx ${serverErrorCount(statuses)}`,
      );
    }, Math.max(5000, options.durationMs / 20));

    await Promise.all([
      ...Array.from({ length: writers }, writer),
      ...Array.from({ length: readers }, (_, i) => reader(i)),
      authLoop(),
      socketChurn(),
      sampler,
    ]);
    clearInterval(progress);
    const elapsed = Date.now() - started;
    log(`workload done: ${requests} requests in ${(elapsed / 1000).toFixed(1)} s; draining notifications`);

    // Drain: every stored notification of the soak's tasks should reach a socket of its user.
    const receivedIds = (userId: number) => {
      const ids = new Set<number>();
      for (const socket of received.get(userId) ?? []) {
        for (const m of socket.messages) {
          if (m.type !== 'notification') continue;
          const n = m.notification as { id: number };
          ids.add(n.id);
        }
      }
      return ids;
    };
    const rows = async () =>
      database.handle.db
        .selectFrom('notifications')
        .select(['id', 'user_id', 'task_id', 'notification_type', 'is_delivered'])
        .where('user_id', 'in', developers)
        .orderBy('id')
        .execute();
    const drainStart = Date.now();
    const arrivedBeforeDrain = new Set(developers.flatMap((id) => [...receivedIds(id)]));
    const drainDeadline = Date.now() + (heartbeatSeconds + 10) * 1000;
    let stored = await rows();
    while (Date.now() < drainDeadline) {
      stored = await rows();
      const missingOnSockets = stored.filter((r) => !receivedIds(r.user_id).has(r.id) || !r.is_delivered);
      if (missingOnSockets.length === 0) break;
      await sleep(250);
    }
    log(`drained in ${((Date.now() - drainStart) / 1000).toFixed(1)} s`);
    stopping = true;
    stop();
    await Promise.all(longLived);
    for (const sockets of received.values()) for (const s of sockets) s.ws.terminate();

    // The three checks.
    const storedKeys = new Map<string, number>();
    for (const r of stored) {
      const key = keyOf(r.user_id, r.task_id ?? 0, r.notification_type);
      storedKeys.set(key, (storedKeys.get(key) ?? 0) + 1);
    }
    let missing = 0;
    let extra = 0;
    for (const key of new Set([...expected.keys(), ...storedKeys.keys()])) {
      const want = expected.get(key) ?? 0;
      const got = storedKeys.get(key) ?? 0;
      if (got < want) missing += want - got;
      else extra += got - want;
    }
    let neverReceived = 0;
    let repeats = 0;
    let misdelivered = 0;
    let receivedCount = 0;
    let lateArrivals = 0;
    const owner = new Map(stored.map((r) => [r.id, r.user_id]));
    for (const userId of developers) {
      for (const id of receivedIds(userId)) if (owner.get(id) !== userId) misdelivered += 1;
      // The same notification twice on one socket (several sockets of a user each get it once).
      for (const socket of received.get(userId) ?? []) {
        const ids = socket.messages.filter((m) => m.type === 'notification').map((m) => (m.notification as { id: number }).id);
        repeats += ids.length - new Set(ids).size;
      }
    }
    for (const r of stored) {
      if (receivedIds(r.user_id).has(r.id)) {
        receivedCount += 1;
        if (!arrivedBeforeDrain.has(r.id)) lateArrivals += 1;
      } else {
        neverReceived += 1;
      }
    }
    const undeliveredRows = stored.filter((r) => !r.is_delivered).length;

    heap.close();
    const exitCode = await server.stop('SIGTERM');
    const serverErrorLogs = server
      .output()
      .split('\n')
      .filter((line) => /"level":(50|60)/.test(line) || /unhandled|uncaught/i.test(line))
      .slice(0, 20);
    server = undefined;

    const heapVerdict = judgeMemory(memorySamples.map((m) => ({ atMs: m.atMs, bytes: m.heapAfterGcBytes })), elapsed, HEAP_TOLERANCE);
    const rssVerdict = judgeMemory(memorySamples.map((m) => ({ atMs: m.atMs, bytes: m.rssBytes })), elapsed, RSS_TOLERANCE);
    const memory = { ok: heapVerdict.ok && rssVerdict.ok, heap: heapVerdict, rss: rssVerdict };
    const serverErrors = serverErrorCount(statuses);
    const lost = missing + neverReceived;
    const report: SoakReport = {
      database: dbKind,
      durationMs: elapsed,
      requests,
      requestsPerSecond: Math.round((requests / elapsed) * 1000 * 10) / 10,
      statuses,
      serverErrors,
      transportErrors,
      unexpected,
      writes,
      logins,
      refreshes,
      notifications: {
        expected: [...expected.values()].reduce((a, b) => a + b, 0),
        stored: stored.length,
        missing,
        extra,
        received: receivedCount,
        neverReceived,
        misdelivered,
        repeats,
        undeliveredRows,
        lateArrivals,
        lost,
      },
      sockets: { longLived: developers.length, shortLived, unexpectedCloses },
      serverErrorLogs,
      exitCode,
      memorySamples,
      memory,
      ok: false,
    };
    report.ok =
      serverErrors === 0 &&
      transportErrors === 0 &&
      unexpected.length === 0 &&
      lost === 0 &&
      extra === 0 &&
      misdelivered === 0 &&
      undeliveredRows === 0 &&
      unexpectedCloses.length === 0 &&
      serverErrorLogs.length === 0 &&
      exitCode === 0 &&
      memory.ok;
    return report;
  } finally {
    await server?.stop('SIGKILL');
    await database.cleanup();
  }
}

const serverErrorCount = (statuses: Record<string, number>) =>
  Object.entries(statuses).reduce((n, [status, count]) => (/^5\d\d$/.test(status) ? n + count : n), 0);

/** The `name=value` pairs of a response's Set-Cookie headers, as a Cookie header. */
function cookieHeader(outcome: Outcome): string {
  const set = outcome.headers?.['set-cookie'] ?? [];
  return set
    .map((line) => line.split(';')[0] ?? '')
    .filter((pair) => pair.includes('=') && !pair.endsWith('='))
    .join('; ');
}

/** The report as text: the verdicts, then RSS over time (at most `rows` rows). */
export function formatReport(report: SoakReport, rows = 30): string {
  const n = report.notifications;
  const mb = (bytes: number) => (bytes / MiB).toFixed(1);
  const lines = [
    `Soak on ${report.database}: ${(report.durationMs / 1000).toFixed(0)} s, ${report.requests} requests (${report.requestsPerSecond}/s) — ${report.ok ? 'PASS' : 'FAIL'}`,
    `  statuses: ${JSON.stringify(report.statuses)}; 5xx: ${report.serverErrors}; unanswered: ${report.transportErrors}; unexpected 4xx: ${report.unexpected.length}`,
    `  writes acknowledged: ${report.writes.acknowledged} (creates ${report.writes.creates}, patches ${report.writes.patches}, reassignments ${report.writes.reassignments}, bulk ${report.writes.bulk}); logins ${report.logins}, refreshes ${report.refreshes}`,
    `  notifications: expected ${n.expected}, stored ${n.stored} (missing ${n.missing}, extra ${n.extra}); received on sockets ${n.received} (never ${n.neverReceived}, after the workload ${n.lateArrivals}, repeats on one socket ${n.repeats}, misdelivered ${n.misdelivered}); not marked delivered ${n.undeliveredRows}; LOST ${n.lost}`,
    `  sockets: ${report.sockets.longLived} long-lived, ${report.sockets.shortLived} short-lived; unexpected closes: ${report.sockets.unexpectedCloses.length}`,
    `  memory: ${report.memory.ok ? 'levels off' : 'GROWS'}`,
    `    heap after GC: ${report.memory.heap.reason}; second-half slope ${report.memory.heap.secondHalfSlopeMiBPerMin.toFixed(2)} MiB/min`,
    `    RSS:           ${report.memory.rss.reason}; second-half slope ${report.memory.rss.secondHalfSlopeMiBPerMin.toFixed(2)} MiB/min`,
    `  server exit code ${report.exitCode}; error log lines ${report.serverErrorLogs.length}`,
    ...report.unexpected.slice(0, 10).map((u) => `  unexpected: ${u}`),
    ...report.sockets.unexpectedCloses.slice(0, 10).map((u) => `  socket closed: ${u}`),
    ...report.serverErrorLogs.slice(0, 10).map((u) => `  server log: ${u.slice(0, 300)}`),
    '',
    '  time (s) | RSS (MiB) | heap after GC (MiB) | requests',
    '  ---------|-----------|---------------------|---------',
  ];
  const samples = report.memorySamples;
  const step = Math.max(1, Math.ceil(samples.length / rows));
  samples.forEach((s, i) => {
    if (i % step === 0 || i === samples.length - 1) {
      lines.push(`  ${(s.atMs / 1000).toFixed(0).padStart(8)} | ${mb(s.rssBytes).padStart(9)} | ${mb(s.heapAfterGcBytes).padStart(19)} | ${String(s.requests).padStart(8)}`);
    }
  });
  return lines.join('\n');
}
