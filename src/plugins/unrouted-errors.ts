// Responses to requests that never reach a route or a hook: a malformed URL encoding or an
// over-long path parameter (Fastify's `frameworkErrors`), bytes Node's HTTP parser cannot read,
// such as a body longer or shorter than its Content-Length (the server's `clientError`), and an
// Expect header the server cannot meet (the server's `checkExpectation`). Fastify
// answers these with its own body (internal codes, the path echoed) and none of our headers; these
// handlers give them the shape of every other response (§1): a string `detail`, X-Request-Id,
// X-Process-Time and the security headers.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';
import type { Config } from '../config.js';
import { sendError } from './error-handler.js';

/** Helmet's settings, shared by the helmet plugin and the responses below. */
export function securityHeaderOptions(config: Config): { contentSecurityPolicy: false; hsts: boolean } {
  return {
    // The API serves JSON; /docs brings its own CSP (swagger-ui staticCSP).
    contentSecurityPolicy: false,
    hsts: config.environment === 'production',
  };
}

/** The headers helmet sets with `options` (they depend on nothing in the request). */
export function securityHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  helmet(options)({} as never, response as never, () => undefined);
  return headers;
}

/**
 * Helmet's headers on every routed response (404s included), worked out once: @fastify/helmet
 * parses helmet's options and runs its chain of middlewares anew on every request, for headers that
 * are the same every time.
 */
export const securityHeadersPlugin = fp(
  async (app: FastifyInstance) => {
    const headers = securityHeaders(securityHeaderOptions(app.config));
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers);
      done();
    });
  },
  { name: 'security-headers' },
);

const processTime = (seconds: number) => seconds.toFixed(6);

interface ClientError extends Error {
  code?: string;
}

/** Answers of the HTTP parser's errors, as Node and Fastify choose their statuses. */
function clientErrorAnswer(code: string | undefined): [number, string] {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'Request timeout'];
  if (code === 'HPE_HEADER_OVERFLOW') return [431, 'Request headers are too large'];
  return [400, 'Malformed HTTP request'];
}

export function unroutedErrorHandlers(config: Config) {
  const security = securityHeaders(securityHeaderOptions(config));

  return {
    frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
      // No onRequest/onSend hook runs for these requests: set what they would have set.
      reply.headers(security);
      reply.header('x-request-id', request.id);
      reply.header('x-process-time', processTime(reply.elapsedTime / 1000));
      sendError(error, request, reply);
    },

    clientErrorHandler(this: FastifyInstance, error: ClientError, socket: Socket): void {
      const started = performance.now();
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      // A response already under way on this connection cannot be followed by another one.
      const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
      if (!socket.writable || inFlight?.headersSent) {
        socket.destroy(error);
        return;
      }
      const [status, detail] = clientErrorAnswer(error.code);
      const requestId = randomUUID();
      this.log.debug({ err: error, reqId: requestId, status }, 'unreadable HTTP request');
      const { body, headers } = closingAnswer(detail, requestId, security, started);
      const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${body}`);
    },
  };
}

/** A JSON error body and the headers of an answer that ends its connection. */
function closingAnswer(detail: string, requestId: string, security: Record<string, string>, started: number) {
  const body = JSON.stringify({ detail });
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
    'x-request-id': requestId,
    ...security,
    'x-process-time': processTime((performance.now() - started) / 1000),
  };
  return { body, headers };
}

/**
 * An Expect header other than 100-continue: Node answers it itself (a bare 417 without a body or
 * our headers) unless the server listens for it. The request never reaches Fastify; its body is
 * left unread, so the connection ends.
 */
export function answerFailedExpectations(app: FastifyInstance, config: Config): void {
  const security = securityHeaders(securityHeaderOptions(config));
  app.server.on('checkExpectation', (_request: IncomingMessage, response: ServerResponse) => {
    const started = performance.now();
    const { body, headers } = closingAnswer('Expectation failed: only "Expect: 100-continue" is supported', randomUUID(), security, started);
    response.writeHead(417, headers);
    response.end(body);
  });
}
