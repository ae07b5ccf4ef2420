// An injectable source of "now", so time rules (working hours, expiries) can be tested at any instant.
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export function fixedClock(instant: Date | string): Clock & { set(instant: Date | string): void } {
  let current = new Date(instant);
  return {
    now: () => new Date(current),
    set(next) {
      current = new Date(next);
    },
  };
}

let lastMillisecond = Number.NaN;
let lastIso = '';

/**
 * `instant.toISOString()`, remembered for the last millisecond formatted: at thousands of requests a
 * second most of them stamp the same millisecond as the one before (every audit row, every
 * analytics answer), and formatting a Date costs several times as much as making one.
 */
export function isoString(instant: Date): string {
  const millisecond = instant.getTime();
  if (millisecond !== lastMillisecond) {
    // An invalid Date throws here, as toISOString does; NaN is never remembered.
    lastIso = instant.toISOString();
    lastMillisecond = millisecond;
  }
  return lastIso;
}
