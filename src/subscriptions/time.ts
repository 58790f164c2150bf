/**
 * Time as the subscription engine reads it: integer seconds since the Unix epoch, UTC. Second
 * precision is the precision of every period boundary and every proration (as Stripe's), and
 * integers keep the arithmetic exact. Callers convert at the edge (a `Date` from the clock or a
 * test clock, a `timestamptz` from Postgres) with {@link toUnixSeconds} / {@link fromUnixSeconds}.
 */

/** Whole seconds since 1970-01-01T00:00:00Z. */
export type UnixSeconds = number;

export const SECONDS_PER_HOUR = 3_600;
export const SECONDS_PER_DAY = 86_400;

/** The range the engine accepts: 1970-01-01T00:00:00Z … 9999-12-31T23:59:59Z. */
export const MIN_TIME: UnixSeconds = 0;
export const MAX_TIME: UnixSeconds = 253_402_300_799;

/** True for an integer second within {@link MIN_TIME} … {@link MAX_TIME}. */
export function isUnixSeconds(t: number): t is UnixSeconds {
  return Number.isInteger(t) && t >= MIN_TIME && t <= MAX_TIME;
}

/**
 * Throws a `RangeError` naming `what` unless `t` is a {@link UnixSeconds} in range. Engine
 * functions call it on their inputs: a fractional or out-of-range time is a caller's bug, not a
 * domain outcome.
 */
export function assertUnixSeconds(t: number, what: string): asserts t is UnixSeconds {
  if (!isUnixSeconds(t)) {
    throw new RangeError(`${what} must be whole seconds between ${MIN_TIME} and ${MAX_TIME}: ${t}`);
  }
}

/** The second a `Date` falls in (milliseconds are dropped, never rounded up). */
export function toUnixSeconds(date: Date): UnixSeconds {
  const t = Math.floor(date.getTime() / 1000);
  assertUnixSeconds(t, 'date');
  return t;
}

export function fromUnixSeconds(t: UnixSeconds): Date {
  return new Date(t * 1000);
}

/** `2024-02-29T00:00:00Z`: ISO 8601 in UTC without milliseconds (the engine has none). */
export function isoOf(t: UnixSeconds): string {
  return `${fromUnixSeconds(t).toISOString().slice(0, 19)}Z`;
}
