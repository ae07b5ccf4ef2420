// Schema validation: bodies are strict (no type coercion: a number is never a string, "true" is never
// a boolean), while path and query parameters, which arrive as text, are coerced to their types.
import Ajv, { type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, FastifySchema } from 'fastify';

function makeAjv(coerceTypes: Options['coerceTypes']) {
  const ajv = new Ajv.default({
    coerceTypes,
    allErrors: true,
    removeAdditional: 'all',
    useDefaults: true,
    strict: false,
  });
  addFormats.default(ajv, ['date-time', 'date', 'email', 'uri']);
  return ajv;
}

export function installValidators(app: FastifyInstance, sharedSchemas: FastifySchema[] = []): void {
  const strict = makeAjv(false);
  const coercing = makeAjv('array');
  for (const schema of sharedSchemas) {
    strict.addSchema(schema as object);
    coercing.addSchema(schema as object);
  }
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? strict.compile(schema as object) : coercing.compile(schema as object),
  );
}
