// Same-origin hosting of a built single-page client (STATIC_DIR), so a browser client and the API
// share one origin: the client's files at their own paths (hashed assets cached for good, the rest
// revalidated, compressed on the way out), and its index.html for the client's own routes — GET or
// HEAD asking for HTML on a path nothing else answers. The service's own paths (/api, /ws, /docs,
// /openapi.json, /health, /metrics) never get the page: their unknown paths keep their JSON 404s.
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import compress from '@fastify/compress';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/**
 * The page may load and call only its own origin (the API and its socket included), run its own
 * script files but no inline script, and use inline styles (common in client frameworks). The
 * API's own policy (default-src 'none', request-context.ts) stays on /api alone.
 */
export const CLIENT_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'self'",
  "img-src 'self' data: blob:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
].join('; ');

/** Build tools (Vite's default) put content-hashed file names here: a changed file gets a new name. */
const HASHED_ASSETS_DIR = 'assets';
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Everything else (index.html above all) is revalidated on each use, so a deploy shows at once. */
const REVALIDATE = 'no-cache';

/** First path segments that belong to the service, never to the client. */
const SERVICE_SEGMENTS = ['api', 'ws', 'docs', 'openapi.json', 'health', 'metrics'];

/** The headers of one of the client's files, by its path relative to STATIC_DIR. */
function clientFileHeaders(file: string): Record<string, string> {
  const firstSegment = file.split(/[\\/]/)[0];
  return {
    'cache-control': firstSegment === HASHED_ASSETS_DIR ? IMMUTABLE : REVALIDATE,
    'content-security-policy': CLIENT_CSP,
  };
}

/** Whether an Accept header asks for an HTML page (a browser navigation; fetch() sends *\/*). */
function acceptsHtml(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((range) => {
    const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    return (type === 'text/html' || type === 'application/xhtml+xml') && !params.some((param) => /^q=0(\.0*)?$/.test(param));
  });
}

/** Whether an unrouted request is a navigation to one of the client's own routes. */
function isClientRoute(request: FastifyRequest): boolean {
  if ((request.method !== 'GET' && request.method !== 'HEAD') || !acceptsHtml(request.headers.accept)) return false;
  let path: string;
  try {
    // Decoded, so that /%61pi/x or /api%2Fx count as /api.
    path = decodeURIComponent(request.url.split('?')[0] ?? '');
  } catch {
    return false;
  }
  const firstSegment = path.split(/[\\/]/).find((segment) => segment !== '')?.toLowerCase() ?? '';
  return !SERVICE_SEGMENTS.includes(firstSegment);
}

/** The files, in their own context so that compression applies to them and not to the API. */
async function clientFiles(app: FastifyInstance, { root }: { root: string }): Promise<void> {
  await app.register(compress);
  await app.register(fastifyStatic, {
    root,
    // One route per file present at start (so unknown paths stay unrouted and other methods get
    // 405); a new build needs a restart. Dotfiles are never served.
    wildcard: false,
    globIgnore: SERVICE_SEGMENTS.flatMap((segment) => [segment, `${segment}/**`]),
    decorateReply: false,
    cacheControl: false,
    setHeaders: (res, path) => {
      for (const [name, value] of Object.entries(clientFileHeaders(relative(root, path)))) res.setHeader(name, value);
    },
  });
}

export const staticClientPlugin = fp(
  async (app: FastifyInstance) => {
    const root = app.config.staticDir;
    if (root === null) return;
    await app.register(clientFiles, { root });

    // Unrouted requests only. Registered before the rate limits: pages are static, like /docs.
    app.addHook('onRequest', async (request, reply) => {
      if (!request.is404 || !isClientRoute(request)) return;
      // Read on each use: a redeployed index.html is served at once.
      const page = await readFile(join(root, 'index.html'));
      return reply.headers(clientFileHeaders('index.html')).type('text/html; charset=utf-8').send(page);
    });
  },
  { name: 'static-client' },
);
