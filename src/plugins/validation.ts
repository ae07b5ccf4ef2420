// Schema validation: bodies are strict (no type coercion: a number is never a string, "true" is never
// a boolean), while path and query parameters, which arrive as text, are coerced to their types —
// an integer parameter only from plain decimal digits.
import Ajv, { type ErrorObject, type Options, type ValidateFunction } from 'ajv';
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
    httpPart === 'body' ? strict.compile(schema as object) : digitsOnly(coercing.compile(schema as object), integerProperties(schema)),
  );
}

const DECIMAL_DIGITS = /^[0-9]+$/;
const NOT_DIGITS_MESSAGE = 'must be an integer written in decimal digits';

/** The properties of an object schema whose values are integers (ids, limit, offset …). */
function integerProperties(schema: unknown): string[] {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  return Object.entries(properties)
    .filter(([, property]) => property.type === 'integer')
    .map(([name]) => name);
}

const writtenInDigits = (value: unknown): boolean =>
  Array.isArray(value) ? value.every(writtenInDigits) : typeof value !== 'string' || DECIMAL_DIGITS.test(value);

type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/**
 * Ajv coerces any text JavaScript reads as a whole number ("0x1", "1e0", "1.0", " 1"), so that one
 * resource would answer to many spellings of its id. Path and query integers must be plain decimal
 * digits; anything else is a validation error (422) before Ajv sees it.
 */
function digitsOnly(validate: ValidateFunction, names: string[]): Validator {
  if (names.length === 0) return validate;
  const check: Validator = (data) => {
    const values = (data ?? {}) as Record<string, unknown>;
    const refused = names.filter((name) => !writtenInDigits(values[name]));
    if (refused.length > 0) {
      check.errors = refused.map((name) => ({
        instancePath: `/${name}`,
        schemaPath: `#/properties/${name}/type`,
        keyword: 'type',
        params: { type: 'integer' },
        message: NOT_DIGITS_MESSAGE,
      }));
      return false;
    }
    const valid = validate(data);
    check.errors = validate.errors;
    return valid;
  };
  return check;
}
