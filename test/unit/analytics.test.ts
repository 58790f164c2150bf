import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { barChart, escapeXml, lineChart, niceTicks } from '../../src/analytics/charts';
import { churnedAt, foldConversion } from '../../src/analytics/facts';
import { convertedTotal, toReporting } from '../../src/analytics/rates';
import {
  bucketStart,
  buckets,
  monthsPerPeriod,
  proportion,
  roundMinor,
  runningTotals,
} from '../../src/analytics/stats';

describe('foldConversion', () => {
  it('a paid checkout converts and is first paid at the same time, at the price then', () => {
    expect(
      foldConversion(
        {},
        [
          { type: 'created', at: 10 },
          { type: 'activated', at: 10 },
        ],
        'price_a',
      ),
    ).toEqual({ convertedAt: 10, firstPaidAt: 10, firstPaidPriceId: 'price_a' });
  });

  it('a trial converts at its start and is first paid when it ends paid (or recovers)', () => {
    const started = foldConversion({}, [{ type: 'trial_started', at: 5 }], 'price_a');
    expect(started).toEqual({ convertedAt: 5, firstPaidAt: null, firstPaidPriceId: null });
    const failed = foldConversion(started, [{ type: 'past_due', at: 9 }], 'price_a');
    expect(failed.firstPaidAt).toBeNull();
    expect(foldConversion(failed, [{ type: 'recovered', at: 12 }], 'price_b')).toEqual({
      convertedAt: 5,
      firstPaidAt: 12,
      firstPaidPriceId: 'price_b',
    });
  });

  it('a declined checkout converts nothing; later renewals never move a fact', () => {
    expect(foldConversion({}, [{ type: 'payment_failed', at: 3 }], 'p')).toEqual({
      convertedAt: null,
      firstPaidAt: null,
      firstPaidPriceId: null,
    });
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            type: fc.constantFrom('activated', 'trial_started', 'recovered', 'renewed', 'past_due'),
            at: fc.integer({ min: 0, max: 1e9 }),
          }),
        ),
        fc.array(
          fc.record({
            type: fc.constantFrom('activated', 'trial_started', 'recovered', 'renewed'),
            at: fc.integer({ min: 0, max: 1e9 }),
          }),
        ),
        (first, later) => {
          const a = foldConversion({}, first, 'p1');
          const b = foldConversion(a, later, 'p2');
          if (a.convertedAt !== null) expect(b.convertedAt).toBe(a.convertedAt);
          if (a.firstPaidAt !== null) {
            expect(b.firstPaidAt).toBe(a.firstPaidAt);
            expect(b.firstPaidPriceId).toBe('p1');
          }
          // Folding in one go or in two is the same.
          expect(foldConversion({}, [...first, ...later], 'p2').convertedAt).toBe(b.convertedAt);
        },
      ),
    );
  });

  it('churn is only of a converted subscription that is cancelled or ended', () => {
    expect(churnedAt('cancelled', 1, null, 50)).toBe(50);
    expect(churnedAt('ended', 1, 60, null)).toBe(60);
    expect(churnedAt('cancelled', null, null, 50)).toBeNull(); // cancelled while incomplete
    expect(churnedAt('active', 1, null, null)).toBeNull();
    expect(churnedAt('past_due', 1, null, null)).toBeNull();
  });
});

describe('proportion (Wilson score, 95 %)', () => {
  it('matches hand-computed intervals', () => {
    // 1/4: centre (0.25 + 1.96²/8)/(1 + 1.96²/4) = 0.37248, half-width 0.32689.
    const q = proportion(1, 4);
    expect(q.rate).toBe(0.25);
    expect(q.ci95?.[0]).toBeCloseTo(0.04559, 4);
    expect(q.ci95?.[1]).toBeCloseTo(0.69936, 4);
    // 0/10: [0, 1.96²/(10 + 1.96²)] = [0, 0.27753].
    expect(proportion(0, 10).ci95?.[0]).toBe(0);
    expect(proportion(0, 10).ci95?.[1]).toBeCloseTo(0.27753, 4);
    // 50/100: 0.5 ± 0.0962 → [0.40383, 0.59617].
    expect(proportion(50, 100).ci95?.[0]).toBeCloseTo(0.40383, 4);
    expect(proportion(0, 0)).toEqual({ rate: null, ci95: null });
  });

  it('stays inside [0, 1] and contains the rate', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e6 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n, f) => {
          const k = Math.floor(n * f);
          const { rate, ci95 } = proportion(k, n);
          if (rate === null || ci95 === null) throw new Error('no rate');
          expect(ci95[0]).toBeGreaterThanOrEqual(0);
          expect(ci95[1]).toBeLessThanOrEqual(1);
          expect(ci95[0]).toBeLessThanOrEqual(rate + 1e-6);
          expect(ci95[1]).toBeGreaterThanOrEqual(rate - 1e-6);
        },
      ),
    );
  });
});

describe('MRR arithmetic', () => {
  it('normalizes a period to months', () => {
    expect(12000 / monthsPerPeriod('year', 1)).toBe(1000);
    expect(1000 / monthsPerPeriod('month', 1)).toBe(1000);
    expect(3000 / monthsPerPeriod('month', 3)).toBe(1000);
    expect(100 / monthsPerPeriod('week', 1)).toBeCloseTo(433.33, 2);
    expect(10 / monthsPerPeriod('day', 1)).toBeCloseTo(304.17, 2);
  });

  it('rounds half away from zero, once, after summing', () => {
    expect(roundMinor(833.5)).toBe(834);
    expect(roundMinor(-833.5)).toBe(-834);
    // Three yearly plans of 10000: 3 × 833.33… = 2500 exactly, not 3 × 833 = 2499.
    expect(roundMinor((3 * 10000) / 12)).toBe(2500);
  });

  it('converts at the static table and never adds a currency it has no rate for', () => {
    expect(toReporting(900, 'EUR')).toBe(972);
    expect(toReporting(10000, 'JPY')).toBe(6700); // ¥10,000 × 0.0067 = $67.00
    expect(toReporting(100, 'XYZ')).toBeNull();
    expect(
      convertedTotal([
        { currency: 'USD', amount: 100 },
        { currency: 'XYZ', amount: 5 },
      ]),
    ).toEqual({ currency: 'USD', amount: 100, ratesDate: '2026-12-01', unconverted: ['XYZ'] });
  });
});

describe('buckets', () => {
  const from = new Date('2026-06-03T00:00:00Z');
  const to = new Date('2026-07-01T00:00:00Z');

  it('weeks start on Monday and are clipped to the range', () => {
    const b = buckets(from, to, 'week');
    expect(b[0]).toEqual({ start: '2026-06-03T00:00:00.000Z', end: '2026-06-08T00:00:00.000Z' });
    expect(b.at(-1)).toEqual({
      start: '2026-06-29T00:00:00.000Z',
      end: '2026-07-01T00:00:00.000Z',
    });
    expect(b).toHaveLength(5);
    expect(bucketStart(new Date('2026-06-07T23:59:59Z'), 'week').toISOString()).toBe(
      '2026-06-01T00:00:00.000Z',
    );
  });

  it('days and months', () => {
    expect(buckets(from, to, 'day')).toHaveLength(28);
    expect(buckets(new Date('2026-01-15T00:00:00Z'), to, 'month').map((b) => b.start)).toEqual([
      '2026-01-15T00:00:00.000Z',
      '2026-02-01T00:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
      '2026-04-01T00:00:00.000Z',
      '2026-05-01T00:00:00.000Z',
      '2026-06-01T00:00:00.000Z',
    ]);
  });

  it('a stock is the opening plus the movements so far', () => {
    const b = buckets(from, new Date('2026-06-06T00:00:00Z'), 'day');
    const moves = new Map([
      ['2026-06-03T00:00:00.000Z', 5],
      ['2026-06-05T00:00:00.000Z', -2],
    ]);
    expect(runningTotals(10, b, moves, 'day')).toEqual([15, 15, 13]);
  });
});

describe('charts', () => {
  const series = [
    {
      label: 'USD',
      points: [
        { x: '2026-06-01', y: 2000 },
        { x: '2026-06-02', y: 3500 },
        { x: '2026-06-03', y: 4333 },
      ],
    },
  ];

  it('a line chart is an accessible, scalable SVG', () => {
    const svg = lineChart({ title: 'MRR', description: 'MRR per day', yLabel: 'USD', series });
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 640 320"/);
    expect(svg).toContain('role="img"');
    expect(svg).toContain('aria-labelledby="chart-title chart-desc"');
    expect(svg).toContain('<title id="chart-title">MRR</title>');
    expect(svg).toContain('<desc id="chart-desc">MRR per day</desc>');
    expect(svg).toMatch(/^<svg[^>]* width="100%"/); // no fixed size: it fits its container
    expect(svg).toContain('USD 2026-06-02: 3,500');
    expect((svg.match(/<path /g) ?? []).length).toBe(1);
    expect(svg).not.toMatch(/<script|href=/i);
  });

  it('escapes every text it is given', () => {
    const evil = '<script>alert("x")</script> & \'';
    const svg = lineChart({
      title: evil,
      description: evil,
      yLabel: evil,
      xLabel: evil,
      id: '"><x',
      series: [{ label: evil, points: [{ x: evil, y: 1 }] }],
    });
    expect(svg).not.toContain('<script>');
    expect(svg).not.toContain('"><x');
    expect(svg).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;');
    expect(escapeXml('a<b>&"\'')).toBe('a&lt;b&gt;&amp;&quot;&#39;');
    const bars = barChart({
      title: 't',
      description: 'd',
      yLabel: 'n',
      bars: [{ label: evil, value: 3 }],
    });
    expect(bars).not.toContain('<script>');
  });

  it('an empty chart says so', () => {
    const svg = lineChart({ title: 'MRR', description: 'none', yLabel: 'USD', series: [] });
    expect(svg).toContain('No data in this range');
    expect(svg).not.toContain('<path');
  });

  it('a bar chart draws one bar per category', () => {
    const svg = barChart({
      title: 'Attempts by provider',
      description: 'Payment attempts in June',
      yLabel: 'attempts',
      bars: [
        { label: 'stripe', value: 3 },
        { label: 'paypal', value: 1 },
      ],
    });
    expect((svg.match(/<rect /g) ?? []).length).toBe(2);
    expect(svg).toContain('<title>stripe: 3</title>');
  });

  it('ticks are round numbers covering the data', () => {
    expect(niceTicks(0, 4333)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e9, noNaN: true }), (max) => {
        const t = niceTicks(0, max);
        expect(t[0]).toBeLessThanOrEqual(0);
        expect(t.at(-1)).toBeGreaterThanOrEqual(max);
        expect(t.length).toBeLessThan(20);
      }),
    );
  });
});
