// Property-based fuzzing (fast-check) of everything around a request's body: query strings (unknown
// and repeated parameters, huge values, wrong types, broken percent-encoding), path ids (huge,
// negative, non-ASCII, percent-encoded), headers (duplicated Authorization, Content-Type and Cookie,
// malformed and huge values) through app.inject, and raw header blocks over a real socket (what
// inject cannot send: duplicated Content-Length, control bytes, folded lines). Whatever arrives:
// never a 5xx, a string `detail` on every 4xx, a refused request leaves the database as it was,
// and the server keeps serving.
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkAnswer, databaseState, fuzzCaller, HOSTILE_STRINGS, hostileNumber, hostileString, useFuzzTargets, type Operation } from '../helpers/fuzz.js';
import { parseRawResponse, rawExchange } from '../helpers/traffic.js';

const fuzz = useFuzzTargets();
const { sessionFor, expectSafe } = fuzz;

/** Percent-encodes every byte of the string's UTF-8 (a lone surrogate becomes U+FFFD's bytes). */
const encodeBytes = (text: string) => [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
/** Bytes that are not UTF-8 at all, percent-encoded. */
const rawBytes = fc.uint8Array({ minLength: 1, maxLength: 12 }).map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));
const BROKEN_ENCODINGS = ['%', '%z', '%zz', '%0', '%00', '%C0%AE', '%C0%80', '%E2%80%AE', '%ED%A0%80', '%FF%FE', '%F0%9F%92%A9', '%u0041', '+', '%2B', '%26', '%3D', '%25%32%35', '%%', '\u00e9', '\u0661'];
const WRONG_TYPES = ['true', 'false', 'null', 'undefined', '[]', '{}', '-1', '-0', '0', '1e400', '1.5', '0x10', 'NaN', 'Infinity', '9'.repeat(40), ''];

const queryValue = fc.oneof(
  hostileString.map(encodeBytes),
  hostileNumber.map((n) => encodeBytes(String(n))),
  rawBytes,
  fc.constantFrom(...BROKEN_ENCODINGS, ...WRONG_TYPES),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => 'x'.repeat(n)),
);
const queryKey = (known: string[]) =>
  fc.oneof(
    fc.constantFrom(...known, 'limit', 'offset', 'status', 'unread', 'token', 'unknown', '__proto__', 'constructor[prototype][x]', 'a[b][c]', 'limit[]', 'status[0]'),
    hostileString.map(encodeBytes),
    fc.constantFrom(...BROKEN_ENCODINGS),
  );
/** A raw query string: pairs (keys repeat freely), bare keys, empty pairs, odd separators. */
const queryString = (known: string[]) =>
  fc
    .array(
      fc.oneof(
        fc.tuple(queryKey(known), queryValue).map(([k, v]) => `${k}=${v}`),
        queryKey(known),
        fc.constantFrom('=', '==', '=x', '&', ''),
      ),
      { minLength: 1, maxLength: 8 },
    )
    .chain((pairs) => fc.constantFrom('&', ';', '&&').map((sep) => pairs.join(sep)));

const PATH_IDS = [
  '0', '-1', '-0', '+1', '%201', '1%20', '01', '1.0', '1e3', '0x10', '0b1', '1_0', '9'.repeat(30), '2147483648', '2147483647',
  '9007199254740993', '18446744073709551616', 'NaN', 'Infinity', 'null', 'undefined', 'true', '%5B%5D', '%7B%7D', '%31', '%2F',
  '%2e%2e', '..', '%00', '%zz', '%', '\u00e9', '%C3%A9', '\u0661', '\uff11', '%EF%BC%91', '1;2', '1,2', '*', '~1', 'x'.repeat(201),
];
const pathId = fc.oneof(
  fc.constantFrom(...PATH_IDS),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.integer({ min: 1, max: 4 }).map(String),
  hostileString.map(encodeBytes),
  rawBytes,
);

const bodyFor = (op: Operation) => (op.bodyKeys ? { payload: '{}', headers: { 'content-type': 'application/json' } } : { headers: {} });

describe('hostile input beyond bodies', () => {
  it('reads enough operations from the OpenAPI document, parameterised ones among them', () => {
    expect(fuzz.operations.length).toBeGreaterThan(25);
    expect(fuzz.operations.filter((op) => op.hasParams).length).toBeGreaterThan(8);
  });

  it('answers any query string on any operation without a 5xx', async () => {
    const input = fc.constantFrom(...fuzz.operations).chain((op) => fc.record({ op: fc.constant(op), who: fuzzCaller, query: queryString(op.queryKeys) }));
    await fc.assert(
      fc.asyncProperty(input, async ({ op, who, query }) => {
        const session = await sessionFor(who);
        const base = bodyFor(op);
        const url = `${op.path.replace(/\{[^}]+\}/g, '1')}?${query}`;
        await expectSafe({ method: op.method as 'GET', url, ...base, headers: { ...base.headers, ...session?.headers } }, `${op.method} ${url.slice(0, 300)} as ${who}`);
      }),
      { numRuns: 150, endOnFailure: true },
    );
  }, 180_000);

  it('answers any path id on any operation without a 5xx', async () => {
    const input = fc.constantFrom(...fuzz.operations.filter((op) => op.hasParams)).chain((op) => fc.record({ op: fc.constant(op), who: fuzzCaller, id: pathId }));
    await fc.assert(
      fc.asyncProperty(input, async ({ op, who, id }) => {
        const session = await sessionFor(who);
        const base = bodyFor(op);
        const url = op.path.replace(/\{[^}]+\}/g, id);
        await expectSafe({ method: op.method as 'GET', url, ...base, headers: { ...base.headers, ...session?.headers } }, `${op.method} ${url.slice(0, 300)} as ${who}`);
      }),
      { numRuns: 150, endOnFailure: true },
    );
  }, 180_000);

  it('answers duplicated, malformed and huge headers and cookies without a 5xx', async () => {
    const input = fc.record({
      op: fc.constantFrom(...fuzz.operations),
      who: fuzzCaller,
      authorization: fc.option(fc.constantFrom('twice', 'doubled', 'extra space', 'bare', 'basic', 'lowercase', 'trailing', 'huge', 'hostile'), { nil: undefined }),
      contentType: fc.option(
        fc.oneof(
          fc.constantFrom(
            'application/json; charset=utf-16', 'application/json; charset=latin1', 'APPLICATION/JSON', 'application/jsonx', 'application/json;;;',
            'text/plain', 'multipart/form-data; boundary=x', '', '*/*', 'application/x-www-form-urlencoded', 'application/json, text/plain', 'x'.repeat(9000),
          ),
          fc.constant(['application/json', 'text/plain']).map((v) => [...v]),
        ),
        { nil: undefined },
      ),
      cookie: fc.option(
        fc.oneof(
          fc.constantFrom(
            'refresh_token=%zz', 'refresh_token="', 'refresh_token=""', `refresh_token=${'a'.repeat(5000)}`, 'refresh_token=1; refresh_token=2',
            ';;;==;', '=', 'device_id=not-a-uuid', 'device_id=%00', 'refresh_token=a.b.c; device_id=00000000-0000-0000-0000-000000000000',
            '__proto__=x; constructor=y',
          ),
          fc.constant(['refresh_token=a', 'refresh_token=b']).map((v) => [...v]),
          hostileString.map((s) => `refresh_token=${encodeBytes(s)}`),
        ),
        { nil: undefined },
      ),
      extra: fc.dictionary(
        fc.constantFrom('accept', 'accept-encoding', 'x-request-id', 'x-forwarded-for', 'origin', 'if-none-match', 'range', 'content-length', 'accept-language', 'x-custom'),
        fc.oneof(
          fc.constantFrom('gzip;q=NaN', 'br;q=2, *;q=-1', 'identity;q=0', 'null', '1e400', '-1', 'abc', '99999999999', 'bytes=0-0,1-1', '"', 'application/xml', '*/*;q=abc'),
          fc.integer({ min: 1000, max: 12_000 }).map((n) => 'h'.repeat(n)),
          fc.string({ unit: 'grapheme-ascii', maxLength: 60 }),
        ),
        { maxKeys: 3 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(input, async ({ op, who, authorization, contentType, cookie, extra }) => {
        const session = await sessionFor(who);
        const token = session?.accessToken ?? 'not-a-token';
        const authorizations: Record<string, string | string[]> = {
          twice: [`Bearer ${token}`, `Bearer ${token}`],
          doubled: `Bearer ${token} ${token}`,
          'extra space': `Bearer  ${token}`,
          bare: 'Bearer',
          basic: 'Basic dXNlcjpwYXNzd29yZA==',
          lowercase: `bearer ${token}`,
          trailing: `Bearer ${token}.x`,
          huge: `Bearer ${'a'.repeat(9000)}`,
          hostile: `Bearer ${encodeBytes(HOSTILE_STRINGS.join(''))}`,
        };
        const headers: Record<string, string | string[]> = {
          ...(op.bodyKeys ? { 'content-type': 'application/json' } : {}),
          ...session?.headers,
          ...extra,
          ...(authorization ? { authorization: authorizations[authorization]! } : {}),
          ...(contentType !== undefined ? { 'content-type': contentType } : {}),
          ...(cookie !== undefined ? { cookie } : {}),
        };
        const url = op.path.replace(/\{[^}]+\}/g, '1');
        await expectSafe(
          { method: op.method as 'GET', url, headers, ...(op.bodyKeys ? { payload: '{}' } : {}) },
          `${op.method} ${url} as ${who} with ${JSON.stringify(headers).slice(0, 400)}`,
        );
      }),
      { numRuns: 120, endOnFailure: true },
    );
  }, 180_000);
});

describe('raw header blocks over a real socket', () => {
  let port: number;
  beforeAll(async () => {
    await fuzz.t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (fuzz.t.app.server.address() as AddressInfo).port;
  });

  const body = '{"username":"nobody","password":"not-the-password"}';
  const headerLine = fc.oneof(
    fc.constantFrom(
      'Content-Length: 5', 'Content-Length: -1', 'Content-Length: 1e3', `Content-Length: ${body.length}`, `Content-Length: ${body.length}, ${body.length}`,
      'Content-Type: application/json', 'Content-Type: text/plain', 'Content-Type:', 'Authorization: Bearer a.b.c', 'Authorization: Bearer',
      'Authorization: Basic Og==', 'Cookie: refresh_token=%zz', 'Cookie: refresh_token=a', 'Cookie: ;;;', 'Host: other.example',
      'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: identity', 'Connection: keep-alive, Upgrade',
      'Upgrade: websocket', 'Expect: 100-continue', 'Expect: 42-whatever', ' folded: continuation', 'NoColonHere', 'Bad Name: x', 'X-Null: a\u0000b',
      'X-Bell: \u0007', 'X-Utf8: \u00e9\u00e9', 'X-Long: ' + 'l'.repeat(12_000), ': empty-name',
    ),
    fc.tuple(fc.constantFrom('Authorization', 'Content-Type', 'Cookie', 'Content-Length', 'X-Request-Id'), fc.string({ unit: 'binary-ascii', maxLength: 30 })).map(
      ([name, value]) => `${name}: ${value.replace(/[\r\n]/g, '')}`,
    ),
  );
  const rawRequest = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'),
    path: fc.constantFrom('/api/auth/login', '/api/tasks', '/api/tasks/1', '/api/auth/refresh', '/health', '/api/notifications/1/mark_read'),
    lines: fc.array(headerLine, { maxLength: 6 }),
    withBody: fc.boolean(),
  });

  it('answers any header block with a 4xx carrying a string detail, or a success, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(rawRequest, async ({ method, path, lines, withBody }) => {
        const before = await databaseState(fuzz.t.db);
        const head = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...lines, 'Connection: close'].join('\r\n');
        const response = await rawExchange(port, Buffer.from(`${head}\r\n\r\n${withBody ? body : ''}`, 'latin1'), true);
        const label = `${JSON.stringify(head).slice(0, 500)} → ${response.slice(0, 300)}`;
        // The server may close without a word only when the connection is upgraded or cut by the client's end.
        if (response === '') return;
        const { status, body: answer } = parseRawResponse(response.slice(0, response.indexOf('HTTP/1.1 ', 1) > 0 ? response.indexOf('HTTP/1.1 ', 1) : undefined));
        expect(status, label).toBeGreaterThanOrEqual(100);
        if (status === 100) return;
        expect(checkAnswer({ statusCode: status, body: answer }, label)).toBeNull();
        if (status >= 400) expect(await databaseState(fuzz.t.db), label).toBe(before);
      }),
      { numRuns: 100, endOnFailure: true },
    );
    const health = await rawExchange(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', false);
    expect(parseRawResponse(health).status).toBe(200);
  }, 120_000);
});
