// CORS: the browser origins of ALLOWED_ORIGINS may call the API with credentials (the refresh
// cookie). "*" (refused in production by the configuration) lets any other origin read responses
// without credentials: a development convenience that never reflects an arbitrary origin together
// with Access-Control-Allow-Credentials.
import type { FastifyCorsOptions, FastifyCorsOptionsDelegateCallback } from '@fastify/cors';
import type { Config } from '../config.js';

export const EXPOSED_HEADERS = ['X-New-Access-Token', 'X-Total-Count', 'ETag', 'X-Process-Time', 'X-Request-Id', 'Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'];

const COMMON: FastifyCorsOptions = {
  exposedHeaders: EXPOSED_HEADERS,
  methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
  maxAge: 600,
};

/** What a request from `origin` is granted. */
export function corsAccess(allowedOrigins: readonly string[], origin: string | undefined): FastifyCorsOptions {
  if (!origin) return { origin: false };
  if (allowedOrigins.includes(origin.replace(/\/+$/, ''))) return { ...COMMON, origin: true, credentials: true };
  if (allowedOrigins.includes('*')) return { ...COMMON, origin: '*', credentials: false };
  return { origin: false };
}

/**
 * Fixed options, worked out once, unless "*" is allowed: a delegator's options are merged with the
 * defaults again on every request.
 */
export function corsOptions(config: Config): FastifyCorsOptions | { delegator: FastifyCorsOptionsDelegateCallback } {
  const allowed = config.allowedOrigins;
  if (allowed.includes('*')) {
    return { delegator: (request, callback) => callback(null, corsAccess(allowed, request.headers.origin)) };
  }
  return {
    ...COMMON,
    credentials: true,
    origin: (origin, callback) => callback(null, origin !== undefined && corsAccess(allowed, origin).origin === true),
  };
}
