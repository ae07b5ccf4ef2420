// Request bodies. JSON is the only body type: the framework's safe parser (prototype-poisoning
// protection), with an empty body read as no body. A route that takes no body (/refresh, /logout,
// /mark_read) ignores whatever arrives, whatever its Content-Type — clients send an empty JSON or
// form body there. Any other content type is a 415. Text containing NUL characters is refused, in
// bodies and query strings alike: PostgreSQL cannot store it, and no client needs it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, invalid } from '../errors.js';

/** Path of the first string (or key) containing a NUL character, or null. */
export function findNul(value: unknown, path: (string | number)[] = []): (string | number)[] | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (value === null || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNul(value[i], [...path, i]);
      if (found) return found;
    }
    return null;
  }
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) return [...path, key];
    const found = findNul(item, [...path, key]);
    if (found) return found;
  }
  return null;
}

export const NUL_MESSAGE = 'must not contain NUL characters';

const takesBody = (request: FastifyRequest) => request.routeOptions.schema?.body !== undefined;

export function installJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  // The API speaks JSON only: anything else is a 415, not a string handed to a JSON schema.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (!takesBody(request) || text.trim() === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, text, (error, parsed) => {
      if (error) return done(error, undefined);
      // JSON can only carry NUL as the escape \u0000, so most bodies skip the walk.
      const nulAt = text.includes('\\u0000') ? findNul(parsed) : null;
      if (nulAt) return done(invalid(['body', ...nulAt], NUL_MESSAGE), undefined);
      done(null, parsed);
    });
  });

  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (!takesBody(request) || text.trim() === '') {
      done(null, undefined);
      return;
    }
    done(new AppError(415, 'Unsupported media type: send application/json'), undefined);
  });

  // Callback style: every request runs it (an async hook costs a promise and a microtask turn).
  app.addHook('preValidation', (request, _reply, done) => {
    const inQuery = findNul(request.query);
    if (inQuery) return done(invalid(['query', ...inQuery], NUL_MESSAGE));
    const inParams = findNul(request.params);
    if (inParams) return done(invalid(['path', ...inParams], NUL_MESSAGE));
    done();
  });
}
