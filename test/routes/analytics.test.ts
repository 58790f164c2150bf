/**
 * The analytics API against a small fixed data set written straight into Postgres, every
 * expected figure computed by hand (the comments show the arithmetic).
 *
 * June 2026, us-store (USD, live) — prices: M 1000/month, Y 12000/year (= 1000/month),
 * M2 2500/month, Y2 10000/year (= 833.33/month); eu-store: E 900 EUR/month.
 *   S1  created 05-10, paid 05-10 at M, active; past_due 06-02, recovered 06-04  (targeting k3)
 *   S2  created 05-15, paid 05-15 at Y, cancelled 06-10
 *   S3  created 06-05, paid 06-05 at M, changed to M2 on 06-15 12:00 (SUMMER, targeting k1)
 *   S4  created 06-08, first payment declined: incomplete                (SUMMER, targeting k2)
 *   S5  created 06-09, incomplete_expired
 *   S6  created 06-12, trial to 06-19, paid 06-19 at Y2                   (SPRING, targeting k5)
 *   S7  created 06-13, trial to 06-20, no payment: cancelled 06-20
 *   S8  created 06-20, cancelled while incomplete (never converted: not churn)
 *   S9  test mode, created and paid 06-10 (never in a live answer)
 *   S10 eu-store, created and paid 06-03 at E                             (SUMMER, targeting k6)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bundlePrices,
  bundles,
  customers,
  flagExposures,
  paymentAttempts,
  payments,
  subscriptionEvents,
  subscriptions,
} from '../../src/db/schema';
import { createTenant, type TestTenant, unique, withDb } from '../helpers/factories';
import { expectProblem, json } from '../helpers/http';
import { asOperator, createOperator, type TestOperator } from '../helpers/operators';

let t: TestTenant;
let other: TestTenant;
let owner: TestOperator;
let viewer: TestOperator;
let euOnly: TestOperator;
let outsider: TestOperator;
let us: string;
let eu: string;

const d = (iso: string) => new Date(`2026-${iso}Z`);
const RANGE = 'from=2026-06-01&to=2026-06-30';

beforeAll(async () => {
  t = await createTenant();
  other = await createTenant();
  us = t.storefronts['us-store'] ?? '';
  eu = t.storefronts['eu-store'] ?? '';
  owner = await createOperator(t.tenantId, 'owner');
  viewer = await createOperator(t.tenantId, 'viewer');
  euOnly = await createOperator(t.tenantId, 'viewer', { storefrontIds: [eu] });
  outsider = await createOperator(other.tenantId, 'owner');

  const u = unique();
  const tid = t.tenantId;
  await withDb(async (db) => {
    const b1 = `bun_an1${u}`;
    const b2 = `bun_an2${u}`;
    await db.insert(bundles).values([
      { id: b1, tenantId: tid, slug: `an-basic-${u}`, name: 'Basic' },
      { id: b2, tenantId: tid, slug: `an-pro-${u}`, name: 'Pro' },
    ]);
    const P = {
      M: `price_m${u}`,
      Y: `price_y${u}`,
      M2: `price_m2${u}`,
      Y2: `price_y2${u}`,
      E: `price_e${u}`,
    };
    const price = (
      id: string,
      bundleId: string,
      sf: string,
      currency: string,
      amount: number,
      interval: 'month' | 'year',
    ) => ({ id, tenantId: tid, bundleId, storefrontId: sf, currency, amount, interval });
    await db
      .insert(bundlePrices)
      .values([
        price(P.M, b1, us, 'USD', 1000, 'month'),
        price(P.Y, b1, us, 'USD', 12000, 'year'),
        price(P.M2, b2, us, 'USD', 2500, 'month'),
        price(P.Y2, b2, us, 'USD', 10000, 'year'),
        price(P.E, b1, eu, 'EUR', 900, 'month'),
      ]);
    const sub = (
      n: number,
      o: {
        sf?: string;
        mode?: 'live' | 'test';
        price: string;
        firstPrice?: string | null;
        status: 'active' | 'cancelled' | 'incomplete' | 'incomplete_expired';
        created: string;
        converted?: string;
        paid?: string;
        churned?: string;
        trialEnd?: string;
        campaign?: string;
        key?: string;
      },
    ) => ({
      id: `sub_an${n}x${u}`,
      tenantId: tid,
      storefrontId: o.sf ?? us,
      customerId: `cus_an${n}x${u}`,
      bundleId: o.price === P.M2 || o.price === P.Y2 ? b2 : b1,
      priceId: o.price,
      mode: o.mode ?? 'live',
      status: o.status,
      createdAt: d(o.created),
      convertedAt: o.converted ? d(o.converted) : null,
      firstPaidAt: o.paid ? d(o.paid) : null,
      firstPaidPriceId: o.paid ? (o.firstPrice ?? o.price) : null,
      churnedAt: o.churned ? d(o.churned) : null,
      cancelledAt: o.status === 'cancelled' ? d(o.churned ?? o.created) : null,
      trialEnd: o.trialEnd ? d(o.trialEnd) : null,
      campaign: o.campaign ?? null,
      targetingKey: o.key ? `${o.key}-${u}` : null,
    });
    const subs = [
      sub(1, {
        price: P.M,
        status: 'active',
        created: '05-10T10:00:00',
        converted: '05-10T10:00:00',
        paid: '05-10T10:00:00',
        key: 'k3',
      }),
      sub(2, {
        price: P.Y,
        status: 'cancelled',
        created: '05-15T10:00:00',
        converted: '05-15T10:00:00',
        paid: '05-15T10:00:00',
        churned: '06-10T10:00:00',
      }),
      sub(3, {
        price: P.M2,
        firstPrice: P.M,
        status: 'active',
        created: '06-05T10:00:00',
        converted: '06-05T10:00:00',
        paid: '06-05T10:00:00',
        campaign: 'SUMMER',
        key: 'k1',
      }),
      sub(4, {
        price: P.M,
        status: 'incomplete',
        created: '06-08T10:00:00',
        campaign: 'SUMMER',
        key: 'k2',
      }),
      sub(5, { price: P.M, status: 'incomplete_expired', created: '06-09T10:00:00' }),
      sub(6, {
        price: P.Y2,
        status: 'active',
        created: '06-12T10:00:00',
        converted: '06-12T10:00:00',
        trialEnd: '06-19T10:00:00',
        paid: '06-19T10:00:00',
        campaign: 'SPRING',
        key: 'k5',
      }),
      sub(7, {
        price: P.M,
        status: 'cancelled',
        created: '06-13T10:00:00',
        converted: '06-13T10:00:00',
        trialEnd: '06-20T10:00:00',
        churned: '06-20T10:00:00',
      }),
      sub(8, { price: P.M, status: 'cancelled', created: '06-20T10:00:00' }),
      sub(9, {
        mode: 'test',
        price: P.M,
        status: 'active',
        created: '06-10T10:00:00',
        converted: '06-10T10:00:00',
        paid: '06-10T10:00:00',
      }),
      sub(10, {
        sf: eu,
        price: P.E,
        status: 'active',
        created: '06-03T10:00:00',
        converted: '06-03T10:00:00',
        paid: '06-03T10:00:00',
        campaign: 'SUMMER',
        key: 'k6',
      }),
    ];
    // S8 was cancelled while incomplete: its cancelledAt is set, but it never churned.
    await db.insert(customers).values(
      subs.map((s) => ({
        id: s.customerId,
        tenantId: tid,
        storefrontId: s.storefrontId,
        email: `${s.customerId}@example.test`,
      })),
    );
    await db.insert(subscriptions).values(subs);
    const id = (n: number) => `sub_an${n}x${u}`;
    const ev = (
      n: number,
      seq: number,
      type: string,
      at: string,
      data: Record<string, unknown> = {},
      sf = us,
    ) => ({
      id: `sevt_an${n}x${u}_${seq}`,
      tenantId: tid,
      subscriptionId: id(n),
      storefrontId: sf,
      mode: 'live' as const,
      seq,
      type,
      data,
      occurredAt: d(at),
    });
    await db.insert(subscriptionEvents).values([
      ev(1, 1, 'past_due', '06-02T10:00:00'),
      ev(1, 2, 'recovered', '06-04T10:00:00'),
      ev(3, 1, 'plan_changed', '06-15T12:00:00', {
        from: { priceId: P.M },
        to: { priceId: P.M2 },
      }),
      ev(10, 1, 'past_due', '06-05T10:00:00', {}, eu),
    ]);
    const pay = (
      n: number,
      status: 'succeeded' | 'declined' | 'failed',
      o: { sf?: string; mode?: 'live' | 'test' } = {},
    ) => ({
      id: `pay_an${n}x${u}`,
      tenantId: tid,
      storefrontId: o.sf ?? us,
      mode: o.mode ?? 'live',
      amount: 1000,
      currency: 'USD',
      status,
      idempotencyKey: `an-${n}-${u}`,
      createdAt: d('06-10T10:00:00'),
    });
    await db
      .insert(payments)
      .values([
        pay(1, 'succeeded'),
        pay(2, 'succeeded'),
        pay(3, 'declined'),
        pay(4, 'failed'),
        pay(5, 'succeeded', { sf: eu }),
        pay(6, 'succeeded', { mode: 'test' }),
      ]);
    const att = (
      n: number,
      seq: number,
      provider: string,
      status: string,
      declineClass: string | null = null,
      o: { sf?: string; mode?: 'live' | 'test' } = {},
    ) => ({
      id: `patt_an${n}x${u}_${seq}`,
      tenantId: tid,
      paymentId: `pay_an${n}x${u}`,
      storefrontId: o.sf ?? us,
      mode: o.mode ?? 'live',
      seq,
      provider,
      status,
      declineClass,
      idempotencyKey: `pay_an${n}:${provider}`,
      createdAt: d('06-10T10:00:00'),
    });
    await db
      .insert(paymentAttempts)
      .values([
        att(1, 0, 'stripe', 'captured'),
        att(2, 0, 'stripe', 'declined', 'provider'),
        att(2, 1, 'paypal', 'captured'),
        att(3, 0, 'stripe', 'declined', 'issuer'),
        att(4, 0, 'adyen', 'error'),
        att(5, 0, 'stripe', 'captured', null, { sf: eu }),
        att(6, 0, 'stripe', 'declined', 'issuer', { mode: 'test' }),
      ]);
    const x = (k: string, variant: string, at: string, sf = us, inExperiment = true) => ({
      id: `exp_an${unique()}`,
      tenantId: tid,
      storefrontId: sf,
      flagKey: 'checkout-cta',
      variant,
      reason: 'SPLIT',
      inExperiment,
      targetingKey: `${k}-${u}`,
      occurredAt: d(at),
    });
    await db.insert(flagExposures).values([
      x('k1', 'A', '06-01T10:00:00'),
      x('k1', 'B', '06-02T10:00:00'), // a later exposure: k1 stays in A (its first)
      x('k2', 'A', '06-02T10:00:00'),
      x('k3', 'A', '06-03T10:00:00'), // k3's checkout (S1) was before: no checkout
      x('k4', 'A', '06-04T10:00:00'),
      x('k5', 'B', '06-05T10:00:00'),
      x('k6', 'B', '06-01T10:00:00'), // k6 checks out in eu-store only: no checkout here
      x('k7', 'A', '06-05T10:00:00', us, false), // not in the experiment
      x('k6', 'B', '06-02T10:00:00', eu),
    ]);
  });
});

const get = (op: TestOperator | undefined, path: string) =>
  asOperator(op, 'GET', `/admin/v1/tenants/${t.slug}/analytics/${path}`);

interface SummaryItem {
  storefront: { slug: string };
  checkouts: { started: number; completed: number; conversion: { rate: number | null } };
  subscriptions: {
    new: number;
    churned: number;
    activeAtStart: number;
    activeAtEnd: number;
    churnRate: number | null;
  };
  mrr: { currency: string; opening: number; closing: number }[];
  trials: { ended: number; converted: number; conversion: { rate: number | null } };
  dunning: { pastDue: number; recovered: number };
  payments: { total: number; succeeded: number; successRate: number | null };
}
interface Summary {
  items: SummaryItem[];
  total: {
    mrr: {
      byCurrency: { currency: string; closing: number }[];
      converted: { currency: string; amount: number; ratesDate: string; unconverted: string[] };
    };
  };
}

describe('summary', () => {
  it('counts checkouts, conversion, new / churned / active, MRR, trials, dunning, payments', async () => {
    const res = await get(owner, `summary?${RANGE}&storefront=us-store`);
    expect(res.status, await res.clone().text()).toBe(200);
    const body = await json<Summary>(res);
    expect(body.items).toHaveLength(1);
    const it0 = body.items[0] as SummaryItem;
    // Started in June: S3–S8 = 6; completed S3, S6, S7 = 3.
    expect(it0.checkouts).toMatchObject({ started: 6, completed: 3, conversion: { rate: 0.5 } });
    // Open on June 1: S1, S2. New: S3, S6, S7. Churned: S2 (06-10), S7 (06-20); S8 is not.
    expect(it0.subscriptions).toEqual({
      new: 3,
      churned: 2,
      activeAtStart: 2,
      activeAtEnd: 3,
      churnRate: 0.4, // 2 / (2 + 3)
    });
    // Opening: S1 1000 + S2 12000/12 = 2000. Closing: S1 1000 + S3 2500 + S6 10000/12
    // (833.33) = 4333.33 → 4333.
    expect(it0.mrr).toEqual([{ currency: 'USD', opening: 2000, closing: 4333 }]);
    // Trials ended in June: S6 (paid), S7 (not).
    expect(it0.trials).toMatchObject({ ended: 2, converted: 1, conversion: { rate: 0.5 } });
    expect(it0.dunning).toEqual({ pastDue: 1, recovered: 1 });
    // Payments: 2 of 4 succeeded (the test-mode and the eu-store ones are not here).
    expect(it0.payments).toEqual({ total: 4, succeeded: 2, successRate: 0.5 });
  });

  it('totals per currency, converted at the dated static rate table', async () => {
    const body = await json<Summary>(await get(owner, `summary?${RANGE}`));
    const slugs = body.items.map((i) => i.storefront.slug);
    expect(slugs).toContain('us-store');
    expect(slugs).toContain('eu-store');
    expect(body.total.mrr.byCurrency).toEqual([
      { currency: 'EUR', opening: 0, closing: 900 },
      { currency: 'USD', opening: 2000, closing: 4333 },
    ]);
    // 4333 USD cents + 9.00 EUR × 1.08 = 972 cents → 5305.
    expect(body.total.mrr.converted).toEqual({
      currency: 'USD',
      amount: 5305,
      ratesDate: '2026-12-01',
      unconverted: [],
    });
  });

  it('test mode is its own world', async () => {
    const body = await json<Summary>(
      await get(owner, `summary?${RANGE}&storefront=us-store&mode=test`),
    );
    const it0 = body.items[0] as SummaryItem;
    expect(it0.checkouts).toMatchObject({ started: 1, completed: 1 });
    expect(it0.mrr).toEqual([{ currency: 'USD', opening: 0, closing: 1000 }]);
  });
});

interface SeriesBody {
  unit: string;
  series: { label: string; currency: string | null; points: { start: string; value: number }[] }[];
}
const pointAt = (b: SeriesBody, day: string) =>
  b.series[0]?.points.find((p) => p.start.startsWith(`2026-${day}`))?.value;

describe('time series', () => {
  it('MRR counts the plan in force at each point: a mid-month upgrade moves it that day', async () => {
    const res = await get(owner, `timeseries?${RANGE}&storefront=us-store&metric=mrr&interval=day`);
    expect(res.status, await res.clone().text()).toBe(200);
    const b = await json<SeriesBody>(res);
    expect(b.unit).toBe('minor_units');
    expect(b.series.map((s) => s.currency)).toEqual(['USD']);
    expect(b.series[0]?.points).toHaveLength(30);
    expect(pointAt(b, '06-01')).toBe(2000); // S1 + S2
    expect(pointAt(b, '06-05')).toBe(3000); // + S3 at M
    expect(pointAt(b, '06-10')).toBe(2000); // − S2 (churned)
    expect(pointAt(b, '06-14')).toBe(2000); // S3 still at M
    expect(pointAt(b, '06-15')).toBe(3500); // S3 at M2 from 06-15 12:00: + 1500
    expect(pointAt(b, '06-19')).toBe(4333); // + S6 paid after its trial (833.33)
    expect(pointAt(b, '06-30')).toBe(4333); // S7 never paid: its churn moves nothing
  });

  it('monthly buckets: the stock at each month’s end', async () => {
    const b = await json<SeriesBody>(
      await get(
        owner,
        `timeseries?from=2026-05-01&to=2026-06-30&storefront=us-store&metric=mrr&interval=month`,
      ),
    );
    expect(b.series[0]?.points.map((p) => p.value)).toEqual([2000, 4333]);
  });

  it('active, new and churned subscriptions per week', async () => {
    const q = `from=2026-06-01&to=2026-06-28&storefront=us-store&interval=week`;
    const active = await json<SeriesBody>(
      await get(owner, `timeseries?${q}&metric=active_subscriptions`),
    );
    // Weeks from Mon 06-01: [06-01..07] S3 in → 3; [06-08..14] S2 out, S6, S7 in → 4;
    // [06-15..21] S7 out → 3; [06-22..28] → 3.
    expect(active.series[0]?.points.map((p) => p.value)).toEqual([3, 4, 3, 3]);
    const fresh = await json<SeriesBody>(
      await get(owner, `timeseries?${q}&metric=new_subscriptions`),
    );
    expect(fresh.series[0]?.points.map((p) => p.value)).toEqual([1, 2, 0, 0]);
    const churned = await json<SeriesBody>(
      await get(owner, `timeseries?${q}&metric=churned_subscriptions`),
    );
    expect(churned.series[0]?.points.map((p) => p.value)).toEqual([0, 1, 1, 0]);
    const started = await json<SeriesBody>(
      await get(owner, `timeseries?${q}&metric=checkouts_started`),
    );
    expect(started.series[0]?.points.map((p) => p.value)).toEqual([1, 4, 1, 0]);
  });

  it('draws a chart as SVG with its title', async () => {
    const res = await get(owner, `charts/mrr.svg?${RANGE}&storefront=us-store&interval=week`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    const svg = await res.text();
    expect(svg).toMatch(/^<svg[^>]+viewBox="0 0 640 320"/);
    expect(svg).toContain('<title id="chart-title">MRR — US Store</title>');
    expect(svg).toContain('43.33 USD');
  });
});

interface Provider {
  provider: string;
  attempts: number;
  captured: number;
  declined: number;
  errors: number;
  successRate: { rate: number | null };
  declineClasses: { declineClass: string; attempts: number }[];
}

describe('payments', () => {
  it('success rate by provider and decline class', async () => {
    const res = await get(owner, `payments?${RANGE}&storefront=us-store`);
    expect(res.status).toBe(200);
    const b = await json<{ providers: Provider[] }>(res);
    const by = Object.fromEntries(b.providers.map((p) => [p.provider, p]));
    expect(Object.keys(by).sort()).toEqual(['adyen', 'paypal', 'stripe']);
    expect(by.stripe).toMatchObject({ attempts: 3, captured: 1, declined: 2, errors: 0 });
    expect(by.stripe?.successRate.rate).toBeCloseTo(1 / 3, 6);
    expect(by.stripe?.declineClasses).toEqual([
      { declineClass: 'issuer', attempts: 1, share: 0.333333 },
      { declineClass: 'provider', attempts: 1, share: 0.333333 },
    ]);
    expect(by.paypal).toMatchObject({ attempts: 1, captured: 1, successRate: { rate: 1 } });
    expect(by.adyen).toMatchObject({ attempts: 1, errors: 1, successRate: { rate: 0 } });
  });
});

interface Experiment {
  storefront: { slug: string };
  flagKey: string;
  variants: {
    variant: string;
    exposed: number;
    checkoutsStarted: number;
    checkoutsCompleted: number;
    conversion: { rate: number; ci95: [number, number] };
  }[];
}

describe('experiments', () => {
  it('per variant: exposures, checkouts after exposure, conversion with a Wilson 95 % interval', async () => {
    const res = await get(owner, `experiments?${RANGE}&storefront=us-store`);
    expect(res.status).toBe(200);
    const b = await json<{ method: string; items: Experiment[] }>(res);
    expect(b.method).toBe('wilson_score_95');
    expect(b.items).toHaveLength(1);
    const [A, B] = b.items[0]?.variants ?? [];
    // A: k1, k2, k3, k4 (k7 is not in the experiment); k1 completed, k2 started only.
    expect(A).toMatchObject({
      variant: 'A',
      exposed: 4,
      checkoutsStarted: 2,
      checkoutsCompleted: 1,
    });
    // Wilson 1/4: centre (0.25 + 1.96²/8) / (1 + 1.96²/4), ± 1.96·√(0.25·0.75/4 + 1.96²/64) / …
    expect(A?.conversion.rate).toBe(0.25);
    expect(A?.conversion.ci95[0]).toBeCloseTo(0.04559, 4);
    expect(A?.conversion.ci95[1]).toBeCloseTo(0.69936, 4);
    // B: k5 (completed) and k6 — whose checkout is in eu-store, so not counted here.
    expect(B).toMatchObject({
      variant: 'B',
      exposed: 2,
      checkoutsStarted: 1,
      checkoutsCompleted: 1,
    });
    expect(B?.conversion.ci95[0]).toBeCloseTo(0.09453, 4);
    expect(B?.conversion.ci95[1]).toBeCloseTo(0.90547, 4);
  });

  it('a key counts at its first exposure in the range, not before it', async () => {
    // From 06-02: k1's first exposure in the range is B (06-02), k6's us-store one (06-01) is
    // out. A: k2 (S4 at 06-08 started, incomplete), k3 (S1 was before), k4 (none) — 3, 1, 0.
    // B: k1 (S3 at 06-05, paid) and k5 (S6 at 06-12, trial) — 2, 2, 2.
    const b = await json<{ items: Experiment[] }>(
      await get(owner, 'experiments?from=2026-06-02&to=2026-06-30&storefront=us-store'),
    );
    expect(b.items[0]?.variants).toEqual([
      expect.objectContaining({
        variant: 'A',
        exposed: 3,
        checkoutsStarted: 1,
        checkoutsCompleted: 0,
      }),
      expect.objectContaining({
        variant: 'B',
        exposed: 2,
        checkoutsStarted: 2,
        checkoutsCompleted: 2,
      }),
    ]);
  });

  it('one storefront’s experiment never counts another’s traffic', async () => {
    const b = await json<{ items: Experiment[] }>(await get(owner, `experiments?${RANGE}`));
    const euExp = b.items.find((i) => i.storefront.slug === 'eu-store');
    expect(euExp?.variants).toEqual([
      expect.objectContaining({
        variant: 'B',
        exposed: 1,
        checkoutsStarted: 1,
        checkoutsCompleted: 1,
      }),
    ]);
    const usExp = b.items.find((i) => i.storefront.slug === 'us-store');
    expect(usExp?.variants.map((v) => v.exposed)).toEqual([4, 2]);
  });
});

describe('campaigns', () => {
  it('the counters by campaign code', async () => {
    const res = await get(owner, `campaigns?${RANGE}&storefront=us-store`);
    expect(res.status).toBe(200);
    const b = await json<{
      items: {
        campaign: string | null;
        checkouts: { started: number; completed: number };
        paid: number;
        churned: number;
        newMrr: { currency: string; amount: number }[];
      }[];
    }>(res);
    const by = Object.fromEntries(b.items.map((i) => [String(i.campaign), i]));
    expect(by.SUMMER).toMatchObject({
      checkouts: { started: 2, completed: 1 },
      paid: 1,
      churned: 0,
    });
    expect(by.SUMMER?.newMrr).toEqual([{ currency: 'USD', amount: 1000 }]); // S3 started at M
    expect(by.SPRING?.newMrr).toEqual([{ currency: 'USD', amount: 833 }]);
    // Without a code: S5, S7, S8 — S7 completed (a trial) and churned.
    expect(by.null).toMatchObject({ checkouts: { started: 3, completed: 1 }, paid: 0, churned: 1 });
    const only = await json<{ items: unknown[] }>(
      await get(owner, `campaigns?${RANGE}&storefront=us-store&campaign=SPRING`),
    );
    expect(only.items).toHaveLength(1);
  });
});

describe('access', () => {
  it('a viewer reads analytics', async () => {
    expect((await get(viewer, `summary?${RANGE}`)).status).toBe(200);
  });

  it('a storefront-scoped operator sees only their storefronts', async () => {
    const body = await json<Summary>(await get(euOnly, `summary?${RANGE}`));
    expect(body.items.map((i) => i.storefront.slug)).toEqual(['eu-store']);
    expect(body.total.mrr.byCurrency.map((c) => c.currency)).toEqual(['EUR']);
    const exps = await json<{ items: Experiment[] }>(await get(euOnly, `experiments?${RANGE}`));
    expect(exps.items.map((i) => i.storefront.slug)).toEqual(['eu-store']);
    await expectProblem(
      await get(euOnly, `summary?${RANGE}&storefront=us-store`),
      403,
      'forbidden',
    );
    await expectProblem(
      await get(euOnly, `payments?${RANGE}&storefront=us-store`),
      403,
      'forbidden',
    );
  });

  it('another tenant’s operator, or an unknown storefront, gets a 404', async () => {
    await expectProblem(await get(outsider, `summary?${RANGE}`), 404, 'not_found');
    await expectProblem(await get(owner, `summary?${RANGE}&storefront=nope`), 404, 'not_found');
    // The other tenant's storefront by id is not this tenant's.
    const foreign = other.storefronts['us-store'] ?? '';
    await expectProblem(
      await get(owner, `summary?${RANGE}&storefront=${foreign}`),
      404,
      'not_found',
    );
  });

  it('needs a session', async () => {
    await expectProblem(await get(undefined, `summary?${RANGE}`), 401, 'unauthenticated');
  });

  it('the channel filter keeps only that channel’s storefronts', async () => {
    const body = await json<Summary>(await get(owner, `summary?${RANGE}&channel=partner`));
    expect(body.items).toEqual([]);
  });
});

describe('bad parameters are a 400 problem', () => {
  const cases: [string, string][] = [
    ['not a date', 'summary?from=2026-13-01&to=2026-06-30'],
    ['not a calendar date', 'summary?from=2026-02-30&to=2026-06-30'],
    ['to before from', 'summary?from=2026-06-30&to=2026-06-01'],
    ['more than 366 days', 'summary?from=2025-01-01&to=2026-06-30'],
    ['only from, too far back', 'summary?from=2020-01-01'],
    ['unknown mode', `summary?${RANGE}&mode=prod`],
    ['unknown channel', `summary?${RANGE}&channel=fax`],
    ['a control character in storefront', `summary?${RANGE}&storefront=us%00store`],
    ['unknown interval', `timeseries?${RANGE}&metric=mrr&interval=hour`],
    ['unknown metric', `timeseries?${RANGE}&metric=revenue`],
    ['an empty metric', `timeseries?${RANGE}&metric=`],
    ['bad campaign code', `campaigns?${RANGE}&campaign=%3Cscript%3E`],
    ['bad flag key', `experiments?${RANGE}&flag=a%20b`],
  ];
  for (const [name, path] of cases) {
    it(name, async () => {
      await expectProblem(await get(owner, path), 400, 'validation_failed');
    });
  }

  it('an unknown chart is a 400 too', async () => {
    await expectProblem(await get(owner, `charts/revenue.svg?${RANGE}`), 400, 'validation_failed');
  });
});
