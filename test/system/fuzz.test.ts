// Property-based fuzzing (fast-check): random and hostile JSON — wrong types, huge numbers, deep
// nesting, duplicate keys, __proto__, NUL bytes, injection strings — thrown at every endpoint of
// the OpenAPI document, as each role and anonymously. Whatever arrives: never a 5xx, a string
// `detail` on every 4xx, and a refused request leaves the database exactly as it was.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzCaller, hostileNumber, hostileString, useFuzzTargets } from '../helpers/fuzz.js';

const fuzz = useFuzzTargets();

const leaf = fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null));
const hostileValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'prototype')), tie('value'), { maxKeys: 5 }),
})).value;

const nested = (depth: number, inner: string): string => (depth === 0 ? inner : `{"a":${nested(depth - 1, inner)}}`);

/** A JSON body text for a route with these body keys. */
const bodyText = (keys: string[]) =>
  fc.oneof(
    // The route's own fields with hostile values.
    fc.dictionary(keys.length > 0 ? fc.constantFrom(...keys) : hostileString, hostileValue, { maxKeys: 8 }).map((o) => JSON.stringify(o)),
    // Anything at all.
    hostileValue.map((v) => JSON.stringify(v) ?? 'null'),
    // Duplicate keys, the later one of another type.
    fc.tuple(fc.constantFrom(...(keys.length > 0 ? keys : ['x'])), leaf, leaf).map(([k, a, b]) => `{"${k}":${JSON.stringify(a)},"${k}":${JSON.stringify(b)}}`),
    // Prototype pollution attempts.
    fc.constantFrom('{"__proto__":{"role":"manager","is_active":true}}', '{"constructor":{"prototype":{"isAdmin":true}}}'),
    // Deep nesting and broken JSON.
    fc.integer({ min: 50, max: 2000 }).map((d) => nested(d, '1')),
    fc.constantFrom('{', '{"a":}', '[1,2', '\u0000', 'null', '"', '{"title":"\\u0000"}', '{"a":1}garbage'),
  );

const pathId = fc.oneof(fc.constantFrom('1', '2', '3', '999999', '0', '-1', '1.5', '0x1', '1e2', '%20', 'abc', '99999999999999'), fc.integer({ min: 1, max: 10 }).map(String));

const queryString = (keys: string[]) =>
  keys.length === 0
    ? fc.constant('')
    : fc
        .dictionary(fc.constantFrom(...keys), fc.oneof(hostileString, hostileNumber.map(String), fc.constantFrom('true', 'false', 'null', '')), { maxKeys: 4 })
        .map((q) => new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)])).toString());

describe('fuzzing every endpoint', () => {
  it('reads enough operations from the OpenAPI document', () => {
    expect(fuzz.operations.length).toBeGreaterThan(25);
  });

  it('never answers a 5xx, always a string detail on a 4xx, and changes nothing when it refuses', async () => {
    const request = fc
      .constantFrom(...fuzz.operations)
      .chain((op) => fc.record({ op: fc.constant(op), who: fuzzCaller, id: pathId, body: op.bodyKeys ? bodyText(op.bodyKeys) : fc.constant(undefined), query: queryString(op.queryKeys) }));

    await fc.assert(
      fc.asyncProperty(request, async ({ op, who, id, body, query }) => {
        const session = await fuzz.sessionFor(who);
        const url = `${op.path.replace(/\{[^}]+\}/g, id)}${query ? `?${query}` : ''}`;
        await fuzz.expectSafe(
          {
            method: op.method as 'GET',
            url,
            headers: { ...(session?.headers ?? {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
            ...(body !== undefined ? { payload: body } : {}),
          },
          `${op.method} ${url} as ${who} with ${body?.slice(0, 200)}`,
        );
      }),
      { numRuns: 400, endOnFailure: true },
    );
  }, 240_000);
});
