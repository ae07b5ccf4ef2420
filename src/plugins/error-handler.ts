// The one place errors become responses: typed AppErrors map to their status and string `detail`,
// schema failures to 422 with an `errors` list, framework 4xx errors keep their status with a clear
// message, a database that is down, full or too slow to a 503 (with Retry-After), and anything else
// is a logged 500 whose body never carries internals.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { databaseUnavailableReason, isConcurrencyConflict } from '../db/database.js';
import { AppError, serviceUnavailable, ValidationFailure } from '../errors.js';
import { errorResponses } from '../schemas/common.js';

interface ValidationItem {
  loc: (string | number)[];
  msg: string;
  type: string;
}

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** FastAPI's names for where a bad value was: clients of the original service read `loc[0]`. */
const LOCATION_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

const FRAMEWORK_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'Request body is too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Unsupported media type: send application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Request body size did not match Content-Length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'Request body is empty',
  FST_ERR_BAD_URL: 'Malformed URL',
  FST_ERR_MAX_PARAM_LENGTH: 'URI too long: a path segment exceeds the maximum length',
  FST_ERR_ASYNC_CONSTRAINT: 'Bad request',
};

export function validationItems(errors: AjvError[], context: string): ValidationItem[] {
  return errors.map((e) => {
    const path = (e.instancePath ?? '')
      .split('/')
      .filter(Boolean)
      .map((segment) => {
        const unescaped = segment.replace(/~1/g, '/').replace(/~0/g, '~');
        return /^\d+$/.test(unescaped) ? Number(unescaped) : unescaped;
      });
    const params = e.params ?? {};
    if (e.keyword === 'required' && typeof params.missingProperty === 'string') {
      return { loc: [context, ...path, params.missingProperty], msg: 'Field required', type: 'missing' };
    }
    let msg = e.message ?? 'Invalid value';
    if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) {
      msg = `must be one of: ${params.allowedValues.map(String).join(', ')}`;
    } else if (e.keyword === 'anyOf') {
      msg = 'has an invalid type or value';
    }
    return { loc: [context, ...path], msg, type: e.keyword ?? 'value_error' };
  });
}

export function summarize(items: ValidationItem[]): string {
  const first = items[0];
  if (!first) return 'Validation error';
  const where = first.loc.join('.');
  const more = items.length > 1 ? ` (and ${items.length - 1} more)` : '';
  return `Validation error: ${where}: ${first.msg}${more}`;
}

/** Sends the response for `error`: the application's error handler, also used for unrouted requests. */
export function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof ValidationFailure) {
    const items = [{ loc: error.loc, msg: error.detail, type: error.type }];
    return reply.status(422).send({ detail: summarize(items), errors: items });
  }
  if (error instanceof AppError) {
    for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
    return reply.status(error.statusCode).send({ detail: error.detail });
  }
  if (error.validation) {
    // Ajv's `oneOf`/`anyOf` companions repeat the real cause; keep the specific messages.
    const raw = error.validation as AjvError[];
    const specific = raw.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf');
    const context = LOCATION_NAMES[error.validationContext ?? 'body'] ?? 'body';
    const items = validationItems(specific.length > 0 ? uniqueByPath(specific) : raw, context);
    return reply.status(422).send({ detail: summarize(items), errors: items });
  }
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (error instanceof SyntaxError && error.statusCode === 400)) {
    const items = [{ loc: ['body'], msg: 'Malformed JSON body', type: 'json_invalid' }];
    return reply.status(422).send({ detail: 'Malformed JSON body', errors: items });
  }
  const unavailable = databaseUnavailableReason(error);
  if (unavailable !== undefined) {
    // A fault of the database, not of the request: a 503 the client may retry, logged without a stack.
    request.log.warn({ err: { code: (error as { code?: unknown }).code, message: error.message } }, `database unavailable: ${unavailable}`);
    const answer = serviceUnavailable(unavailable);
    return reply.status(answer.statusCode).headers(answer.headers).send({ detail: answer.detail });
  }
  if (isConcurrencyConflict(error)) {
    // Modules check and lock what they touch; this is the net for a race they did not foresee.
    request.log.warn({ err: error }, 'request lost a race with a concurrent change');
    return reply.status(409).send({ detail: 'The request conflicted with a concurrent change; please retry' });
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // Fastify's own messages may echo the request (the URL, a header): never sent as they are.
    const detail = FRAMEWORK_MESSAGES[error.code] ?? ((error.code?.startsWith('FST_') ? STATUS_CODES[status] : error.message) || 'Bad request');
    return reply.status(status).send({ detail });
  }
  request.log.error({ err: error }, 'unhandled error');
  return reply.status(500).send({ detail: 'Internal server error' });
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler(sendError);
  app.addHook('onRoute', documentUnavailable);

  // A known path with another method is a 405 with an Allow header, as FastAPI answers.
  const routes: { method: string; pattern: RegExp }[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const source = route.url
      .replace(/\/+$/, '')
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    // OPTIONS is CORS's catch-all preflight, not a resource's method.
    for (const method of methods) if (method !== 'OPTIONS') routes.push({ method, pattern: new RegExp(`^${source}/?$`) });
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      return reply.status(405).header('allow', allowed.join(', ')).send({ detail: 'Method Not Allowed' });
    }
    return reply.status(404).send({ detail: 'Not Found' });
  });
}

/** Every /api route reads the database (at least the session behind its token), so each may answer 503. */
function documentUnavailable(route: RouteOptions): void {
  const schema = route.schema;
  if (!route.url.startsWith('/api/') || !schema?.response || schema.hide) return;
  const response = schema.response as Record<string, unknown>;
  if (response[503] !== undefined) return;
  route.schema = { ...schema, response: { ...response, ...errorResponses(503) } };
}

/** With allErrors, a bad union member yields one error per alternative; keep one per location. */
function uniqueByPath(errors: AjvError[]): AjvError[] {
  const seen = new Map<string, AjvError>();
  for (const e of errors) {
    const key = `${e.instancePath ?? ''}|${e.keyword === 'required' ? String(e.params?.missingProperty) : ''}`;
    if (!seen.has(key)) seen.set(key, e);
  }
  return [...seen.values()];
}
