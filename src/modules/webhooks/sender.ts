// One delivery attempt: a POST to the webhook's URL under the SSRF guard (the connection resolves
// and checks its own addresses), a hard time bound on the whole exchange, no redirects followed,
// and at most RESPONSE_BODY_CAP bytes of the answer read before the connection is dropped.
import http from 'node:http';
import https from 'node:https';
import { guardedLookup, literalHostRefusal, parseWebhookUrl } from './address-policy.js';

export const RESPONSE_BODY_CAP = 64 * 1024;

export interface AttemptResult {
  /** A 2xx answer. */
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export interface SendOptions {
  timeoutMs: number;
  allowPrivate: boolean;
}

export function sendWebhook(url: string, body: string, headers: Record<string, string>, options: SendOptions): Promise<AttemptResult> {
  const started = performance.now();
  const failed = (error: string | null, statusCode: number | null = null): AttemptResult => ({
    ok: false,
    statusCode,
    error,
    durationMs: performance.now() - started,
  });
  let target: URL;
  try {
    target = parseWebhookUrl(url);
  } catch (error) {
    return Promise.resolve(failed((error as Error).message));
  }
  const refused = options.allowPrivate ? undefined : literalHostRefusal(target);
  if (refused) return Promise.resolve(failed(refused.message));

  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(result);
    };
    const client = target.protocol === 'https:' ? https : http;
    const request = client.request(target, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      // A fresh connection each time, so every attempt goes through the guarded lookup.
      agent: false,
      ...(options.allowPrivate ? {} : { lookup: guardedLookup }),
    });
    const timer = setTimeout(() => settle(failed(`Timed out after ${options.timeoutMs} ms`)), options.timeoutMs);
    request.on('error', (error) => settle(failed(error.message || 'Connection failed')));
    request.on('response', (response) => {
      const statusCode = response.statusCode ?? 0;
      const done = () =>
        settle(
          statusCode >= 200 && statusCode < 300
            ? { ok: true, statusCode, error: null, durationMs: performance.now() - started }
            : failed(statusCode >= 300 && statusCode < 400 ? `Redirect (${statusCode}) not followed` : null, statusCode),
        );
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= RESPONSE_BODY_CAP) done();
      });
      response.on('end', done);
      response.on('error', done);
    });
    request.end(body);
  });
}
