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
