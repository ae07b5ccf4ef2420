// Requests that fail before any route runs — an over-long path parameter, a malformed URL encoding,
// bytes the HTTP parser cannot read (a body that does not match its Content-Length) — answer like
// every other response (§1): a string `detail` and nothing internal, X-Request-Id, X-Process-Time
// and the same security headers.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { parseRawResponse, rawExchange } from '../helpers/traffic.js';

let t: TestApp;
let securityHeaders: Record<string, string>;

const SECURITY_HEADER_NAMES = [
  'x-content-type-options',
  'x-frame-options',
  'referrer-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'x-dns-prefetch-control',
  'x-permitted-cross-domain-policies',
];

beforeAll(async () => {
  t = await buildTestApp();
  const normal = await t.app.inject({ method: 'GET', url: '/api/does-not-exist' });
  securityHeaders = Object.fromEntries(
    Object.entries(normal.headers).filter(([name]) => SECURITY_HEADER_NAMES.includes(name) || name.startsWith('origin-agent')),
  ) as Record<string, string>;
  expect(Object.keys(securityHeaders).length).toBeGreaterThanOrEqual(SECURITY_HEADER_NAMES.length);
});

afterAll(async () => {
  await t.close();
});

function expectFollowsTheRules(status: number, headers: Record<string, unknown>, body: string, echoed: string) {
  const json = JSON.parse(body) as Record<string, unknown>;
  expect(Object.keys(json)).toEqual(['detail']);
  expect(typeof json.detail).toBe('string');
  expect(body).not.toMatch(/FST_|statusCode|"error"/);
  expect(body).not.toContain(echoed);
  expect(String(headers['content-type'])).toMatch(/^application\/json/);
  expect(headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(String(headers['x-process-time'])).toMatch(/^\d+\.\d{6}$/);
  expect(headers).toMatchObject(securityHeaders);
  expect(status).toBeGreaterThanOrEqual(400);
}

describe('requests that never reach a route', () => {
  it('answers an over-long path parameter with 414 and a string detail, without echoing the path', async () => {
    const longId = '9'.repeat(300);
    const res = await t.app.inject({ method: 'GET', url: `/api/tasks/${longId}` });
    expect(res.statusCode).toBe(414);
    expectFollowsTheRules(res.statusCode, res.headers, res.body, longId);
  });

  it.each(['/api/tasks/%zz', '/api/tasks/%E0%A4%A', '/api/nowhere/%zz'])('answers the malformed URL encoding %s with 400', async (url) => {
    const res = await t.app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Malformed URL' });
    expectFollowsTheRules(res.statusCode, res.headers, res.body, '%');
  });

  it('keeps a well-formed X-Request-Id given by the caller', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/tasks/%zz', headers: { 'x-request-id': 'trace-414-abc' } });
    expect(res.headers['x-request-id']).toBe('trace-414-abc');
  });
});

describe('bytes the HTTP parser cannot read (a raw socket against a listening server)', () => {
  let port: number;
  beforeAll(async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });

  const login = '{"username":"someone","password":"secret-password"}';
  it.each([
    ['a body longer than its Content-Length', `Content-Length: 5\r\n\r\n${login}`, false],
    ['a body shorter than its Content-Length', `Content-Length: 500\r\n\r\n${login}`, true],
    ['a Content-Length that is not a number', `Content-Length: abc\r\n\r\n${login}`, false],
    ['Content-Length together with Transfer-Encoding', 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', false],
  ])('answers %s with 400 and the usual headers', async (_label, rest, endWrite) => {
    const response = await rawExchange(port, `POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${rest}`, endWrite);
    const { status, headers, body } = parseRawResponse(response.slice(response.lastIndexOf('HTTP/1.1 ')));
    expect(status).toBe(400);
    expect(JSON.parse(body)).toEqual({ detail: 'Malformed HTTP request' });
    expect(Number(headers['content-length'])).toBe(Buffer.byteLength(body));
    expectFollowsTheRules(status, headers, body, 'login');
  });

  it('answers an Expect header other than 100-continue with 417 and the usual headers (Node alone sends a bare 417)', async () => {
    const response = await rawExchange(port, `PATCH /api/tasks/1 HTTP/1.1\r\nHost: localhost\r\nExpect: 42-whatever\r\nContent-Length: 2\r\n\r\n{}`, false);
    const { status, headers, body } = parseRawResponse(response);
    expect(status).toBe(417);
    expect(JSON.parse(body)).toEqual({ detail: 'Expectation failed: only "Expect: 100-continue" is supported' });
    expectFollowsTheRules(status, headers, body, '42-whatever');
  });

  it('answers oversized headers with 431', async () => {
    const response = await rawExchange(port, `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, false);
    const { status, headers, body } = parseRawResponse(response);
    expect(status).toBe(431);
    expectFollowsTheRules(status, headers, body, 'aaaa');
  });
});
