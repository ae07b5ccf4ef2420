// IANA time-zone helpers. Intl.supportedValuesOf omits aliases and many valid names, so a zone is
// valid when Intl.DateTimeFormat accepts it.
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

let canonicalCase: Map<string, string> | undefined;

/**
 * The zone name to store: the accepted spelling of a name typed in another case ("asia/tokyo" →
 * "Asia/Tokyo"), since other consumers (Python's zoneinfo, browsers) are case-sensitive; the name
 * as given otherwise; undefined when it is not a zone at all.
 */
export function normalizeTimeZone(name: string): string | undefined {
  if (!isValidTimeZone(name)) return undefined;
  canonicalCase ??= new Map(['UTC', ...Intl.supportedValuesOf('timeZone')].map((zone) => [zone.toLowerCase(), zone]));
  return canonicalCase.get(name.toLowerCase()) ?? name;
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
