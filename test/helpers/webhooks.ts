// Webhook test parts: a real HTTP receiver on a loopback port that records every request (raw body
// and headers), verifies signatures, and answers as told — a status, or hang until released — and
// the config that lets the app deliver to it quickly.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../src/config.js';

/** The app delivering to a loopback receiver, with short polls, timeouts and backoffs. */
export const webhookTestConfig = (overrides: Partial<Config> = {}): Partial<Config> => ({
  webhookWorkerEnabled: true,
  webhookAllowPrivate: true,
  webhookPollIntervalMs: 50,
  webhookBackoffBaseMs: 50,
  webhookTimeoutMs: 2000,
  webhookMaxAttempts: 5,
  ...overrides,
});

export interface ReceivedDelivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: { event: string; delivered_at: string; data: Record<string, unknown> };
}

/**
 * What the receiver answers to its n-th request (0-based): a status code; 'hang' (hold the request
 * until released); or 'flood' (200 with a body that never ends).
 */
export type Answer = (index: number) => number | 'hang' | 'flood';

export interface Receiver {
  url: string;
  received: ReceivedDelivery[];
  /** Requests being held open ('hang'). */
  readonly hanging: number;
  answer: Answer;
  /** Answers every held request with 200. */
  release(): void;
  close(): Promise<void>;
}

export async function startReceiver(answer: Answer = () => 200): Promise<Receiver> {
  const received: ReceivedDelivery[] = [];
  const held = new Set<ServerResponse>();
  const receiver = {
    url: '',
    received,
    answer,
    get hanging() {
      return held.size;
    },
    release() {
      for (const response of held) response.writeHead(200).end('ok');
      held.clear();
    },
    close: async () => {
      receiver.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const index = received.length;
      received.push({ path: request.url ?? '', headers: request.headers, body, json: JSON.parse(body) as ReceivedDelivery['json'] });
      const outcome = receiver.answer(index);
      if (outcome === 'hang') {
        held.add(response);
        response.on('close', () => held.delete(response));
        return;
      }
      if (outcome === 'flood') {
        response.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(64 * 1024, 'x');
        const pour = () => {
          while (!response.destroyed && response.write(chunk));
        };
        response.on('drain', pour);
        pour();
        return;
      }
      response.writeHead(outcome, outcome >= 300 && outcome < 400 ? { location: '/elsewhere' } : {}).end('answer');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}

/** Verifies X-CTMS-Signature as a receiver should: HMAC-SHA256 of the raw body, compared in constant time. */
export function hasValidSignature(delivery: ReceivedDelivery, secret: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(delivery.body).digest('hex')}`);
  const given = Buffer.from(String(delivery.headers['x-ctms-signature'] ?? ''));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Creates a webhook through the API; returns its id and its secret. */
export async function createWebhook(
  app: FastifyInstance,
  headers: Record<string, string>,
  url: string,
  events: string[],
): Promise<{ id: number; secret: string }> {
  const response = await app.inject({ method: 'POST', url: '/api/webhooks', headers, payload: { url, events } });
  if (response.statusCode !== 201) throw new Error(`creating a webhook answered ${response.statusCode}: ${response.body}`);
  const body = response.json<{ id: number; secret: string }>();
  return { id: body.id, secret: body.secret };
}
