// Ids arriving as JSON numbers or numeric strings, turned into numbers within the id range.
import { invalid } from '../errors.js';
import { MAX_ID, type IdInput } from '../schemas/common.js';

export function parseId(value: IdInput, loc: (string | number)[]): number {
  const id = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(id) || id < 1 || id > MAX_ID) throw invalid(loc, `must be a positive integer id no larger than ${MAX_ID}`);
  return id;
}

export const parseIds = (values: readonly IdInput[], loc: (string | number)[]): number[] =>
  values.map((value, i) => parseId(value, [...loc, i]));
