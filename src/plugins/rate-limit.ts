// Rate limits (RATE_LIMIT_ENABLED), with @fastify/rate-limit counting in Redis or in memory
// (rate-limit-store.ts). Three limits:
// - every /api route (and every unknown path): RATE_LIMIT_PER_MINUTE per user when the request
//   carries a valid access token, per personal API token (by its hash) when it carries one, else
//   per client IP; an API token this instance has not yet accepted counts against its IP as well
//   (see rateLimitCaller in auth.ts);
// - the public auth routes (register, verify-email, resend-verification, login, refresh, password reset):
//   RATE_LIMIT_AUTH_PER_MINUTE per client IP, each route counted on its own (login and its OAuth2
//   form /token together), instead of the above;
// - login (and /token), in addition: RATE_LIMIT_LOGIN_PER_USERNAME attempts per username (or e-mail) in
//   RATE_LIMIT_LOGIN_WINDOW_MINUTES, whatever the address, so one account's password cannot be
//   guessed at from many addresses.
// /health, /, /docs, /openapi.json and the notification socket are not limited: probes, static
// documentation and socket reconnections after a deploy must never be refused (the socket has its
// own per-user cap). The caller's limit runs before any route hook, so it is checked ahead of
// authentication and costs no database query: the user comes from the token's signature alone.
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../errors.js';
import { sha256 } from '../lib/hash.js';
import { ErrorSchema } from '../schemas/common.js';
import { rateLimitCaller } from './auth.js';
import { createCounterStore } from './rate-limit-store.js';

const API_PREFIX = '/api/';
/** POST routes anyone may call: limited per address, more strictly than the rest. */
const AUTH_ROUTES = new Set(
  ['register', 'verify-email', 'resend-verification', 'login', 'token', 'refresh', 'password-reset/request', 'password-reset/confirm'].map(
    (name) => `/api/auth/${name}`,
  ),
);
/** Login and its OAuth2 form (/token) share one allowance per username. */
const LOGIN_ROUTES = new Set(['/api/auth/login', '/api/auth/token']);
const MINUTE_MS = 60_000;

export const tooManyRequests = (retryAfterSeconds: number) => {
  const seconds = Math.max(1, retryAfterSeconds);
  return new AppError(429, `Too many requests: try again in ${seconds} second${seconds === 1 ? '' : 's'}`, {
    'retry-after': String(seconds),
  });
};

type Limit = 'caller' | 'auth' | null;

/** Which limit a request counts against; null for the routes that are never limited. */
function limitOf(request: FastifyRequest): Limit {
  const route = request.routeOptions.url;
  // No route: an unknown path (404) or another method on a known one (405), counted like the API.
  if (route === undefined) return 'caller';
  if (!route.startsWith(API_PREFIX)) return null;
  return request.method === 'POST' && AUTH_ROUTES.has(route) ? 'auth' : 'caller';
}

const clientAddress = (request: FastifyRequest) => normalizeIP(request.ip);
/** The route whose allowance a request uses: /token is a login. */
const countedAs = (route: string | undefined) => (route !== undefined && LOGIN_ROUTES.has(route) ? '/api/auth/login' : route);

export const rateLimitPlugin = fp(
  async (app: FastifyInstance) => {
    const { config } = app;
    if (!config.rateLimitEnabled) return;

    const counters = createCounterStore({ redisUrl: config.redisUrl, keyPrefix: config.redisKeyPrefix, log: app.log });
    app.addHook('onClose', async () => counters.close());
    await counters.connected();
    await app.register(rateLimit, {
      global: false,
      store: counters.storeClass,
      max: config.rateLimitPerMinute,
      timeWindow: MINUTE_MS,
      errorResponseBuilder: (_request, context) => tooManyRequests(Math.ceil(context.ttl / 1000)),
    });

    const perCaller = app.rateLimit({
      keyGenerator: (request) => rateLimitCaller(app, request)?.key ?? `ip:${clientAddress(request)}`,
    });
    // The same counter as an anonymous caller's, for an API token not yet accepted here (see rateLimitCaller).
    const perClientAddress = app.createRateLimit({ keyGenerator: (request) => `ip:${clientAddress(request)}` });
    const perAddress = app.rateLimit({
      max: config.rateLimitAuthPerMinute,
      keyGenerator: (request) => `auth:${countedAs(request.routeOptions.url)}:ip:${clientAddress(request)}`,
    });
    const perUsername = app.createRateLimit({
      max: config.rateLimitLoginPerUsername,
      timeWindow: config.rateLimitLoginWindowMinutes * MINUTE_MS,
      keyGenerator: loginTarget,
    });

    app.addHook('onRequest', async function (request, reply) {
      const limit = limitOf(request);
      if (limit === 'auth') return perAddress.call(this, request, reply);
      if (limit !== 'caller') return;
      if (rateLimitCaller(app, request)?.unproven) await refuseBeyond(perClientAddress, request);
      return perCaller.call(this, request, reply);
    });
    // After validation: the body names the username.
    app.addHook('preHandler', async (request) => {
      if (request.method !== 'POST' || !LOGIN_ROUTES.has(request.routeOptions.url ?? '')) return;
      await refuseBeyond(perUsername, request);
    });
    app.addHook('onRoute', (route) => documentLimits(app, route));
  },
  { name: 'rate-limit' },
);

async function refuseBeyond(limiter: ReturnType<FastifyInstance['createRateLimit']>, request: FastifyRequest): Promise<void> {
  const attempt = await limiter(request);
  if (!attempt.isAllowed && attempt.isExceeded) throw tooManyRequests(attempt.ttlInSeconds);
}

/**
 * The identifier a login names, lowercased as login compares it, and hashed (no usernames or
 * addresses in Redis). Not resolved to an account: a username and its e-mail keep separate
 * counters, so being limited never reveals which e-mail belongs to which username.
 */
function loginTarget(request: FastifyRequest): string {
  const body = request.body as { username?: unknown } | undefined;
  const identifier = typeof body?.username === 'string' ? body.username.toLowerCase() : '';
  return `login:${sha256(identifier)}`;
}

/** The OpenAPI document tells clients about 429 on every limited route. */
function documentLimits(app: FastifyInstance, route: RouteOptions): void {
  const schema = route.schema;
  if (!route.url.startsWith(API_PREFIX) || !schema?.response || schema.hide) return;
  const { config } = app;
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  let limits = `${config.rateLimitPerMinute} requests a minute per user or personal API token (per client address without a valid token)`;
  if (methods.includes('POST') && AUTH_ROUTES.has(route.url)) {
    limits = `${config.rateLimitAuthPerMinute} requests a minute per client address`;
    if (LOGIN_ROUTES.has(route.url)) {
      limits +=
        `, and ${config.rateLimitLoginPerUsername} attempts per username or e-mail every ${config.rateLimitLoginWindowMinutes} minutes ` +
        'whatever the address';
    }
  }
  route.schema = {
    ...schema,
    description: [schema.description, `Rate limit: ${limits}; beyond it 429 with Retry-After (seconds).`].filter(Boolean).join(' '),
    response: {
      ...(schema.response as Record<string, unknown>),
      429: Type.Ref(ErrorSchema, { description: 'Too many requests: retry after the Retry-After header\'s seconds' }),
    },
  };
}
