/**
 * Billing cycles: where each period of a subscription starts and ends.
 *
 * A cycle is a cadence (`interval` × `intervalCount`) and an anchor, the instant the first
 * period starts. Boundary n is the anchor plus n cadences, always computed from the anchor and
 * never from the previous boundary, as Stripe's billing_cycle_anchor: a monthly cycle anchored on
 * Jan 31 ends its periods on Feb 28 (29 in a leap year), Mar 31, Apr 30, May 31…, coming back to
 * the 31st whenever the month has one. A month step keeps the anchor's day of month, clamped to
 * the target month's last day, and its time of day; a year is 12 months, so an anchor of Feb 29
 * gives Feb 28 in common years and Feb 29 again in leap years. Days and weeks are fixed lengths
 * of seconds (UTC has no daylight saving).
 *
 * A cadence is at most one year, as Stripe's: 1–365 days, 1–52 weeks, 1–12 months, 1 year.
 */
import type { BillingInterval } from '../db/schema/enums';
import { assertUnixSeconds, MAX_TIME, SECONDS_PER_DAY, type UnixSeconds } from './time';

export type { BillingInterval };

export const BILLING_INTERVALS = [
  'day',
  'week',
  'month',
  'year',
] as const satisfies readonly BillingInterval[];

/** The largest `intervalCount` per interval: one period is at most a year. */
export const MAX_INTERVAL_COUNT: Readonly<Record<BillingInterval, number>> = {
  day: 365,
  week: 52,
  month: 12,
  year: 1,
};

/** How often a price bills: every `intervalCount` `interval`s. */
export interface Cadence {
  interval: BillingInterval;
  intervalCount: number;
}

/** A cadence and the instant its first period starts. */
export interface BillingCycle extends Cadence {
  anchor: UnixSeconds;
}

/** One billing period, `[start, end)` in seconds; `index` 0 is the period starting at the anchor. */
export interface Period {
  index: number;
  start: UnixSeconds;
  end: UnixSeconds;
}

/** True when `intervalCount` is a whole number within the interval's bound. */
export function isValidCadence(cadence: Cadence): boolean {
  const max = MAX_INTERVAL_COUNT[cadence.interval];
  return (
    max !== undefined &&
    Number.isInteger(cadence.intervalCount) &&
    cadence.intervalCount >= 1 &&
    cadence.intervalCount <= max
  );
}

/** Throws a `RangeError` for a cadence out of bounds (see {@link MAX_INTERVAL_COUNT}). */
export function assertCadence(cadence: Cadence): void {
  if (!isValidCadence(cadence)) {
    const max = MAX_INTERVAL_COUNT[cadence.interval];
    throw new RangeError(
      max === undefined
        ? `unknown billing interval ${String(cadence.interval)}`
        : `intervalCount of a ${cadence.interval} cadence must be 1–${max}: ${cadence.intervalCount}`,
    );
  }
}

export function sameCadence(a: Cadence, b: Cadence): boolean {
  return a.interval === b.interval && a.intervalCount === b.intervalCount;
}

/** Seconds in a Gregorian year on average (365.2425 days); a month is a twelfth of it. */
const NOMINAL_YEAR = 31_556_952;
const NOMINAL_SECONDS: Readonly<Record<BillingInterval, number>> = {
  day: SECONDS_PER_DAY,
  week: 7 * SECONDS_PER_DAY,
  month: NOMINAL_YEAR / 12, // 2,629,746: an integer
  year: NOMINAL_YEAR,
};

/**
 * A cadence's nominal length in whole seconds: days and weeks exactly, months and years by the
 * Gregorian average (a month is 2,629,746 s). Used to compare prices of different cadences by
 * their price per second, where a calendar length would make the comparison depend on the date
 * (a 30-day price would be cheaper than a monthly one in February and dearer in March).
 */
export function nominalSeconds(cadence: Cadence): number {
  assertCadence(cadence);
  return NOMINAL_SECONDS[cadence.interval] * cadence.intervalCount;
}

function daysInMonth(year: number, month0: number): number {
  return new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();
}

/** The anchor plus `months` calendar months, day clamped to the month's end, time kept. */
function addMonths(anchor: UnixSeconds, months: number): number {
  const d = new Date(anchor * 1000);
  const secondOfDay = anchor - Math.floor(anchor / SECONDS_PER_DAY) * SECONDS_PER_DAY;
  const total = d.getUTCFullYear() * 12 + d.getUTCMonth() + months;
  const year = Math.floor(total / 12);
  const month0 = total - year * 12;
  const day = Math.min(d.getUTCDate(), daysInMonth(year, month0));
  // Date.UTC maps years 0–99 to 1900–1999, but the engine's range starts in 1970.
  return Date.UTC(year, month0, day) / 1000 + secondOfDay;
}

/**
 * Boundary `n` of a cycle: the anchor plus `n` cadences (boundary 0 is the anchor). Period `k`
 * is `[periodBoundary(k), periodBoundary(k + 1))`. Throws a `RangeError` for a bad cycle, a
 * negative or fractional `n`, or a boundary after 9999-12-31.
 */
export function periodBoundary(cycle: BillingCycle, n: number): UnixSeconds {
  assertCadence(cycle);
  assertUnixSeconds(cycle.anchor, 'anchor');
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`period number must be a whole number ≥ 0: ${n}`);
  }
  let t: number;
  switch (cycle.interval) {
    case 'day':
    case 'week':
      t = cycle.anchor + n * NOMINAL_SECONDS[cycle.interval] * cycle.intervalCount;
      break;
    case 'month':
      t = addMonths(cycle.anchor, n * cycle.intervalCount);
      break;
    case 'year':
      t = addMonths(cycle.anchor, n * 12 * cycle.intervalCount);
      break;
  }
  if (!(t <= MAX_TIME)) throw new RangeError(`period ${n} ends after 9999-12-31`);
  return t;
}

/** Period `index` of a cycle (0 starts at the anchor). */
export function period(cycle: BillingCycle, index: number): Period {
  return { index, start: periodBoundary(cycle, index), end: periodBoundary(cycle, index + 1) };
}

/** The first period: from the anchor to one cadence later. */
export function firstPeriod(cycle: BillingCycle): Period {
  return period(cycle, 0);
}

/** The period after `current`: it starts where `current` ends. */
export function nextPeriod(cycle: BillingCycle, current: Period): Period {
  return period(cycle, current.index + 1);
}

/**
 * The period containing `t` (`start ≤ t < end`). Throws a `RangeError` when `t` is before the
 * anchor: a cycle has no periods before it starts.
 */
export function periodAt(cycle: BillingCycle, t: UnixSeconds): Period {
  assertCadence(cycle);
  assertUnixSeconds(cycle.anchor, 'anchor');
  assertUnixSeconds(t, 'time');
  if (t < cycle.anchor) throw new RangeError('time is before the cycle’s anchor');
  let k: number;
  if (cycle.interval === 'day' || cycle.interval === 'week') {
    k = Math.floor((t - cycle.anchor) / nominalSeconds(cycle));
  } else {
    // An estimate from the calendar months between the two, then corrected by at most a step.
    const a = new Date(cycle.anchor * 1000);
    const b = new Date(t * 1000);
    const months =
      (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + (b.getUTCMonth() - a.getUTCMonth());
    const perPeriod = cycle.intervalCount * (cycle.interval === 'year' ? 12 : 1);
    k = Math.max(0, Math.floor(months / perPeriod));
  }
  while (k > 0 && periodBoundary(cycle, k) > t) k--;
  while (periodBoundary(cycle, k + 1) <= t) k++;
  return period(cycle, k);
}
