/**
 * The arithmetic of the analytics answers, without I/O: conversion with its confidence
 * interval, monthly normalization of a price, the range and its buckets, and the running sums
 * a time series of a stock (MRR, active subscriptions) is made of.
 */
import type { BillingInterval } from '../db/schema/enums';

/** z for a two-sided 95 % interval. */
const Z95 = 1.959963984540054;

export interface Proportion {
  /** Successes / trials; null when there were no trials. */
  rate: number | null;
  /** Wilson score interval at 95 %: [low, high]; null when there were no trials. */
  ci95: [number, number] | null;
}

/**
 * Conversion `successes / trials` with its Wilson score interval (95 %). Wilson rather than the
 * normal approximation: it stays inside [0, 1] and is usable for small counts and rates near 0
 * or 1, which a fresh experiment has. Rounded to 6 decimals.
 */
export function proportion(successes: number, trials: number): Proportion {
  if (trials <= 0) return { rate: null, ci95: null };
  const p = successes / trials;
  const z2 = Z95 * Z95;
  const denom = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denom;
  const half = (Z95 * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denom;
  return {
    rate: round6(p),
    ci95: [round6(Math.max(0, centre - half)), round6(Math.min(1, centre + half))],
  };
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * How many months one billing period is, as the SQL of the MRR queries computes it: a yearly
 * price counts 1/12 a month, a weekly one 52/12, a daily one 365/12 — times the interval count.
 * The MRR of a price is `amount / monthsPerPeriod`, summed exactly and rounded once at the end.
 */
export function monthsPerPeriod(interval: BillingInterval, count: number): number {
  switch (interval) {
    case 'month':
      return count;
    case 'year':
      return 12 * count;
    case 'week':
      return (12 * count) / 52;
    case 'day':
      return (12 * count) / 365;
  }
}

/** Rounds half away from zero to an integer (minor units). */
export function roundMinor(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

export type Interval = 'day' | 'week' | 'month';

/** Most buckets one time series may have (a year of days and a bit). */
export const MAX_BUCKETS = 400;

/**
 * The start of the bucket `t` falls in, in UTC — as Postgres `date_trunc` does it: days at
 * midnight, weeks on Mondays, months on the 1st.
 */
export function bucketStart(t: Date, interval: Interval): Date {
  const d = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  if (interval === 'week') d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  if (interval === 'month') d.setUTCDate(1);
  return d;
}

function nextBucket(d: Date, interval: Interval): Date {
  const n = new Date(d);
  if (interval === 'day') n.setUTCDate(n.getUTCDate() + 1);
  else if (interval === 'week') n.setUTCDate(n.getUTCDate() + 7);
  else n.setUTCMonth(n.getUTCMonth() + 1);
  return n;
}

export interface Bucket {
  /** The bucket's start (ISO), clipped to the range's start. */
  start: string;
  /** The bucket's end (exclusive, ISO), clipped to the range's end. */
  end: string;
}

/** The buckets covering [from, to), each clipped to the range. */
export function buckets(from: Date, to: Date, interval: Interval): Bucket[] {
  const out: Bucket[] = [];
  for (let b = bucketStart(from, interval); b < to; b = nextBucket(b, interval)) {
    const start = b < from ? from : b;
    const n = nextBucket(b, interval);
    out.push({ start: start.toISOString(), end: (n > to ? to : n).toISOString() });
    if (out.length > MAX_BUCKETS) break;
  }
  return out;
}

/**
 * A stock's value at the end of each bucket: the opening value (everything before the range)
 * plus each bucket's movements, in order. `movements` maps a bucket's start (as
 * {@link bucketStart} gives it, ISO) to the sum of its changes.
 */
export function runningTotals(
  opening: number,
  list: readonly Bucket[],
  movements: ReadonlyMap<string, number>,
  interval: Interval,
): number[] {
  let total = opening;
  return list.map((b) => {
    total += movements.get(bucketStart(new Date(b.start), interval).toISOString()) ?? 0;
    return total;
  });
}
