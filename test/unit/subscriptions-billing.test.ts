import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BillingState,
  cancelScheduledChange,
  changePlan,
  firstInvoice,
  type InvoiceLine,
  invoiceFor,
  type PlanChangePreview,
  type PlanChangeRequest,
  type PlanPrice,
  PRORATION_BEHAVIORS,
  previewPlanChange,
  renew,
  restartBilling,
  startBilling,
  startTrialBilling,
  upcomingInvoice,
} from '../../src/subscriptions/billing';
import {
  BILLING_INTERVALS,
  type BillingInterval,
  MAX_INTERVAL_COUNT,
} from '../../src/subscriptions/cycles';
import { changeDirection } from '../../src/subscriptions/proration';
import { isoOf, SECONDS_PER_DAY, toUnixSeconds } from '../../src/subscriptions/time';

const at = (iso: string) => toUnixSeconds(new Date(iso));
const DAY = SECONDS_PER_DAY;

function price(
  id: string,
  amount: number,
  interval: BillingInterval = 'month',
  overrides: Partial<PlanPrice> = {},
): PlanPrice {
  return {
    id,
    bundleId: `bun_${id}`,
    amount,
    currency: 'USD',
    interval,
    intervalCount: 1,
    name: id,
    ...overrides,
  };
}

const BASIC = price('basic', 1000);
const PRO = price('pro', 2000);
const APRIL = at('2025-04-01T00:00:00Z');
const MID_APRIL = at('2025-04-16T00:00:00Z'); // exactly half of April's 30 days

function change(billing: BillingState, request: PlanChangeRequest) {
  const r = changePlan(billing, request);
  if (!r.ok) throw new Error(`refused: ${r.error.kind}`);
  return r;
}

const amounts = (lines: readonly InvoiceLine[]) => lines.map((l) => l.amount);

describe('plan changes, as Stripe’s proration behaviours', () => {
  const billing = startBilling(BASIC, APRIL);

  it('create_prorations: credit unused, charge remaining, both on the next invoice', () => {
    const { preview, next } = change(billing, {
      price: PRO,
      prorationDate: MID_APRIL,
      behavior: 'create_prorations',
    });
    expect(preview.direction).toBe('upgrade');
    expect(preview.lines).toEqual([
      {
        kind: 'unused_time',
        priceId: 'basic',
        description: 'Unused time on basic after 2025-04-16T00:00:00Z',
        amount: -500,
        periodStart: MID_APRIL,
        periodEnd: at('2025-05-01T00:00:00Z'),
      },
      {
        kind: 'remaining_time',
        priceId: 'pro',
        description: 'Remaining time on pro after 2025-04-16T00:00:00Z',
        amount: 1000,
        periodStart: MID_APRIL,
        periodEnd: at('2025-05-01T00:00:00Z'),
      },
    ]);
    expect(preview.invoice).toBeNull();
    expect(preview.amountDue).toBe(0); // the /change payment is null
    expect(preview.addedToNextInvoice).toEqual(preview.lines);
    expect(next.price).toBe(PRO);
    expect(next.pendingLines).toEqual(preview.lines);
    const upcoming = upcomingInvoice(next);
    expect(amounts(upcoming.lines)).toEqual([-500, 1000, 2000]);
    expect(upcoming.amountDue).toBe(2500);
    expect(upcoming.lines[2]?.description).toBe(
      'pro from 2025-05-01T00:00:00Z to 2025-06-01T00:00:00Z',
    );
  });

  it('always_invoice: the same lines, charged now', () => {
    const { preview, next } = change(billing, {
      price: PRO,
      prorationDate: MID_APRIL,
      behavior: 'always_invoice',
    });
    expect(amounts(preview.lines)).toEqual([-500, 1000]);
    expect(preview.invoice).toEqual(
      expect.objectContaining({ subtotal: 500, amountDue: 500, creditApplied: 0, creditAdded: 0 }),
    );
    expect(preview.amountDue).toBe(500);
    expect(next.pendingLines).toEqual([]);
    expect(upcomingInvoice(next).amountDue).toBe(2000);
  });

  it('none: no proration, the new price from the next invoice', () => {
    const { preview, next } = change(billing, {
      price: PRO,
      prorationDate: MID_APRIL,
      behavior: 'none',
    });
    expect(preview.lines).toEqual([]);
    expect(preview.amountDue).toBe(0);
    expect(upcomingInvoice(next).amountDue).toBe(2000);
  });

  it('a downgrade invoiced now charges nothing and carries the credit to the next invoice', () => {
    const onPro = startBilling(PRO, APRIL);
    const { preview, next } = change(onPro, {
      price: BASIC,
      prorationDate: MID_APRIL,
      behavior: 'always_invoice',
    });
    expect(preview.direction).toBe('downgrade');
    expect(amounts(preview.lines)).toEqual([-1000, 500]);
    expect(preview.invoice).toEqual(
      expect.objectContaining({ subtotal: -500, amountDue: 0, creditAdded: 500 }),
    );
    expect(preview.creditBalanceDelta).toBe(500);
    expect(next.creditBalance).toBe(500);
    const renewal = renew(next);
    expect(renewal.invoice).toEqual(
      expect.objectContaining({ subtotal: 1000, creditApplied: 500, amountDue: 500 }),
    );
    expect(renewal.next.creditBalance).toBe(0);
  });

  it('a credit balance pays for an upgrade invoiced now before any charge', () => {
    const withCredit: BillingState = { ...billing, creditBalance: 700 };
    const { preview, next } = change(withCredit, {
      price: PRO,
      prorationDate: MID_APRIL,
      behavior: 'always_invoice',
    });
    expect(preview.invoice).toEqual(
      expect.objectContaining({ subtotal: 500, creditApplied: 500, amountDue: 0 }),
    );
    expect(preview.amountDue).toBe(0);
    expect(preview.creditBalanceDelta).toBe(-500);
    expect(next.creditBalance).toBe(200);
  });

  it('an invoice made now takes the lines already waiting', () => {
    const first = change(billing, {
      price: PRO,
      prorationDate: MID_APRIL,
      behavior: 'create_prorations',
    }).next;
    const team = price('team', 4000);
    const { preview } = change(first, {
      price: team,
      prorationDate: at('2025-04-25T00:00:00Z'),
      behavior: 'always_invoice',
    });
    // 6 of 30 days left: −2000 × 6/30 = −400, +4000 × 6/30 = 800.
    expect(amounts(preview.lines)).toEqual([-400, 800]);
    expect(amounts(preview.invoice?.lines ?? [])).toEqual([-500, 1000, -400, 800]);
    expect(preview.amountDue).toBe(900);
  });

  it('a change to another cadence restarts the cycle and is invoiced now, whatever the behaviour', () => {
    const yearly = price('yearly', 10_000, 'year');
    for (const behavior of PRORATION_BEHAVIORS) {
      const { preview, next } = change(billing, {
        price: yearly,
        prorationDate: MID_APRIL,
        behavior,
      });
      expect(preview.direction).toBe('downgrade');
      expect(preview.anchorReset).toBe(true);
      expect(preview.period).toEqual({ start: MID_APRIL, end: at('2026-04-16T00:00:00Z') });
      expect(amounts(preview.lines)).toEqual(behavior === 'none' ? [10_000] : [-500, 10_000]);
      expect(preview.amountDue).toBe(behavior === 'none' ? 10_000 : 9_500);
      expect(next.anchor).toBe(MID_APRIL);
      expect(renew(next).next.period).toEqual({
        start: at('2026-04-16T00:00:00Z'),
        end: at('2027-04-16T00:00:00Z'),
      });
    }
  });

  it('a deferred downgrade prorates nothing and switches at the renewal', () => {
    const onPro = startBilling(PRO, APRIL);
    const request = {
      price: BASIC,
      prorationDate: MID_APRIL,
      behavior: 'always_invoice',
      deferDowngrade: true,
    } as const;
    const { preview, next } = change(onPro, request);
    expect(preview).toEqual(
      expect.objectContaining({
        timing: 'period_end',
        effectiveAt: at('2025-05-01T00:00:00Z'),
        lines: [],
        invoice: null,
        amountDue: 0,
      }),
    );
    expect(next.price).toBe(PRO);
    expect(next.scheduled).toEqual({ price: BASIC, at: at('2025-05-01T00:00:00Z') });
    const renewal = renew(next);
    expect(renewal.invoice.amountDue).toBe(1000);
    expect(renewal.next.price).toBe(BASIC);
    expect(renewal.next.scheduled).toBeNull();
    // Cancelling it keeps the price.
    expect(renew(cancelScheduledChange(next)).invoice.amountDue).toBe(2000);
    // An upgrade is never deferred; an immediate change replaces a deferred one.
    const up = change(next, { ...request, price: price('team', 4000) });
    expect(up.preview.timing).toBe('immediate');
    expect(up.next.scheduled).toBeNull();
  });

  it('a deferred downgrade to another cadence starts its cycle at the period end', () => {
    const onPro = startBilling(PRO, APRIL);
    const yearly = price('yearly', 10_000, 'year');
    const { next } = change(onPro, {
      price: yearly,
      prorationDate: MID_APRIL,
      behavior: 'create_prorations',
      deferDowngrade: true,
    });
    const renewal = renew(next);
    expect(renewal.next.anchor).toBe(at('2025-05-01T00:00:00Z'));
    expect(renewal.next.period.end).toBe(at('2026-05-01T00:00:00Z'));
    expect(renewal.invoice.amountDue).toBe(10_000);
  });

  it('JPY stays integral: ¥980 → ¥1,980 with 10 of 30 days left', () => {
    const yen = (id: string, amount: number) => price(id, amount, 'month', { currency: 'JPY' });
    const { preview } = change(startBilling(yen('lite', 980), APRIL), {
      price: yen('plus', 1980),
      prorationDate: at('2025-04-21T00:00:00Z'),
      behavior: 'always_invoice',
    });
    expect(amounts(preview.lines)).toEqual([-327, 660]);
    expect(preview.amountDue).toBe(333);
  });

  it('prorates to the second', () => {
    const { preview } = change(billing, {
      price: PRO,
      prorationDate: at('2025-04-30T23:59:59Z'),
      behavior: 'always_invoice',
    });
    // 1 s of 2,592,000: −1000/2592000 and +2000/2592000 both round to 0 (never −0).
    expect(amounts(preview.lines)).toEqual([0, 0]);
    const expensive = change(startBilling(price('big', 2_592_000_000), APRIL), {
      price: price('bigger', 5_184_000_000),
      prorationDate: at('2025-04-30T23:59:59Z'),
      behavior: 'always_invoice',
    });
    expect(amounts(expensive.preview.lines)).toEqual([-1000, 2000]);
  });

  it('during a trial nothing is prorated, and the paid cycle starts at the trial end', () => {
    const trialEnd = at('2025-04-15T00:00:00Z');
    const trial = startTrialBilling(BASIC, APRIL, trialEnd);
    for (const behavior of PRORATION_BEHAVIORS) {
      const { preview, next } = change(trial, {
        price: price('yearly', 10_000, 'year'),
        prorationDate: at('2025-04-10T00:00:00Z'),
        behavior,
        deferDowngrade: true,
      });
      expect(preview.amountDue).toBe(0);
      expect(preview.lines).toEqual([]);
      expect(next.price.id).toBe('yearly');
      const renewal = renew(next);
      expect(renewal.invoice.amountDue).toBe(10_000);
      expect(renewal.next.period).toEqual({ start: trialEnd, end: at('2026-04-15T00:00:00Z') });
      expect(renewal.next.inTrial).toBe(false);
    }
  });

  it('refuses another currency, the same price, and a date outside the period', () => {
    const request = { prorationDate: MID_APRIL, behavior: 'always_invoice' } as const;
    expect(
      changePlan(billing, { ...request, price: price('eur', 900, 'month', { currency: 'EUR' }) }),
    ).toEqual({
      ok: false,
      error: { kind: 'currency_mismatch', current: 'USD', requested: 'EUR' },
    });
    expect(changePlan(billing, { ...request, price: BASIC })).toEqual({
      ok: false,
      error: { kind: 'same_price', priceId: 'basic' },
    });
    for (const prorationDate of [APRIL - 1, at('2025-05-01T00:00:00Z')]) {
      expect(changePlan(billing, { ...request, price: PRO, prorationDate })).toEqual({
        ok: false,
        error: {
          kind: 'proration_date_outside_period',
          prorationDate,
          periodStart: APRIL,
          periodEnd: at('2025-05-01T00:00:00Z'),
        },
      });
    }
  });

  it('malformed prices are RangeErrors', () => {
    const request = { prorationDate: MID_APRIL, behavior: 'always_invoice' } as const;
    for (const bad of [
      price('x', 10.5),
      price('x', -1),
      price('x', 100, 'month', { currency: 'XXX' }),
      price('x', 100, 'month', { intervalCount: 13 }),
      price('', 100),
    ]) {
      expect(() => changePlan(billing, { ...request, price: bad })).toThrow(RangeError);
    }
  });
});

describe('renewals', () => {
  it('follow the cycle from the anchor: Jan 31 → Feb 29 → Mar 31 → Apr 30 (2024)', () => {
    let billing = startBilling(BASIC, at('2024-01-31T08:00:00Z'));
    const ends = [isoOf(billing.period.end)];
    for (let i = 0; i < 3; i++) {
      billing = renew(billing).next;
      ends.push(isoOf(billing.period.end));
    }
    expect(ends).toEqual([
      '2024-02-29T08:00:00Z',
      '2024-03-31T08:00:00Z',
      '2024-04-30T08:00:00Z',
      '2024-05-31T08:00:00Z',
    ]);
  });

  it('invoiceFor: a charge is never negative, and the credit is carried', () => {
    const line = (amount: number): InvoiceLine => ({
      kind: 'period',
      priceId: 'p',
      description: '',
      amount,
      periodStart: 0,
      periodEnd: 1,
    });
    expect(invoiceFor('USD', [line(-300), line(100)], 50)).toEqual(
      expect.objectContaining({ subtotal: -200, creditApplied: 0, creditAdded: 200, amountDue: 0 }),
    );
    expect(invoiceFor('USD', [line(300)], 50)).toEqual(
      expect.objectContaining({ subtotal: 300, creditApplied: 50, creditAdded: 0, amountDue: 250 }),
    );
    expect(() => invoiceFor('USD', [], -1)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over random plan-change sequences.

const CURRENCIES = ['USD', 'JPY', 'KWD'] as const;

const cadenceArb = fc.constantFrom(...BILLING_INTERVALS).chain((interval) =>
  fc.record({
    interval: fc.constant(interval),
    intervalCount: fc.integer({ min: 1, max: MAX_INTERVAL_COUNT[interval] }),
  }),
);

/** 2–5 prices of one currency; half the time all of one cadence (pure proration). */
const poolArb: fc.Arbitrary<PlanPrice[]> = fc
  .record({
    currency: fc.constantFrom(...CURRENCIES),
    oneCadence: fc.boolean(),
    cadence: cadenceArb,
    prices: fc.array(
      fc.record({
        amount: fc.oneof(
          fc.integer({ min: 0, max: 100_000 }),
          fc.integer({ min: 0, max: 1_000_000_000_000 }),
        ),
        cadence: cadenceArb,
      }),
      { minLength: 2, maxLength: 5 },
    ),
  })
  .map(({ currency, oneCadence, cadence, prices }) =>
    prices.map((p, i) => ({
      id: `price_${i}`,
      bundleId: `bun_${i}`,
      currency,
      amount: p.amount,
      ...(oneCadence ? cadence : p.cadence),
    })),
  );

type Step =
  | { kind: 'renew' }
  | {
      kind: 'change';
      to: number;
      behavior: (typeof PRORATION_BEHAVIORS)[number];
      defer: boolean;
      /** Where in what is left of the period, in millionths. */
      at: number;
    };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'renew' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('change' as const),
      to: fc.nat({ max: 4 }),
      behavior: fc.constantFrom(...PRORATION_BEHAVIORS),
      defer: fc.boolean(),
      at: fc.integer({ min: 0, max: 999_999 }),
    }),
  },
);

const startArb = fc.integer({ min: at('2000-01-01T00:00:00Z'), max: at('2100-01-01T00:00:00Z') });

/** |line − amount × remaining / length| ≤ ½, in integers. */
function withinHalf(line: number, amount: number, remaining: number, length: number): boolean {
  const d = 2n * BigInt(Math.abs(line)) * BigInt(length) - 2n * BigInt(amount) * BigInt(remaining);
  return d <= BigInt(length) && d >= -BigInt(length);
}

describe('plan-change sequences (properties)', () => {
  it('preview == change; never a negative charge; every minor unit accounted for', () => {
    fc.assert(
      fc.property(
        poolArb,
        startArb,
        fc.boolean(),
        fc.array(stepArb, { minLength: 1, maxLength: 25 }),
        (pool, start, trial, steps) => {
          const first = pool[0] as PlanPrice;
          let billing = trial
            ? startTrialBilling(first, start, start + 14 * DAY)
            : startBilling(first, start);
          let now = start;
          // Money conservation: every line ever made = charged + still waiting − credit held.
          let linesMade = 0;
          let charged = 0;
          for (const step of steps) {
            if (step.kind === 'renew') {
              const { invoice, next } = renew(billing);
              linesMade += invoice.lines[invoice.lines.length - 1]?.amount ?? 0;
              charged += invoice.amountDue;
              expect(invoice.amountDue).toBeGreaterThanOrEqual(0);
              expect(invoice.subtotal).toBe(
                invoice.amountDue + invoice.creditApplied - invoice.creditAdded,
              );
              now = billing.period.end;
              billing = next;
            } else {
              const target = pool[step.to % pool.length] as PlanPrice;
              const { start: ps, end: pe } = billing.period;
              const t = Math.max(now, ps + Math.floor(((pe - ps) * step.at) / 1_000_000));
              if (t >= pe) continue;
              now = t;
              const request: PlanChangeRequest = {
                price: target,
                prorationDate: t,
                behavior: step.behavior,
                deferDowngrade: step.defer,
              };
              const preview = previewPlanChange(billing, request);
              const result = changePlan(billing, request);
              if (!result.ok) {
                expect(result.error.kind).toBe('same_price');
                expect(preview).toEqual(result);
                continue;
              }
              // The preview is exactly what the change charges, line for line.
              expect(preview).toEqual({ ok: true, preview: result.preview });
              const p: PlanChangePreview = result.preview;
              expect(p.amountDue).toBe(p.invoice?.amountDue ?? 0);
              expect(p.amountDue).toBeGreaterThanOrEqual(0);
              expect(Number.isSafeInteger(p.amountDue)).toBe(true);
              if (p.invoice) {
                expect(p.invoice.subtotal).toBe(
                  p.invoice.amountDue + p.invoice.creditApplied - p.invoice.creditAdded,
                );
                expect(p.creditBalanceDelta).toBe(p.invoice.creditAdded - p.invoice.creditApplied);
              } else {
                expect(p.creditBalanceDelta).toBe(0);
              }
              expect(p.direction).toBe(changeDirection(billing.price, target));
              if (p.timing === 'period_end') {
                expect(p.direction).toBe('downgrade');
                expect(p.lines).toEqual([]);
              }
              // Each proration line within ½ minor unit of exact; credit + charge within 1.
              const length = pe - ps;
              const unused = p.lines.find((l) => l.kind === 'unused_time');
              const remainingLine = p.lines.find((l) => l.kind === 'remaining_time');
              if (unused) {
                expect(unused.amount).toBeLessThanOrEqual(0);
                expect(withinHalf(unused.amount, billing.price.amount, pe - t, length)).toBe(true);
              }
              if (remainingLine) {
                expect(withinHalf(remainingLine.amount, target.amount, pe - t, length)).toBe(true);
              }
              if (unused && remainingLine) {
                const net = BigInt(unused.amount + remainingLine.amount) * BigInt(length);
                const exact = BigInt(target.amount - billing.price.amount) * BigInt(pe - t);
                const d = net - exact;
                expect(d <= BigInt(length) && d >= -BigInt(length)).toBe(true);
              }
              linesMade += p.lines.reduce((s, l) => s + l.amount, 0);
              charged += p.amountDue;
              billing = result.next;
            }
            expect(billing.creditBalance).toBeGreaterThanOrEqual(0);
            const waiting = billing.pendingLines.reduce((s, l) => s + l.amount, 0);
            expect(linesMade).toBe(charged + waiting - billing.creditBalance);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a change and its reverse at the same second net exactly zero', () => {
    fc.assert(
      fc.property(
        poolArb.filter((p) =>
          p.every((q) => q.interval === p[0]?.interval && q.intervalCount === p[0]?.intervalCount),
        ),
        startArb,
        fc.integer({ min: 0, max: 999_999 }),
        (pool, start, share) => {
          const [a, b] = pool as [PlanPrice, PlanPrice];
          const billing = startBilling(a, start);
          const { start: ps, end: pe } = billing.period;
          const t = ps + Math.floor(((pe - ps) * share) / 1_000_000);
          const there = changePlan(billing, {
            price: b,
            prorationDate: t,
            behavior: 'create_prorations',
          });
          if (!there.ok) throw new Error(there.error.kind);
          const back = changePlan(there.next, {
            price: a,
            prorationDate: t,
            behavior: 'create_prorations',
          });
          if (!back.ok) throw new Error(back.error.kind);
          expect(back.next.pendingLines.reduce((s, l) => s + l.amount, 0)).toBe(0);
          expect(upcomingInvoice(back.next).amountDue).toBe(a.amount);
        },
      ),
    );
  });

  it('a plan in another currency is always refused', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CURRENCIES),
        fc.constantFrom(...CURRENCIES),
        startArb,
        (c1, c2, start) => {
          fc.pre(c1 !== c2);
          const billing = startBilling(price('a', 1000, 'month', { currency: c1 }), start);
          const r = changePlan(billing, {
            price: price('b', 1000, 'month', { currency: c2 }),
            prorationDate: start,
            behavior: 'always_invoice',
          });
          expect(r).toEqual({
            ok: false,
            error: { kind: 'currency_mismatch', current: c1, requested: c2 },
          });
        },
      ),
    );
  });
});

describe('first invoice and restart after a pause', () => {
  it('the first invoice is the first period at the price', () => {
    const billing = startBilling(PRO, APRIL);
    const invoice = firstInvoice(billing);
    expect(invoice).toMatchObject({ subtotal: 2000, amountDue: 2000, creditApplied: 0 });
    expect(invoice.lines).toHaveLength(1);
    expect(invoice.lines[0]).toMatchObject({ kind: 'period', periodStart: APRIL });
  });

  it('a restart anchors a new cycle, takes waiting lines and draws on the credit balance', () => {
    const before: BillingState = {
      ...startBilling(PRO, APRIL),
      creditBalance: 500,
      pendingLines: [
        {
          kind: 'remaining_time',
          priceId: 'pro',
          description: 'waiting',
          amount: 300,
          periodStart: APRIL,
          periodEnd: APRIL + DAY,
        },
      ],
    };
    const resumeAt = at('2025-06-15T12:00:00Z');
    const { invoice, next } = restartBilling(before, resumeAt);
    expect(invoice).toMatchObject({ subtotal: 2300, creditApplied: 500, amountDue: 1800 });
    expect(next).toMatchObject({
      anchor: resumeAt,
      period: { start: resumeAt, end: at('2025-07-15T12:00:00Z') },
      creditBalance: 0,
      pendingLines: [],
      inTrial: false,
    });
  });

  it('property: a restart never charges a negative amount and accounts for every minor unit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 2_000_000 }),
        fc.integer({ min: 0, max: 400 * DAY }),
        (amount, credit, offset) => {
          const before = { ...startBilling(price('p', amount), APRIL), creditBalance: credit };
          const { invoice, next } = restartBilling(before, APRIL + offset);
          expect(invoice.amountDue).toBeGreaterThanOrEqual(0);
          expect(Number.isInteger(invoice.amountDue)).toBe(true);
          expect(invoice.amountDue + (credit - next.creditBalance)).toBe(amount);
        },
      ),
    );
  });
});
