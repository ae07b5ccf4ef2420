// Real WebSocket clients (the `ws` package) for the notification socket tests, and app instances
// listening on real loopback ports — several of them sharing one database, as a deployment would.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { WebSocket, WebSocketServer, type ClientOptions } from 'ws';
import { buildApp, type AppDependencies } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { createDatabase } from '../../src/db/database.js';
import type { TestApp } from './app.js';

export interface Closed {
  code: number;
  reason: string;
}

export interface TestSocket {
  ws: WebSocket;
  /** Every JSON message received so far, in order. */
  messages: Array<Record<string, unknown>>;
  /** Resolves with the first message (already received or arriving later) that matches. */
  next(match?: (message: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves once `count` messages have arrived. */
  waitForCount(count: number, timeoutMs?: number): Promise<Array<Record<string, unknown>>>;
  send(message: unknown): void;
  /** Sends a ping action and waits for its pong: the socket is open, authenticated and responsive. */
  roundTrip(timeoutMs?: number): Promise<void>;
  /** Resolves when the socket closes, with the server's code and reason. */
  closed: Promise<Closed>;
  close(): Promise<Closed>;
}

export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** Opens a socket and waits until it is open (or closed straight away: then `closed` tells why). */
export async function openSocket(url: string, options: ClientOptions = {}): Promise<TestSocket> {
  const ws = new WebSocket(url, options);
  const messages: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  const closed = new Promise<Closed>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
  });
  ws.on('message', (data) => {
    messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
    for (const wake of waiters) wake();
  });
  ws.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    ws.once('open', () => resolve());
    ws.once('close', () => resolve());
    ws.once('unexpected-response', () => resolve());
  });

  const waitUntil = <T>(check: () => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const attempt = () => {
        const found = check();
        if (found === undefined) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}; received ${JSON.stringify(messages)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(attempt);
      };
      waiters.add(attempt);
      attempt();
    });

  return {
    ws,
    messages,
    next: (match = () => true, timeoutMs = 5000) => waitUntil(() => messages.find(match), timeoutMs, 'a matching message'),
    waitForCount: (count, timeoutMs = 5000) =>
      waitUntil(() => (messages.length >= count ? messages.slice(0, count) : undefined), timeoutMs, `${count} messages`),
    send: (message) => ws.send(typeof message === 'string' ? message : JSON.stringify(message)),
    roundTrip: async (timeoutMs = 5000) => {
      const seen = messages.filter((m) => m.type === 'pong').length;
      ws.send(JSON.stringify({ action: 'ping' }));
      await waitUntil(() => (messages.filter((m) => m.type === 'pong').length > seen ? true : undefined), timeoutMs, 'a pong');
    },
    closed,
    close: () => {
      ws.close();
      return closed;
    },
  };
}

export const socketUrl = (address: string, token: string, path = '/ws/notifications') =>
  `ws://${address}${path}?token=${encodeURIComponent(token)}`;

/** Another instance of the app on the first one's database (as a second server process would be). */
export async function buildSecondInstance(
  first: TestApp,
  overrides: Partial<Config> = {},
  deps: Omit<AppDependencies, 'database'> = {},
): Promise<FastifyInstance> {
  const database = createDatabase(first.database.url, { poolSize: 5 });
  const app = await buildApp({ ...first.config, ...overrides }, { ...deps, database });
  app.addHook('onClose', async () => database.close());
  await app.ready();
  return app;
}

/** Polls `check` until it returns true (for effects that land shortly after a response). */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Two ends of one real WebSocket connection on loopback, without the app: the server end is what a
 * test hands to the socket hub, the client end records what arrives.
 */
export async function socketPair(): Promise<{ server: WebSocket; client: TestSocket; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', (socket) => resolve(socket)));
  const client = await openSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const server = await accepted;
  return {
    server,
    client,
    close: async () => {
      client.ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
