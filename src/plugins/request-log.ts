// One log line per request, written when the response has gone out: method, URL (token parameters
// redacted), status, duration in milliseconds, the request id (the logger's reqId) and the user when
// the request was authenticated. Fastify's own two lines per request are turned off in app.ts.
// Probes and scrapes (/health, /health/ready, /metrics) are logged at debug level, so a load
// balancer polling every few seconds does not bury the requests people make.
import type { FastifyInstance } from 'fastify';

const QUIET_PATHS = new Set(['/health', '/health/ready', '/metrics']);
// pino's level numbers: a line is written when its level is at least the logger's.
const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const DEBUG = 20;
const INFO = 30;
const TOKEN_PARAMETER = /^(?:token|access_token|refresh_token)$/i;

/** The URL with the values of token parameters replaced, however their names are encoded. */
export function redactQueryTokens(url: string): string {
  const start = url.indexOf('?');
  if (start < 0) return url;
  const query = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const [name = '', ...value] = pair.split('=');
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // A malformed escape: judge the name as written.
      }
      return TOKEN_PARAMETER.test(decoded.trim()) && value.length > 0 ? `${name}=[redacted]` : pair;
    })
    .join('&');
  return `${url.slice(0, start)}?${query}`;
}

/** The URL's path without its query and trailing slashes ("/" stays "/"). */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  return path.replace(/\/+$/, '') || '/';
}

// Callback-style hooks: every request runs them, and an async hook costs a promise and a microtask
// turn each.
export function installRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', (request, reply, done) => {
    const quiet = QUIET_PATHS.has(pathOf(request.url));
    // At the usual levels a probe's line is dropped: not worth building.
    if ((LEVEL_VALUES[request.log.level] ?? Infinity) > (quiet ? DEBUG : INFO)) return done();
    const url = redactQueryTokens(request.url);
    const responseTime = Math.round(reply.elapsedTime * 10) / 10;
    const userId = request.auth?.user.id;
    const line = { method: request.method, url, statusCode: reply.statusCode, responseTime, ...(userId === undefined ? {} : { userId }) };
    const message = `${request.method} ${url} ${reply.statusCode} ${responseTime} ms`;
    if (quiet) request.log.debug(line, message);
    else request.log.info(line, message);
    done();
  });
  // A WebSocket upgrade is handed over to the socket right after this (no response, so no line
  // above): its line is written here. The socket handler logs how the socket ends, if it must.
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.ws === true) {
      const url = redactQueryTokens(request.url);
      request.log.info({ method: request.method, url, upgrade: 'websocket' }, `${request.method} ${url} upgrade to WebSocket`);
    }
    done();
  });
}
