/**
 * The analytics facts a subscription's object folds from its events and copies to Postgres
 * (converted, first paid and its price, churned), and the storefront / mode / time beside each
 * payment attempt — through real checkouts on a test clock, then read back by the analytics API.
 */
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { paymentAttempts, payments, subscriptions } from '../../src/db/schema';
import {
  createTenant,
  globalcorpLikeSpec,
  publish,
  type TestTenant,
  unique,
  withDb,
} from '../helpers/factories';
import { call, json } from '../helpers/http';
import { asOperator, createOperator, type TestOperator } from '../helpers/operators';
import { CARD_DECLINED, CARD_OK, drainPayment, drainSubscription } from '../helpers/subscriptions';

let t: TestTenant;
let owner: TestOperator;
let host: string;
let sk: string;
let pk: string;

beforeAll(async () => {
  const base = globalcorpLikeSpec();
  t = await createTenant({
    ...base,
    bundles: [
      ...(base.bundles ?? []),
      {
        slug: 'yearly-plan',
        name: 'Yearly',
        entitlements: [],
        prices: [{ storefront: 'us-store', amount: 24000, interval: 'year' }],
      },
    ],
  });
  host = t.hosts['us-store'] ?? '';
  sk = t.keys['us-store']?.secret ?? '';
  pk = t.keys['us-store']?.publishable ?? '';
  owner = await createOperator(t.tenantId, 'owner');
  await publish();
});

const post = (path: string, body: unknown) => call(host, path, { method: 'POST', key: sk, body });

async function card(number: string): Promise<string> {
  const res = await call(host, '/v1/payment-methods', {
    method: 'POST',
    key: pk,
    body: { type: 'card', card: { number, expMonth: 12, expYear: 2031, cvc: '123' } },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await json<{ id: string }>(res)).id;
}

async function clock(at: string): Promise<string> {
  const res = await post('/v1/test-clocks', { frozenTime: at });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await json<{ id: string }>(res)).id;
}

async function buy(at: string, body: Record<string, unknown>, number = CARD_OK) {
  const clockId = await clock(at);
  const res = await post('/v1/checkout', {
    customer: { email: `facts-${unique()}@example.test` },
    paymentMethodId: await card(number),
    testClockId: clockId,
    ...body,
  });
  expect([201, 402], await res.clone().text()).toContain(res.status);
  const b = await json<{ subscription: { id: string }; payment: { id: string } | null }>(res);
  return { clockId, id: b.subscription.id, paymentId: b.payment?.id ?? null };
}

async function row(id: string) {
  expect((await drainSubscription(id)).copied).toBe(true);
  const [r] = await withDb((db) => db.select().from(subscriptions).where(eq(subscriptions.id, id)));
  if (!r) throw new Error(`no row ${id}`);
  return r;
}

describe('the facts each subscription copies to Postgres', () => {
  it('a paid checkout converts and is first paid at once, at its price', async () => {
    const { id, paymentId } = await buy('2027-06-03T10:00:00Z', {
      bundleId: 'yearly-plan',
      campaign: 'LAUNCH',
      targetingKey: 'visitor-1',
    });
    const r = await row(id);
    expect(r.status).toBe('active');
    expect(r.convertedAt?.toISOString()).toBe('2027-06-03T10:00:00.000Z');
    expect(r.firstPaidAt?.toISOString()).toBe('2027-06-03T10:00:00.000Z');
    expect(r.firstPaidPriceId).toBe(r.priceId);
    expect(r.churnedAt).toBeNull();
    expect(r.campaign).toBe('LAUNCH');
    // Its payment's attempts carry the storefront, the mode and the payment's time.
    expect(await drainPayment(paymentId ?? '')).toBe(true);
    const [p] = await withDb((db) =>
      db
        .select()
        .from(payments)
        .where(eq(payments.id, paymentId ?? '')),
    );
    const attempts = await withDb((db) =>
      db
        .select()
        .from(paymentAttempts)
        .where(eq(paymentAttempts.paymentId, paymentId ?? '')),
    );
    expect(attempts.length).toBeGreaterThan(0);
    for (const a of attempts) {
      expect(a.storefrontId).toBe(t.storefronts['us-store']);
      expect(a.mode).toBe('test');
      expect(a.createdAt.toISOString()).toBe(p?.createdAt.toISOString());
    }
  });

  it('a declined first payment is a checkout started, not completed', async () => {
    const { id } = await buy('2027-06-04T10:00:00Z', { bundleId: 'pro-plan' }, CARD_DECLINED);
    const r = await row(id);
    expect(r.status).toBe('incomplete');
    expect(r.convertedAt).toBeNull();
    expect(r.firstPaidAt).toBeNull();
  });

  it('a trial converts at its start, is first paid at its end, and churns when cancelled', async () => {
    const { clockId, id } = await buy('2027-06-05T10:00:00Z', {
      bundleId: 'pro-plan',
      trialDays: 7,
    });
    let r = await row(id);
    expect(r.status).toBe('trialing');
    expect(r.convertedAt?.toISOString()).toBe('2027-06-05T10:00:00.000Z');
    expect(r.firstPaidAt).toBeNull();
    const adv = await post(`/v1/test-clocks/${clockId}/advance`, { to: '2027-06-13T00:00:00Z' });
    expect(adv.status, await adv.clone().text()).toBe(200);
    r = await row(id);
    expect(r.status).toBe('active');
    expect(r.firstPaidAt?.toISOString()).toBe('2027-06-12T10:00:00.000Z');
    const cancel = await post(`/v1/subscriptions/${id}/cancel`, { atPeriodEnd: false });
    expect(cancel.status, await cancel.clone().text()).toBe(200);
    r = await row(id);
    expect(r.status).toBe('cancelled');
    expect(r.churnedAt?.toISOString()).toBe('2027-06-13T00:00:00.000Z');
  });

  it('the analytics API counts them (test mode)', async () => {
    const res = await asOperator(
      owner,
      'GET',
      `/admin/v1/tenants/${t.slug}/analytics/summary?from=2027-06-01&to=2027-06-30&mode=test&storefront=us-store`,
    );
    expect(res.status, await res.clone().text()).toBe(200);
    const body = await json<{
      items: {
        checkouts: { started: number; completed: number };
        subscriptions: { new: number; churned: number; activeAtEnd: number };
        mrr: { currency: string; closing: number }[];
        trials: { ended: number; converted: number };
      }[];
    }>(res);
    const s = body.items[0];
    expect(s?.checkouts).toEqual({ started: 3, completed: 2, conversion: expect.anything() });
    expect(s?.subscriptions).toMatchObject({ new: 2, churned: 1, activeAtEnd: 1 });
    // The yearly plan: 24000 / 12 = 2000 a month; the trial churned.
    expect(s?.mrr).toEqual([{ currency: 'USD', opening: 0, closing: 2000 }]);
    expect(s?.trials).toMatchObject({ ended: 1, converted: 1 });
  });
});
