// Every input the API accepts is bounded by its schema: strings by maxLength (or an enum), arrays by
// maxItems — in bodies, query strings and paths, read from the OpenAPI document so new routes are
// covered as they land (OWASP API4: unrestricted resource consumption).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  maxLength?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

/** Paths (like "body.title") of unbounded strings and arrays inside a schema. */
function unbounded(schema: JsonSchema | undefined, at: string): string[] {
  if (!schema) return [];
  const found: string[] = [];
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.includes('string') && schema.maxLength === undefined && schema.enum === undefined) found.push(`${at} (string)`);
  if (types.includes('array') && schema.maxItems === undefined) found.push(`${at} (array)`);
  for (const [key, sub] of Object.entries(schema.properties ?? {})) found.push(...unbounded(sub, `${at}.${key}`));
  if (schema.items) found.push(...unbounded(schema.items, `${at}[]`));
  for (const sub of [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])]) found.push(...unbounded(sub, at));
  return found;
}

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('input limits', () => {
  it('bound every string and array a request may carry', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> }; parameters?: Array<{ in: string; name: string; schema?: JsonSchema }> }>>;
    };
    const problems: string[] = [];
    let inputs = 0;
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        for (const [type, content] of Object.entries(op.requestBody?.content ?? {})) {
          inputs += 1;
          problems.push(...unbounded(content.schema, `${method.toUpperCase()} ${path} ${type} body`));
        }
        for (const parameter of op.parameters ?? []) {
          inputs += 1;
          problems.push(...unbounded(parameter.schema, `${method.toUpperCase()} ${path} ${parameter.in} ${parameter.name}`));
        }
      }
    }
    expect(inputs).toBeGreaterThan(30);
    expect(problems).toEqual([]);
  });
});
