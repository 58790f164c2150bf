import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BILLING_INTERVALS, MAX_INTERVAL_COUNT } from '../../src/subscriptions/cycles';
import {
  changeDirection,
  compareRates,
  prorate,
  type Rate,
} from '../../src/subscriptions/proration';

describe('prorate: amount × remaining / length, rounded once, halves to even', () => {
  it('rounds to the nearest minor unit', () => {
    expect(prorate(1000, 1, 2)).toBe(500);
    expect(prorate(980, 1, 3)).toBe(327); // 326.67
    expect(prorate(1980, 1, 3)).toBe(660);
    expect(prorate(1000, 1, 3)).toBe(333); // 333.33
  });

  it('halves go to the even neighbour', () => {
    expect([1, 3, 5, 7, 9].map((a) => prorate(a, 1, 2))).toEqual([0, 2, 2, 4, 4]);
  });

  it('is exact at the ends', () => {
    expect(prorate(2999, 0, 2_592_000)).toBe(0);
    expect(prorate(2999, 2_592_000, 2_592_000)).toBe(2999);
  });

  it('is exact for amounts where floating point is not', () => {
    const max = Number.MAX_SAFE_INTEGER; // 2^53 − 1, odd
    // max / 2 = 4503599627370495.5 → halves to even → 4503599627370496.
    expect(prorate(max, 1_296_000, 2_592_000)).toBe(4_503_599_627_370_496);
    expect(prorate(max, 2_591_999, 2_592_000)).toBe(
      Number((BigInt(max) * 2_591_999n + 1_296_000n) / 2_592_000n),
    );
  });

  it('refuses what is not whole minor units and seconds', () => {
    expect(() => prorate(10.5, 1, 2)).toThrow(RangeError);
    expect(() => prorate(-1, 1, 2)).toThrow(RangeError);
    expect(() => prorate(10, 3, 2)).toThrow(RangeError);
    expect(() => prorate(10, 1, 0)).toThrow(RangeError);
    expect(() => prorate(10, 0.5, 2)).toThrow(RangeError);
  });

  it('is within ½ minor unit of the exact value (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 1, max: 31_622_400 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (amount, length, share) => {
          const remaining = Math.floor(share * length);
          const line = BigInt(prorate(amount, remaining, length));
          const exact2 = 2n * BigInt(amount) * BigInt(remaining); // 2 × exact × length
          const diff = 2n * line * BigInt(length) - exact2;
          expect(diff <= BigInt(length) && diff >= -BigInt(length)).toBe(true);
        },
      ),
    );
  });
});

const monthly = (amount: number, intervalCount = 1): Rate => ({
  amount,
  interval: 'month',
  intervalCount,
});

describe('upgrade or downgrade: price per second, by cross-multiplication', () => {
  it('compares prices of one cadence by amount', () => {
    expect(changeDirection(monthly(1000), monthly(2000))).toBe('upgrade');
    expect(changeDirection(monthly(2000), monthly(1000))).toBe('downgrade');
    expect(changeDirection(monthly(1000), monthly(1000))).toBe('lateral');
  });

  it('compares across cadences by their nominal lengths', () => {
    const yearly = (amount: number): Rate => ({ amount, interval: 'year', intervalCount: 1 });
    expect(changeDirection(monthly(1000), yearly(10_000))).toBe('downgrade');
    expect(changeDirection(monthly(1000), yearly(12_000))).toBe('lateral');
    expect(changeDirection(monthly(1000), yearly(12_001))).toBe('upgrade');
    // The same amount every 30 days costs more per second than every month (30.44 days).
    expect(
      changeDirection(monthly(1000), { amount: 1000, interval: 'day', intervalCount: 30 }),
    ).toBe('upgrade');
    expect(changeDirection(monthly(3000, 3), monthly(1000))).toBe('lateral');
    expect(
      changeDirection(
        { amount: 700, interval: 'week', intervalCount: 1 },
        { amount: 100, interval: 'day', intervalCount: 1 },
      ),
    ).toBe('lateral');
  });

  const rateArb: fc.Arbitrary<Rate> = fc.constantFrom(...BILLING_INTERVALS).chain((interval) =>
    fc.record({
      interval: fc.constant(interval),
      intervalCount: fc.integer({ min: 1, max: MAX_INTERVAL_COUNT[interval] }),
      amount: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    }),
  );

  it('is a total order: antisymmetric and transitive (property)', () => {
    fc.assert(
      fc.property(rateArb, rateArb, rateArb, (a, b, c) => {
        expect(compareRates(a, b)).toBe(-compareRates(b, a) || 0);
        if (compareRates(a, b) <= 0 && compareRates(b, c) <= 0) {
          expect(compareRates(a, c)).toBeLessThanOrEqual(0);
        }
      }),
    );
  });

  it('scaling the amount and the cadence together is lateral (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e12 }), fc.integer({ min: 1, max: 12 }), (a, k) => {
        expect(changeDirection(monthly(a), monthly(a * k, k))).toBe('lateral');
      }),
    );
  });
});
