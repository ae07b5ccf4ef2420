// STATIC_DIR: the API serves a built single-page client on its own origin — files with caching
// headers and compression, index.html for the client's routes, never for the service's own paths,
// nothing from outside the directory — and refuses a STATIC_DIR that holds no client.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { CLIENT_CSP } from '../../src/plugins/static-client.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { CLIENT_INDEX, CLIENT_SCRIPT, createClientBuild, OUTSIDE_SECRET, type ClientBuild } from '../helpers/client-build.js';
import { problemsOf } from '../helpers/config.js';
import { createUserWithSession } from '../helpers/factories.js';

const ASSET = '/assets/app-3f2a1c9e.js';
const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const IMMUTABLE = 'public, max-age=31536000, immutable';

function expectJsonNotFound(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }) {
  expect(res.statusCode).toBe(404);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.json()).toEqual({ detail: expect.any(String) });
}

describe('a built client served from STATIC_DIR', () => {
  let build: ClientBuild;
  let t: TestApp;
  beforeAll(async () => {
    build = createClientBuild({
      'robots.txt': 'User-agent: *\n',
      '.env': 'SECRET_KEY=from-a-dotfile',
      // A build that happens to hold the service's paths must not shadow them.
      'api/leak.json': '{"leak":true}',
      'docs/index.html': '<p>not the docs</p>',
      health: 'not the health check',
    });
    t = await buildTestApp({ staticDir: build.dir });
  });
  afterAll(async () => {
    await t?.close();
    build?.cleanup();
  });

  it('serves index.html at / instead of the JSON index, revalidated on each use', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toBe(CLIENT_INDEX);
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it('answers HEAD / with the headers and no body', async () => {
    const res = await t.app.inject({ method: 'HEAD', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toBe('');
  });

  it('serves hashed assets as immutable for a year, with an ETag that revalidates to 304', async () => {
    const res = await t.app.inject({ method: 'GET', url: ASSET });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^(text|application)\/javascript/);
    expect(res.headers['cache-control']).toBe(IMMUTABLE);
    expect(res.body).toBe(CLIENT_SCRIPT);
    const etag = String(res.headers.etag);
    const again = await t.app.inject({ method: 'GET', url: ASSET, headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
  });

  it('revalidates files outside assets/ on each use', async () => {
    for (const url of ['/index.html', '/robots.txt']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['cache-control'], url).toBe('no-cache');
    }
  });

  it.each([
    ['gzip', gunzipSync],
    ['br', brotliDecompressSync],
  ])('compresses files with %s when the client accepts it', async (encoding, decompress) => {
    const res = await t.app.inject({ method: 'GET', url: ASSET, headers: { 'accept-encoding': encoding } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBe(encoding);
    expect(String(res.headers.vary)).toMatch(/accept-encoding/i);
    expect(decompress(res.rawPayload).toString('utf8')).toBe(CLIENT_SCRIPT);
    expect(res.headers['cache-control']).toBe(IMMUTABLE);
  });

  it('sends files as they are to a client that accepts no compression', async () => {
    const res = await t.app.inject({ method: 'GET', url: ASSET });
    expect(res.headers['content-encoding']).toBeUndefined();
  });

  it('leaves API answers uncompressed, as before', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json', headers: { 'accept-encoding': 'gzip, br' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBeUndefined();
  });

  it.each(['/some/client/route', '/board/42', '/tasks/7/edit?tab=history', '/healthz', '/apix'])(
    'answers a browser navigation to the client route %s with index.html',
    async (url) => {
      const res = await t.app.inject({ method: 'GET', url, headers: HTML });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.body).toBe(CLIENT_INDEX);
    },
  );

  it('answers HEAD on a client route like GET, without a body', async () => {
    const res = await t.app.inject({ method: 'HEAD', url: '/board/42', headers: HTML });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toBe('');
  });

  it.each([
    ['fetch() and scripts', '*/*'],
    ['JSON clients', 'application/json'],
    ['no Accept header', undefined],
    ['HTML refused with q=0', 'text/html;q=0, */*'],
  ])('keeps the JSON 404 of an unknown path for %s', async (_who, accept) => {
    const res = await t.app.inject({ method: 'GET', url: '/some/client/route', headers: accept === undefined ? {} : { accept } });
    expectJsonNotFound(res);
  });

  it.each([
    '/api/nope',
    '/api',
    '/api/',
    '/ws/x',
    '/ws',
    '/docs/nope',
    '/health/nope',
    '/metrics',
    '/metrics/x',
    '/openapi.json/x',
    '/API/nope',
    '/%61pi/nope',
    '/api%2Fnope',
    '//api/nope',
  ])('never answers the service path %s with the page: a JSON 404 with a string detail', async (url) => {
    const res = await t.app.inject({ method: 'GET', url, headers: HTML });
    expectJsonNotFound(res);
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'] as const)('answers %s on a client route with the JSON 404', async (method) => {
    const res = await t.app.inject({ method, url: '/board/42', headers: { ...HTML, 'content-type': 'application/json' }, payload: '{}' });
    expectJsonNotFound(res);
  });

  it('answers another method on a file with 405 and Allow', async () => {
    const res = await t.app.inject({ method: 'POST', url: ASSET, headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(res.statusCode).toBe(405);
    expect(String(res.headers.allow)).toMatch(/GET/);
    expect(res.json()).toEqual({ detail: expect.any(String) });
  });

  it('gives the page a CSP that allows its own scripts and keeps the API\'s own CSP on /api', async () => {
    const t2 = await createUserWithSession(t.app);
    for (const [url, headers] of [
      ['/', {}],
      [ASSET, {}],
      ['/board/42', HTML],
    ] as const) {
      const res = await t.app.inject({ method: 'GET', url, headers });
      expect(res.headers['content-security-policy'], url).toBe(CLIENT_CSP);
    }
    expect(CLIENT_CSP).toContain("script-src 'self'");
    expect(CLIENT_CSP).toContain("connect-src 'self'");
    const api = await t.app.inject({ method: 'GET', url: '/api/auth/users/me', headers: t2.headers });
    expect(api.statusCode).toBe(200);
    expect(api.headers['content-security-policy']).toMatch(/^default-src 'none'/);
    expect(api.headers['cache-control']).toBe('no-store');
  });

  it('does not serve dotfiles', async () => {
    expectJsonNotFound(await t.app.inject({ method: 'GET', url: '/.env' }));
  });

  it('never lets files of the build shadow the service', async () => {
    expectJsonNotFound(await t.app.inject({ method: 'GET', url: '/api/leak.json' }));
    const health = await t.app.inject({ method: 'GET', url: '/health' });
    expect(health.json()).toMatchObject({ status: 'healthy' });
    const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.body).not.toContain('not the docs');
  });

  const traversals = [
    '/..%2f..%2fetc/passwd',
    '/..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd',
    '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/..%5c..%5c..%5cetc%5cpasswd',
    '/%252e%252e%252f%252e%252e%252fetc%252fpasswd',
    '/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd',
    '/%2fetc%2fpasswd',
    '/..%2fsecret.txt',
    '/../secret.txt',
    '/assets/..%2f..%2fsecret.txt',
    '/assets/%2e%2e/%2e%2e/secret.txt',
    '/assets/../../secret.txt',
    '/assets/..%252f..%252fsecret.txt',
    '/....//....//secret.txt',
    '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
  ];

  it.each(traversals)('never serves anything outside STATIC_DIR for %s', async (url) => {
    for (const headers of [{}, HTML, { 'accept-encoding': 'gzip' }]) {
      const res = await t.app.inject({ method: 'GET', url, headers });
      expect(res.body).not.toContain(OUTSIDE_SECRET);
      expect(res.body).not.toMatch(/root:.*:0:0:/);
      if (res.statusCode === 200) {
        // Only ever the page itself, for a navigation.
        expect(res.body, url).toBe(CLIENT_INDEX);
      } else {
        expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
        expect(res.statusCode, url).toBeLessThan(500);
        expect(res.json(), url).toEqual({ detail: expect.any(String) });
      }
    }
  });

  it('never serves anything outside STATIC_DIR to raw HTTP requests, which no client normalises', async () => {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(address);
    for (const path of [...traversals, '/assets/../../../../../../etc/passwd', '/assets/..\\..\\secret.txt']) {
      const answer = await rawGet(Number(port), path);
      expect(answer, path).toMatch(/^HTTP\/1\.1 (200|4\d\d) /);
      expect(answer).not.toContain(OUTSIDE_SECRET);
      expect(answer).not.toMatch(/root:.*:0:0:/);
    }
  });
});

/** The whole answer to a GET whose request line carries `path` byte for byte. */
function rawGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\nConnection: close\r\n\r\n`);
    });
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('STATIC_DIR with rate limits on', () => {
  let build: ClientBuild;
  let t: TestApp;
  beforeAll(async () => {
    build = createClientBuild();
    t = await buildTestApp({ staticDir: build.dir, rateLimitEnabled: true, rateLimitPerMinute: 1 });
  });
  afterAll(async () => {
    await t?.close();
    build?.cleanup();
  });

  it('never limits the client\'s files and pages, while unknown paths still count', async () => {
    for (let i = 0; i < 3; i += 1) {
      expect((await t.app.inject({ method: 'GET', url: `/board/${i}`, headers: HTML })).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'GET', url: ASSET })).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'GET', url: '/' })).statusCode).toBe(200);
    }
    await t.app.inject({ method: 'GET', url: '/api/nope' });
    expect((await t.app.inject({ method: 'GET', url: '/api/nope' })).statusCode).toBe(429);
  });
});

describe('STATIC_DIR in the configuration', () => {
  let parent: string;
  beforeAll(() => {
    parent = mkdtempSync(join(tmpdir(), 'ctms-static-config-'));
    mkdirSync(join(parent, 'dist'));
    writeFileSync(join(parent, 'dist', 'index.html'), '<!doctype html>');
    mkdirSync(join(parent, 'empty'));
    writeFileSync(join(parent, 'file.html'), '<!doctype html>');
    mkdirSync(join(parent, 'index-is-a-dir', 'index.html'), { recursive: true });
  });
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it('is unset by default', () => {
    expect(loadConfig({}, { dataDir: null }).staticDir).toBeNull();
  });

  it('keeps an existing directory holding index.html as an absolute path', () => {
    expect(loadConfig({ STATIC_DIR: join(parent, 'dist') }, { dataDir: null }).staticDir).toBe(join(parent, 'dist'));
    const relativeDir = relative(process.cwd(), join(parent, 'dist'));
    expect(loadConfig({ STATIC_DIR: relativeDir }, { dataDir: null }).staticDir).toBe(join(parent, 'dist'));
  });

  it.each([
    ['a missing directory', 'missing', /STATIC_DIR must be a directory .*not a directory: ".*missing"/],
    ['a file', 'file.html', /STATIC_DIR must be a directory .*file\.html"/],
    ['a directory without index.html', 'empty', /STATIC_DIR must hold the client's index\.html \(none in ".*empty"\)/],
    ['a directory whose index.html is a directory', 'index-is-a-dir', /STATIC_DIR must hold the client's index\.html/],
  ])('refuses %s, naming the path', (_what, name, message) => {
    expect(problemsOf({ STATIC_DIR: join(parent, name) })).toEqual([expect.stringMatching(message)]);
  });

  it('is listed with every other problem at once', () => {
    const problems = problemsOf({ STATIC_DIR: join(parent, 'missing'), PORT: 'eighty' });
    expect(problems).toHaveLength(2);
    expect(problems.some((p) => p.startsWith('STATIC_DIR'))).toBe(true);
    expect(problems.some((p) => p.startsWith('PORT'))).toBe(true);
  });
});
