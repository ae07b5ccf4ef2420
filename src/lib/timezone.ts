// IANA time-zone helpers. A user's zone is stored in its official IANA spelling, since other
// consumers (Python's zoneinfo, browsers, the original service) read only that: a name is accepted
// when the tz database knows it (a zone or an alias: Intl.supportedValuesOf omits the aliases and
// names some zones by older spellings) and this runtime can compute with it; ICU's own extras
// (SystemV/AST4 …) and names in other letter cases than the official one are not kept as typed.
import { IANA_TIME_ZONES } from './time-zones.js';

const cache = new Map<string, boolean>();

export function isValidTimeZone(name: string): boolean {
  if (typeof name !== 'string' || name.length === 0 || name.length > 64) return false;
  const known = cache.get(name);
  if (known !== undefined) return known;
  let valid: boolean;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    valid = true;
  } catch {
    valid = false;
  }
  if (cache.size < 10_000) cache.set(name, valid);
  return valid;
}

let officialSpelling: Map<string, string> | undefined;

/**
 * The zone name to store: the official IANA spelling of a zone or alias typed in any letter case
 * ("asia/kolkata" → "Asia/Kolkata", "us/eastern" → "US/Eastern"); undefined for anything else.
 */
export function normalizeTimeZone(name: string): string | undefined {
  if (typeof name !== 'string') return undefined;
  officialSpelling ??= new Map([...IANA_TIME_ZONES, ...Intl.supportedValuesOf('timeZone')].map((zone) => [zone.toLowerCase(), zone]));
  const official = officialSpelling.get(name.toLowerCase());
  return official !== undefined && isValidTimeZone(official) ? official : undefined;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Wall-clock hour, minute and second of `instant` in `timeZone`. */
export function localTime(instant: Date, timeZone: string): { hour: number; minute: number; second: number } {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  const parts = formatter.formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? '0');
  return { hour: get('hour'), minute: get('minute'), second: get('second') };
}
