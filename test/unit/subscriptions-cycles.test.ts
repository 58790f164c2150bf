import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BILLING_INTERVALS,
  type BillingCycle,
  type BillingInterval,
  firstPeriod,
  isValidCadence,
  MAX_INTERVAL_COUNT,
  nextPeriod,
  nominalSeconds,
  period,
  periodAt,
  periodBoundary,
} from '../../src/subscriptions/cycles';
import { isoOf, MAX_TIME, toUnixSeconds } from '../../src/subscriptions/time';

const at = (iso: string) => toUnixSeconds(new Date(iso));
const cycle = (anchor: string, interval: BillingInterval, intervalCount = 1): BillingCycle => ({
  anchor: at(anchor),
  interval,
  intervalCount,
});
const ends = (c: BillingCycle, n: number) =>
  Array.from({ length: n }, (_, i) => isoOf(periodBoundary(c, i + 1)));

describe('month-end handling, as Stripe', () => {
  it('a Jan 31 monthly anchor ends on the last day of short months and snaps back to the 31st', () => {
    expect(ends(cycle('2025-01-31T10:20:30Z', 'month'), 6)).toEqual([
      '2025-02-28T10:20:30Z',
      '2025-03-31T10:20:30Z',
      '2025-04-30T10:20:30Z',
      '2025-05-31T10:20:30Z',
      '2025-06-30T10:20:30Z',
      '2025-07-31T10:20:30Z',
    ]);
  });

  it('February has 29 days in a leap year', () => {
    expect(ends(cycle('2024-01-31T00:00:00Z', 'month'), 2)).toEqual([
      '2024-02-29T00:00:00Z',
      '2024-03-31T00:00:00Z',
    ]);
  });

  it('1900 and 2100 are not leap years, 2000 is', () => {
    expect(isoOf(periodBoundary(cycle('2099-01-29T00:00:00Z', 'month'), 1))).toBe(
      '2099-02-28T00:00:00Z',
    );
    expect(isoOf(periodBoundary(cycle('2100-01-29T00:00:00Z', 'month'), 1))).toBe(
      '2100-02-28T00:00:00Z',
    );
    expect(isoOf(periodBoundary(cycle('2000-01-29T00:00:00Z', 'month'), 1))).toBe(
      '2000-02-29T00:00:00Z',
    );
  });

  it('a day-30 anchor is the 30th except in February', () => {
    expect(ends(cycle('2025-01-30T00:00:00Z', 'month'), 3)).toEqual([
      '2025-02-28T00:00:00Z',
      '2025-03-30T00:00:00Z',
      '2025-04-30T00:00:00Z',
    ]);
  });

  it('a Feb 29 monthly anchor keeps the 29th', () => {
    expect(ends(cycle('2024-02-29T12:00:00Z', 'month'), 12)).toEqual([
      '2024-03-29T12:00:00Z',
      '2024-04-29T12:00:00Z',
      '2024-05-29T12:00:00Z',
      '2024-06-29T12:00:00Z',
      '2024-07-29T12:00:00Z',
      '2024-08-29T12:00:00Z',
      '2024-09-29T12:00:00Z',
      '2024-10-29T12:00:00Z',
      '2024-11-29T12:00:00Z',
      '2024-12-29T12:00:00Z',
      '2025-01-29T12:00:00Z',
      '2025-02-28T12:00:00Z',
    ]);
  });

  it('a yearly cycle from Feb 29 ends on Feb 28 in common years and Feb 29 in leap years', () => {
    expect(ends(cycle('2024-02-29T00:00:00Z', 'year'), 5)).toEqual([
      '2025-02-28T00:00:00Z',
      '2026-02-28T00:00:00Z',
      '2027-02-28T00:00:00Z',
      '2028-02-29T00:00:00Z',
      '2029-02-28T00:00:00Z',
    ]);
  });

  it('quarterly from Nov 30 crosses the year and February', () => {
    expect(ends(cycle('2024-11-30T00:00:00Z', 'month', 3), 4)).toEqual([
      '2025-02-28T00:00:00Z',
      '2025-05-30T00:00:00Z',
      '2025-08-30T00:00:00Z',
      '2025-11-30T00:00:00Z',
    ]);
  });

  it('12 months from Dec 31 is the next Dec 31', () => {
    expect(ends(cycle('2024-12-31T23:59:59Z', 'month', 12), 1)).toEqual(['2025-12-31T23:59:59Z']);
  });
});

describe('days and weeks', () => {
  it('are fixed lengths of seconds in UTC', () => {
    expect(ends(cycle('2024-02-28T06:00:00Z', 'day'), 2)).toEqual([
      '2024-02-29T06:00:00Z',
      '2024-03-01T06:00:00Z',
    ]);
    expect(ends(cycle('2025-03-29T00:00:00Z', 'week', 2), 1)).toEqual(['2025-04-12T00:00:00Z']);
    expect(ends(cycle('2024-01-01T00:00:00Z', 'day', 365), 1)).toEqual(['2024-12-31T00:00:00Z']);
  });
});

describe('periods', () => {
  const c = cycle('2025-01-31T00:00:00Z', 'month');

  it('the first starts at the anchor; the next starts where one ends', () => {
    const p0 = firstPeriod(c);
    expect(p0).toEqual({ index: 0, start: c.anchor, end: at('2025-02-28T00:00:00Z') });
    const p1 = nextPeriod(c, p0);
    expect(p1).toEqual({ index: 1, start: p0.end, end: at('2025-03-31T00:00:00Z') });
  });

  it('periodAt finds the period holding a time; a boundary starts the next period', () => {
    expect(periodAt(c, c.anchor).index).toBe(0);
    expect(periodAt(c, at('2025-02-27T23:59:59Z')).index).toBe(0);
    expect(periodAt(c, at('2025-02-28T00:00:00Z')).index).toBe(1);
    expect(periodAt(c, at('2025-03-30T00:00:00Z')).index).toBe(1);
    expect(periodAt(c, at('2026-01-31T00:00:00Z')).index).toBe(12);
  });

  it('periodAt before the anchor is a RangeError', () => {
    expect(() => periodAt(c, c.anchor - 1)).toThrow(RangeError);
  });
});

describe('bounds', () => {
  it('a period is at most a year', () => {
    expect(MAX_INTERVAL_COUNT).toEqual({ day: 365, week: 52, month: 12, year: 1 });
    for (const interval of BILLING_INTERVALS) {
      expect(isValidCadence({ interval, intervalCount: MAX_INTERVAL_COUNT[interval] })).toBe(true);
      expect(isValidCadence({ interval, intervalCount: MAX_INTERVAL_COUNT[interval] + 1 })).toBe(
        false,
      );
      expect(isValidCadence({ interval, intervalCount: 0 })).toBe(false);
      expect(isValidCadence({ interval, intervalCount: 1.5 })).toBe(false);
    }
  });

  it('bad inputs are RangeErrors, not wrong dates', () => {
    expect(() => periodBoundary(cycle('2025-01-01T00:00:00Z', 'month', 13), 1)).toThrow(RangeError);
    expect(() => periodBoundary(cycle('2025-01-01T00:00:00Z', 'year', 2), 1)).toThrow(RangeError);
    expect(() => periodBoundary(cycle('2025-01-01T00:00:00Z', 'month'), -1)).toThrow(RangeError);
    expect(() => periodBoundary(cycle('2025-01-01T00:00:00Z', 'month'), 0.5)).toThrow(RangeError);
    expect(() => periodBoundary({ anchor: 1.5, interval: 'day', intervalCount: 1 }, 1)).toThrow(
      RangeError,
    );
    expect(() => periodBoundary(cycle('9999-12-01T00:00:00Z', 'month'), 1)).toThrow(RangeError);
    expect(() =>
      periodBoundary({ anchor: 0, interval: 'fortnight' as BillingInterval, intervalCount: 1 }, 1),
    ).toThrow(RangeError);
  });

  it('nominal lengths: a month is a twelfth of the Gregorian year', () => {
    expect(nominalSeconds({ interval: 'month', intervalCount: 1 })).toBe(2_629_746);
    expect(nominalSeconds({ interval: 'month', intervalCount: 12 })).toBe(
      nominalSeconds({ interval: 'year', intervalCount: 1 }),
    );
    expect(nominalSeconds({ interval: 'week', intervalCount: 2 })).toBe(1_209_600);
  });
});

/** Any valid cycle anchored between 1970 and 2200, so 500 periods stay far from 9999. */
const cycleArb: fc.Arbitrary<BillingCycle> = fc
  .constantFrom(...BILLING_INTERVALS)
  .chain((interval) =>
    fc.record({
      interval: fc.constant(interval),
      intervalCount: fc.integer({ min: 1, max: MAX_INTERVAL_COUNT[interval] }),
      anchor: fc.integer({ min: 0, max: at('2200-01-01T00:00:00Z') }),
    }),
  );

const utc = (t: number) => new Date(t * 1000);

describe('period arithmetic (properties)', () => {
  it('periods are contiguous and strictly increasing', () => {
    fc.assert(
      fc.property(cycleArb, fc.integer({ min: 0, max: 200 }), (c, n) => {
        const p = period(c, n);
        const q = nextPeriod(c, p);
        expect(q.start).toBe(p.end);
        expect(p.end).toBeGreaterThan(p.start);
        expect(q.index).toBe(p.index + 1);
      }),
    );
  });

  it('every boundary is computed from the anchor: day of month = min(anchor day, month length)', () => {
    fc.assert(
      fc.property(
        cycleArb.filter((c) => c.interval === 'month' || c.interval === 'year'),
        fc.integer({ min: 1, max: 300 }),
        (c, n) => {
          const a = utc(c.anchor);
          const b = utc(periodBoundary(c, n));
          const months = n * c.intervalCount * (c.interval === 'year' ? 12 : 1);
          const total = a.getUTCFullYear() * 12 + a.getUTCMonth() + months;
          expect(b.getUTCFullYear() * 12 + b.getUTCMonth()).toBe(total);
          const monthLength = new Date(
            Date.UTC(b.getUTCFullYear(), b.getUTCMonth() + 1, 0),
          ).getUTCDate();
          expect(b.getUTCDate()).toBe(Math.min(a.getUTCDate(), monthLength));
          expect(b.getUTCHours() * 3600 + b.getUTCMinutes() * 60 + b.getUTCSeconds()).toBe(
            a.getUTCHours() * 3600 + a.getUTCMinutes() * 60 + a.getUTCSeconds(),
          );
        },
      ),
    );
  });

  it('a month period lasts 28–31 days per month of cadence; days and weeks exactly', () => {
    fc.assert(
      fc.property(cycleArb, fc.integer({ min: 0, max: 300 }), (c, n) => {
        const p = period(c, n);
        const len = p.end - p.start;
        if (c.interval === 'day' || c.interval === 'week') {
          expect(len).toBe(nominalSeconds(c));
        } else {
          const months = c.intervalCount * (c.interval === 'year' ? 12 : 1);
          // Clamping moves a boundary back by at most 3 days (31 → 28).
          expect(len).toBeGreaterThanOrEqual(months * 28 * 86_400 - 3 * 86_400);
          expect(len).toBeLessThanOrEqual(months * 31 * 86_400 + 3 * 86_400);
          expect(len).toBeLessThanOrEqual(366 * 86_400);
        }
      }),
    );
  });

  it('periodAt(t) holds t, and is the period that boundary arithmetic gives', () => {
    fc.assert(
      fc.property(cycleArb, fc.integer({ min: 0, max: 40 * 366 * 86_400 }), (c, offset) => {
        const t = Math.min(c.anchor + offset, MAX_TIME - 400 * 86_400);
        fc.pre(t >= c.anchor);
        const p = periodAt(c, t);
        expect(p.start).toBeLessThanOrEqual(t);
        expect(p.end).toBeGreaterThan(t);
        expect(period(c, p.index)).toEqual(p);
      }),
    );
  });

  it('boundaries are monotonic in n', () => {
    fc.assert(
      fc.property(
        cycleArb,
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 400 }),
        (c, m, n) => {
          fc.pre(m < n);
          expect(periodBoundary(c, m)).toBeLessThan(periodBoundary(c, n));
        },
      ),
    );
  });
});
