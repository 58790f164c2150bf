/**
 * Refunds of a subscription's payments through the worker (`POST /v1/payments/{id}/refunds`,
 * sandbox providers, real Postgres): a full refund of the payment that paid the current period
 * ends the subscription now (reason `refunded`) and the customer's entitlements with it; a
 * partial refund, a refund of an older period's payment, or the storefront's
 * `subscriptions.refundEndsAccess` off keep access, with the refund recorded; partial refunds
 * that add up to the whole count as full; a replayed refund counts once; another tenant cannot
 * refund.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { subscriptionEvents, subscriptions } from '../../src/db/schema';
import { sandboxWebhook } from '../../src/payments/sandbox';
import {
  createTenant,
  globalcorpLikeSpec,
  publish,
  type TestTenant,
  withDb,
} from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import { asOperator, createOperator } from '../helpers/operators';
import {
  advanceClock,
  buyerEmail,
  createClock,
  drainSubscription,
  getSub,
  paymentStub,
  rewriteRecord,
  type Shop,
  type SubEvent,
  subEvents,
  subPayments,
  tokenize,
} from '../helpers/subscriptions';

interface Check {
  allowed: boolean;
  reason: string;
}

let t: TestTenant;
let shop: Shop;
/** The same tenant's eu-store, with `subscriptions.refundEndsAccess: false`. */
let keepShop: Shop;
let other: Shop;

const shopOf = (tenant: TestTenant, slug: string): Shop => ({
  host: tenant.hosts[slug] ?? '',
  sk: tenant.keys[slug]?.secret ?? '',
  pk: tenant.keys[slug]?.publishable ?? '',
  tenantId: tenant.tenantId,
});

beforeAll(async () => {
  const base = globalcorpLikeSpec();
  t = await createTenant({
    ...base,
    // The eu-store routes as the us-store does, and keeps access after a refund.
    storefronts: base.storefronts.map((sf, _i, all) =>
      sf.slug === 'eu-store'
        ? {
            ...sf,
            paymentRouting: all.find((s) => s.slug === 'us-store')?.paymentRouting,
            subscriptions: { refundEndsAccess: false },
          }
        : sf,
    ),
    entitlements: [
      ...(base.entitlements ?? []),
      { key: 'dash', name: 'Dashboard', type: 'feature' },
    ],
    bundles: [
      ...(base.bundles ?? []),
      {
        slug: 'ref-basic',
        name: 'Basic',
        entitlements: [{ key: 'dash', value: { enabled: true } }],
        prices: [
          { storefront: 'us-store', amount: 900 },
          { storefront: 'eu-store', amount: 800 },
        ],
      },
    ],
  });
  shop = shopOf(t, 'us-store');
  keepShop = shopOf(t, 'eu-store');
  other = shopOf(await createTenant(), 'us-store');
  await publish();
});

function refund(
  s: Shop,
  paymentId: string,
  body: Record<string, unknown> = {},
  idem = crypto.randomUUID(),
): Promise<Response> {
  return call(s.host, `/v1/payments/${paymentId}/refunds`, {
    method: 'POST',
    key: s.sk,
    body,
    headers: { 'idempotency-key': idem },
  });
}

async function refunded(s: Shop, paymentId: string, body: Record<string, unknown> = {}) {
  const res = await refund(s, paymentId, body);
  expect(res.status, await res.clone().text()).toBe(201);
  return json<{ refund: { id: string; amount: number }; payment: { amountRefunded: number } }>(res);
}

async function check(s: Shop, customerId: string, key = 'dash'): Promise<Check> {
  const res = await call(s.host, '/v1/entitlements/check', {
    method: 'POST',
    key: s.sk,
    body: { customerId, key },
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return json<Check>(res);
}

/** A checkout (on a test clock when `clockAt`): the subscription and its first payment. */
async function bought(s: Shop, clockAt?: string, customer: Record<string, unknown> = {}) {
  const testClockId = clockAt ? await createClock(s, clockAt) : undefined;
  const res = await call(s.host, '/v1/checkout', {
    method: 'POST',
    key: s.sk,
    body: {
      bundleId: 'ref-basic',
      paymentMethodId: await tokenize(s),
      ...(Object.keys(customer).length ? customer : { customer: { email: buyerEmail() } }),
      ...(testClockId ? { testClockId } : {}),
    },
    headers: { 'idempotency-key': crypto.randomUUID() },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const body = await json<{
    subscription: { id: string; customerId: string; status: string };
    payment: { id: string; amount: number };
  }>(res);
  return { ...body, testClockId };
}

const ofType = (events: SubEvent[], type: string) => events.filter((e) => e.type === type);

describe('a full refund of the current period’s payment', () => {
  it('ends the subscription now (reason refunded); entitlements lose it at once; Postgres gets it', async () => {
    // A customer with a token of their own (GET /v1/entitlements).
    const created = await call(shop.host, '/v1/customers', {
      method: 'POST',
      key: shop.sk,
      body: { email: buyerEmail() },
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const customerId = (await json<{ customer: { id: string } }>(created)).customer.id;
    const issued = await call(shop.host, `/v1/customers/${customerId}/tokens`, {
      method: 'POST',
      key: shop.sk,
    });
    expect(issued.status, await issued.clone().text()).toBe(201);
    const token = (await json<{ token: string }>(issued)).token;
    await publish(); // the tenant's signing key reaches the edge

    const { subscription: sub, payment } = await bought(shop, undefined, { customerId });
    expect((await check(shop, customerId)).allowed).toBe(true);

    const idem = crypto.randomUUID();
    const res = await refund(shop, payment.id, { reason: 'asked for it' }, idem);
    expect(res.status, await res.clone().text()).toBe(201);
    const first = await json<{ refund: { id: string; amount: number } }>(res);
    expect(first.refund.amount).toBe(payment.amount);

    // No wait, no retry: the first reads after the refund's 201.
    const after = await getSub(shop, sub.id);
    expect(after.status).toBe('cancelled');
    expect((after as unknown as { cancelledAt: string | null }).cancelledAt).not.toBeNull();
    expect(await check(shop, customerId)).toMatchObject({ allowed: false, reason: 'inactive' });
    const list = await call(shop.host, '/v1/entitlements', { key: token });
    expect(list.status, await list.clone().text()).toBe(200);
    const dash = (
      await json<{ entitlements: { key: string; active: boolean }[] }>(list)
    ).entitlements.find((e) => e.key === 'dash');
    expect(dash?.active).toBe(false);

    const events = await subEvents(shop, sub.id);
    expect(ofType(events, 'payment_refunded').map((e) => e.data)).toEqual([
      {
        paymentId: payment.id,
        refundId: first.refund.id,
        amount: payment.amount,
        currency: 'USD',
        refundedAmount: payment.amount,
        full: true,
        currentPeriod: true,
      },
    ]);
    expect(ofType(events, 'cancelled').map((e) => e.data)).toEqual([
      { atPeriodEnd: false, reason: 'refunded', paymentId: payment.id },
    ]);
    const [listed] = await subPayments(shop, sub.id);
    expect(listed).toMatchObject({ id: payment.id, amountRefunded: payment.amount });

    // A replay of the refund call: the first refund, counted once.
    const again = await refund(shop, payment.id, { reason: 'asked for it' }, idem);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await json<{ refund: { id: string } }>(again)).refund.id).toBe(first.refund.id);
    expect(await subEvents(shop, sub.id)).toHaveLength(events.length);
    // Nothing left to refund.
    await expectProblem(await refund(shop, payment.id), 400, 'validation_failed');

    // The copy: the row is cancelled, the events are there.
    expect((await drainSubscription(sub.id)).copied).toBe(true);
    const [row] = await withDb((db) =>
      db.select().from(subscriptions).where(eq(subscriptions.id, sub.id)),
    );
    expect(row?.status).toBe('cancelled');
    expect(row?.cancelledAt).not.toBeNull();
    const copied = await withDb((db) =>
      db.select().from(subscriptionEvents).where(eq(subscriptionEvents.subscriptionId, sub.id)),
    );
    expect(copied.map((e) => e.type)).toEqual(events.map((e) => e.type));
  });

  it('two partial refunds: the first keeps access; the one that reaches the whole ends it', async () => {
    const { subscription: sub, payment } = await bought(shop);
    const half = Math.floor(payment.amount / 2);
    await refunded(shop, payment.id, { amount: half });
    expect((await getSub(shop, sub.id)).status).toBe('active');
    expect((await check(shop, sub.customerId)).allowed).toBe(true);
    const one = ofType(await subEvents(shop, sub.id), 'payment_refunded');
    expect(one.map((e) => e.data)).toMatchObject([
      { amount: half, refundedAmount: half, full: false, currentPeriod: true },
    ]);

    await refunded(shop, payment.id, { amount: payment.amount - half });
    expect((await getSub(shop, sub.id)).status).toBe('cancelled');
    expect(await check(shop, sub.customerId)).toMatchObject({ allowed: false, reason: 'inactive' });
    const events = await subEvents(shop, sub.id);
    expect(ofType(events, 'payment_refunded').map((e) => e.data)).toMatchObject([
      { amount: half, refundedAmount: half, full: false },
      { amount: payment.amount - half, refundedAmount: payment.amount, full: true },
    ]);
    expect(ofType(events, 'cancelled').map((e) => e.data.reason)).toEqual(['refunded']);
  });

  it('with the storefront’s refundEndsAccess off: access stays, the refund is recorded', async () => {
    const { subscription: sub, payment } = await bought(keepShop);
    await refunded(keepShop, payment.id);
    expect((await getSub(keepShop, sub.id)).status).toBe('active');
    expect(await check(keepShop, sub.customerId)).toMatchObject({
      allowed: true,
      reason: 'active',
    });
    const events = await subEvents(keepShop, sub.id);
    expect(ofType(events, 'payment_refunded').map((e) => e.data)).toMatchObject([
      { paymentId: payment.id, amount: 800, currency: 'EUR', full: true, currentPeriod: true },
    ]);
    expect(ofType(events, 'cancelled')).toEqual([]);
  });
});

describe('what keeps access', () => {
  it('a refund of the previous period’s payment after a renewal; the renewal’s refund ends it', async () => {
    const { subscription: sub, payment, testClockId } = await bought(shop, '2027-04-01T00:00:00Z');
    const advanced = await advanceClock(shop, testClockId ?? '', '2027-05-01T01:00:00Z');
    expect(advanced.status, await advanced.clone().text()).toBe(200);
    const payments = await subPayments(shop, sub.id);
    const renewal = payments.find((p) => p.purpose === 'renewal');
    expect(renewal?.status).toBe('succeeded');

    await refunded(shop, payment.id); // April's, in full
    expect((await getSub(shop, sub.id)).status).toBe('active');
    expect((await check(shop, sub.customerId)).allowed).toBe(true);
    const events = await subEvents(shop, sub.id);
    expect(ofType(events, 'payment_refunded').map((e) => e.data)).toMatchObject([
      { paymentId: payment.id, full: true, currentPeriod: false },
    ]);
    // Refunded at the clock's time.
    expect(ofType(events, 'payment_refunded')[0]?.occurredAt).toBe('2027-05-01T01:00:00.000Z');

    await refunded(shop, renewal?.id ?? ''); // May's: the current period's
    expect((await getSub(shop, sub.id)).status).toBe('cancelled');
    expect((await check(shop, sub.customerId)).allowed).toBe(false);
  });

  it('while a renewal’s outcome is unknown the notice waits; once it captured, the old period’s refund keeps access', async () => {
    const admin = await createOperator(t.tenantId, 'admin');
    const outage = async (body: Record<string, unknown>) => {
      const res = await asOperator(
        admin,
        'PUT',
        `/admin/v1/tenants/${t.slug}/sandbox/providers/stripe`,
        { reason: 'refund drill', ...body },
      );
      expect(res.status, await res.clone().text()).toBe(200);
    };
    const { subscription: sub, payment, testClockId } = await bought(shop, '2027-06-01T00:00:00Z');
    const clockId = testClockId ?? '';
    // The renewal times out at Stripe (captured there), and Stripe cannot be asked: pending.
    await outage({ mode: 'timeout', captureBeforeTimeout: true, lookups: 'error' });
    try {
      const res = await advanceClock(shop, clockId, '2027-07-01T00:00:30Z');
      expect(res.status, await res.clone().text()).toBe(200);
    } finally {
      await outage({ mode: 'ok' });
    }
    expect(ofType(await subEvents(shop, sub.id), 'payment_pending')).toHaveLength(1);
    // June's payment, still the period's on record, is refunded in full: not applied yet.
    await refunded(shop, payment.id);
    expect((await getSub(shop, sub.id)).status).toBe('active');
    expect(ofType(await subEvents(shop, sub.id), 'payment_refunded')).toEqual([]);
    // The renewal is asked again and captured: July is paid by it.
    const settled = await advanceClock(shop, clockId, '2027-07-01T00:02:00Z');
    expect(settled.status, await settled.clone().text()).toBe(200);
    await runDurableObjectAlarm(paymentStub(payment.id)); // the notice, told again
    const events = await subEvents(shop, sub.id);
    expect(ofType(events, 'renewed')).toHaveLength(1);
    expect(ofType(events, 'payment_refunded').map((e) => e.data)).toMatchObject([
      { paymentId: payment.id, full: true, currentPeriod: false },
    ]);
    expect((await getSub(shop, sub.id)).status).toBe('active');
    expect((await check(shop, sub.customerId)).allowed).toBe(true);
  });

  it('a first payment captured too late is refunded by the subscription itself: one event, its notice a duplicate', async () => {
    const { subscription: sub, payment } = await bought(shop, '2027-09-01T00:00:00Z');
    const clockId = (await getSub(shop, sub.id)).testClockId ?? '';
    // As if the first payment's outcome had stayed unknown for the 23 hours an incomplete
    // subscription has (a provider timed out and could not be asked), then been captured.
    await rewriteRecord(sub.id, (r) => {
      r.lifecycle = { ...r.lifecycle, status: 'incomplete', periodEnd: null };
      r.openInvoice = { key: 'initial', amountDue: payment.amount, currency: 'USD', lines: [] };
      r.periodPaymentId = null;
      r.pendingCharge = {
        type: 'initial',
        key: 'initial',
        n: '0',
        purpose: 'checkout',
        retryAt: r.createdAt + 23 * 3_600 + 60,
        tries: 5,
      };
    });
    const late = await advanceClock(shop, clockId, '2027-09-02T01:00:00Z');
    expect(late.status, await late.clone().text()).toBe(200);
    expect((await getSub(shop, sub.id)).status).toBe('incomplete_expired');
    const refundedEvents = () =>
      subEvents(shop, sub.id).then((events) => ofType(events, 'payment_refunded'));
    expect((await refundedEvents()).map((e) => e.data)).toEqual([
      { paymentId: payment.id, reason: 'incomplete_expired', ok: true },
    ]);
    // The payment object's notice (by its alarm: the refund did not wait for the subscription,
    // which was waiting for it) finds the refund known.
    await runDurableObjectAlarm(paymentStub(payment.id));
    const cursor = await runInDurableObject(paymentStub(payment.id), (_i, state) =>
      state.storage.get<number>('subscriptionNotified'),
    );
    expect(cursor).toBe(payment.amount);
    expect(await refundedEvents()).toHaveLength(1);
    const [listed] = await subPayments(shop, sub.id);
    expect(listed).toMatchObject({ id: payment.id, amountRefunded: payment.amount });
  });

  it('another tenant cannot refund the payment (404), and nothing changes', async () => {
    const { subscription: sub, payment } = await bought(shop);
    await expectProblem(await refund(other, payment.id), 404, 'not_found');
    expect((await getSub(shop, sub.id)).status).toBe('active');
    expect(ofType(await subEvents(shop, sub.id), 'payment_refunded')).toEqual([]);
  });

  it('a cancel-now subscription refunded afterwards stays cancelled (cancel-now’s reason kept)', async () => {
    const { subscription: sub, payment } = await bought(shop);
    const cancel = await call(shop.host, `/v1/subscriptions/${sub.id}/cancel`, {
      method: 'POST',
      key: shop.sk,
      body: { atPeriodEnd: false },
    });
    expect(cancel.status, await cancel.clone().text()).toBe(200);
    await refunded(shop, payment.id);
    const events = await subEvents(shop, sub.id);
    expect(ofType(events, 'cancelled').map((e) => e.data)).toEqual([{ atPeriodEnd: false }]);
    expect(ofType(events, 'payment_refunded').map((e) => e.data.full)).toEqual([true]);
  });
});

describe('a refund made at the provider (its webhook)', () => {
  it('ends the subscription as a refund made here does; the redelivered event changes nothing', async () => {
    const { subscription: sub, payment } = await bought(shop);
    const admin = await createOperator(t.tenantId, 'admin');
    const got = await asOperator(
      admin,
      'GET',
      `/admin/v1/tenants/${t.slug}/sandbox/providers/stripe`,
    );
    expect(got.status, await got.clone().text()).toBe(200);
    const { secret } = (await json<{ webhook: { secret: string } }>(got)).webhook;
    const stripe = env.SANDBOX_PROVIDER.get(
      env.SANDBOX_PROVIDER.idFromName(`${t.tenantId}:stripe`),
    );
    const charge = (
      (await stripe.captures()) as { reference?: string; providerChargeId: string }[]
    ).find((c) => c.reference === payment.id);
    expect(charge).toBeDefined();
    const deliver = async () => {
      const signed = await sandboxWebhook(
        secret,
        {
          id: `evt_dashboard_${payment.id}`,
          type: 'charge.refunded',
          providerChargeId: charge?.providerChargeId ?? '',
          amount: payment.amount,
          providerRefundId: `re_dashboard_${payment.id}`,
          reference: payment.id,
        },
        Date.now(),
      );
      return call(shop.host, `/webhooks/test/${t.tenantId}/stripe`, {
        method: 'POST',
        key: null,
        headers: signed.headers,
        body: signed.body,
      });
    };
    const first = await deliver();
    expect(await json(first)).toMatchObject({ effect: 'applied', paymentId: payment.id });
    expect((await getSub(shop, sub.id)).status).toBe('cancelled');
    expect((await check(shop, sub.customerId)).allowed).toBe(false);
    const events = await subEvents(shop, sub.id);
    expect(ofType(events, 'payment_refunded').map((e) => e.data)).toMatchObject([
      { paymentId: payment.id, amount: payment.amount, full: true, currentPeriod: true },
    ]);
    expect(await json(await deliver())).toMatchObject({ effect: 'duplicate' });
    expect(await subEvents(shop, sub.id)).toHaveLength(events.length);
  });
});
