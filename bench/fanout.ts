// ws-fanout: N notification sockets open at once (users × sockets each, within the per-user cap),
// then one write — a manager's bulk status update of one task per user — and the time until every
// socket has received its notification. Also the server's memory per open socket.
import { WebSocket } from 'ws';
import { percentile } from './load.js';

export interface FanoutResult {
  sockets: number;
  opened: number;
  received: number;
  /** ms from sending the write until the last socket had its notification. */
  allReceivedMs: number;
  p50Ms: number;
  /** ms the write's HTTP answer took. */
  writeMs: number;
  rssBefore: number;
  rssOpen: number;
  errors: number;
}

interface Listener {
  ws: WebSocket;
  ready: Promise<boolean>;
  notified: Promise<number>;
}

function listen(url: string, startedAt: { value: number }): Listener {
  const ws = new WebSocket(url);
  let resolveReady: (ok: boolean) => void = () => undefined;
  let resolveNotified: (ms: number) => void = () => undefined;
  const ready = new Promise<boolean>((resolve) => (resolveReady = resolve));
  const notified = new Promise<number>((resolve) => (resolveNotified = resolve));
  ws.on('open', () => ws.send(JSON.stringify({ action: 'ping' })));
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as { type?: string };
    // The pong answers after authentication: the socket is then registered for its user.
    if (message.type === 'pong') resolveReady(true);
    else if (message.type === 'notification') resolveNotified(performance.now() - startedAt.value);
  });
  ws.on('error', () => resolveReady(false));
  ws.on('close', () => {
    resolveReady(false);
    resolveNotified(Number.NaN);
  });
  return { ws, ready, notified };
}

export interface FanoutPlan {
  serverUrl: string;
  /** One access token per listening user. */
  tokens: string[];
  socketsPerUser: number;
  sockets: number;
  /** Sends the write (the bulk updates) and resolves when it was answered; returns problems. */
  write(): Promise<string[]>;
  rss(): number;
  timeoutMs: number;
}

export async function runFanout(plan: FanoutPlan): Promise<FanoutResult> {
  const wsBase = plan.serverUrl.replace(/^http/, 'ws');
  const startedAt = { value: 0 };
  await new Promise((r) => setTimeout(r, 1000));
  const rssBefore = plan.rss();
  const listeners: Listener[] = [];
  // Opened in waves so the accept queue is never the thing measured.
  const WAVE = 200;
  for (let i = 0; i < plan.sockets; i += WAVE) {
    const wave: Listener[] = [];
    for (let k = i; k < Math.min(plan.sockets, i + WAVE); k++) {
      const token = plan.tokens[Math.floor(k / plan.socketsPerUser)] ?? '';
      wave.push(listen(`${wsBase}/ws/notifications?token=${encodeURIComponent(token)}`, startedAt));
    }
    await Promise.all(wave.map((l) => l.ready));
    listeners.push(...wave);
  }
  const opened = (await Promise.all(listeners.map((l) => l.ready))).filter(Boolean).length;
  await new Promise((r) => setTimeout(r, 1000));
  const rssOpen = plan.rss();

  startedAt.value = performance.now();
  const problems = await plan.write();
  const writeMs = performance.now() - startedAt.value;
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), plan.timeoutMs).unref());
  const times = await Promise.all(listeners.map((l) => Promise.race([l.notified, timeout.then(() => Number.NaN)])));
  const received = times.filter((t) => Number.isFinite(t));
  const sorted = Float64Array.from(received).sort();
  for (const l of listeners) l.ws.terminate();
  if (problems.length > 0) console.error(`ws-fanout write: ${problems.join('; ')}`);
  return {
    sockets: plan.sockets,
    opened,
    received: received.length,
    allReceivedMs: received.length === plan.sockets ? (sorted[sorted.length - 1] ?? 0) : Number.NaN,
    p50Ms: percentile(sorted, 50),
    writeMs,
    rssBefore,
    rssOpen,
    errors: plan.sockets - received.length + problems.length,
  };
}
