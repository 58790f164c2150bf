/**
 * SubscriptionDurableObject by its alarm: what the runtime does on the real clock with no
 * request around it — the renewal at the period end, the copy to Postgres retried after a
 * failure (the events past the cursor are the outbox), the expiry of an incomplete subscription
 * 23 hours on. Times are moved by rewriting the stored record (test/helpers/subscriptions.ts
 * `backdate`), never by waiting.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { and, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bundlePrices,
  customers,
  payments as paymentRows,
  storefronts,
  subscriptionEvents,
  subscriptions,
} from '../../src/db/schema';
import { sha256Hex } from '../../src/lib/crypto';
import { newId } from '../../src/lib/ids';
import { PaymentRoutingSchema } from '../../src/payments/routing';
import { customerIdFor } from '../../src/services/customers/customers';
import type { CheckoutInput } from '../../src/services/subscriptions/record';
import { DEFAULT_DUNNING } from '../../src/subscriptions/dunning';
import { INCOMPLETE_EXPIRY_SECONDS } from '../../src/subscriptions/lifecycle';
import {
  createTenant,
  globalcorpLikeSpec,
  publish,
  type TestTenant,
  withDb,
} from '../helpers/factories';
import { call, expectProblem } from '../helpers/http';
import {
  alarmOf,
  backdate,
  buyerEmail,
  CARD_DECLINED,
  checkout,
  drainPayment,
  drainSubscription,
  getSub,
  isoSeconds,
  paymentStub,
  type Shop,
  settledAlarm,
  subEvents,
  subPayments,
  subscribe,
  subscriptionStub,
  tokenize,
} from '../helpers/subscriptions';

const DAY = 86_400;

let t: TestTenant;
let shop: Shop;

beforeAll(async () => {
  const base = globalcorpLikeSpec();
  t = await createTenant({
    ...base,
    bundles: [
      ...(base.bundles ?? []),
      {
        slug: 'daily',
        name: 'Daily',
        entitlements: [],
        prices: [{ storefront: 'us-store', amount: 300, interval: 'day' }],
      },
    ],
  });
  shop = {
    host: t.hosts['us-store'] ?? '',
    sk: t.keys['us-store']?.secret ?? '',
    pk: t.keys['us-store']?.publishable ?? '',
    tenantId: t.tenantId,
  };
  await publish();
});

const subscriptionRow = (id: string) =>
  withDb((db) => db.select().from(subscriptions).where(eq(subscriptions.id, id))).then(
    (rows) => rows[0] ?? null,
  );
const eventRows = (id: string) =>
  withDb((db) =>
    db
      .select({ seq: subscriptionEvents.seq, type: subscriptionEvents.type })
      .from(subscriptionEvents)
      .where(eq(subscriptionEvents.subscriptionId, id))
      .orderBy(subscriptionEvents.seq),
  );

describe('the renewal by alarm, on the real clock', () => {
  it('at the period end the alarm charges the next period, once, and arms for its end', async () => {
    const pm = await tokenize(shop);
    const sub = await subscribe(shop, {
      bundleId: 'daily',
      customer: { email: buyerEmail() },
      paymentMethodId: pm,
    });
    // The object arms its alarm for the period end.
    const end = Date.parse(sub.currentPeriodEnd ?? '') / 1000;
    expect(await settledAlarm(sub.id)).toBe(end * 1000);
    // The day began a day and a minute ago: the period ended a minute ago.
    const r = await backdate(sub.id, DAY + 60);
    const ended = r.billing.period.end;
    const stub = subscriptionStub(sub.id);

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const next = ended + DAY;
    expect(await getSub(shop, sub.id)).toMatchObject({
      status: 'active',
      currentPeriodStart: isoSeconds(ended),
      currentPeriodEnd: isoSeconds(next),
    });
    const payments = await subPayments(shop, sub.id);
    expect(payments.map((p) => [p.purpose, p.status, p.amount, p.key])).toEqual([
      ['checkout', 'succeeded', 300, 'attempt:initial:0'],
      ['renewal', 'succeeded', 300, `attempt:renewal:${ended}:0`],
    ]);
    const events = await subEvents(shop, sub.id);
    expect(events.map((e) => e.type)).toEqual(['created', 'activated', 'renewed']);
    expect(events[2]).toMatchObject({
      occurredAt: isoSeconds(ended),
      data: { periodStart: isoSeconds(ended), periodEnd: isoSeconds(next), amount: 300 },
    });
    expect(events[2]?.data.paymentId).toBe(payments[1]?.id);
    // The alarm is armed for the next period end (the copy was written through).
    expect(await stub.copied()).toMatchObject({ copied: true, events: 3, copiedEvents: 3 });
    expect(await alarmOf(sub.id)).toBe(next * 1000);
    // Running it early does nothing more (and arms it again).
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await subPayments(shop, sub.id)).toHaveLength(2);
    expect(await alarmOf(sub.id)).toBe(next * 1000);
    // Postgres has the renewal.
    const row = await subscriptionRow(sub.id);
    expect(row).toMatchObject({ status: 'active' });
    expect(row?.currentPeriodEnd?.getTime()).toBe(next * 1000);
    expect((await eventRows(sub.id)).map((e) => e.type)).toEqual([
      'created',
      'activated',
      'renewed',
    ]);
  });
});

/** A checkout as the route hands it to the object, for `storefrontId` (which Postgres may not know). */
async function checkoutInput(
  storefrontId: string,
  overrides: Partial<CheckoutInput> = {},
): Promise<CheckoutInput> {
  const bundleId = t.bundles['pro-plan'] ?? '';
  const [price] = await withDb((db) =>
    db
      .select()
      .from(bundlePrices)
      .where(
        and(
          eq(bundlePrices.bundleId, bundleId),
          eq(bundlePrices.storefrontId, t.storefronts['us-store'] ?? ''),
        ),
      ),
  );
  if (!price) throw new Error('no price for pro-plan in us-store');
  const email = buyerEmail();
  const subscriptionId = newId('sub');
  return {
    subscriptionId,
    requestHash: await sha256Hex(subscriptionId),
    tenantId: t.tenantId,
    storefrontId,
    mode: 'test',
    customer: { id: await customerIdFor(storefrontId, email), email },
    bundle: { id: bundleId, slug: 'pro-plan', name: 'Pro Plan' },
    price: {
      id: price.id,
      bundleId,
      amount: price.amount,
      currency: price.currency,
      interval: price.interval,
      intervalCount: price.intervalCount,
      name: 'Pro Plan',
    },
    trial: null,
    paymentMethod: {
      id: newId('pm'),
      mode: 'test',
      type: 'card',
      card: { brand: 'visa', last4: '4242', expMonth: 12, expYear: 2040 },
      fingerprint: 'f',
      sandboxOutcome: 'succeeds',
    },
    terms: {
      routing: PaymentRoutingSchema.parse({
        default: { tiers: [{ providers: [{ provider: 'stripe', weight: 100 }] }] },
      }),
      killed: [],
      configVersion: 1,
    },
    dunning: DEFAULT_DUNNING,
    testClock: null,
    targetingKey: null,
    campaign: null,
    ...overrides,
  };
}

describe('the copy to Postgres', () => {
  it('a copy that fails keeps the events in the outbox; the alarm copies them, in order, once Postgres takes them', async () => {
    // A storefront Postgres does not know (yet): every copy fails on its foreign key, as it
    // would during an outage.
    const ghost = newId('sf');
    const input = await checkoutInput(ghost);
    const stub = subscriptionStub(input.subscriptionId);
    const out = await stub.checkout(input);
    if (!out.ok) throw new Error(out.error.message);
    expect(out.value).toMatchObject({ status: 201, declined: false });
    expect(out.value.subscription.status).toBe('active');
    const periodEnd = Date.parse(out.value.subscription.currentPeriodEnd ?? '');

    expect(await stub.copied()).toEqual({ copied: false, events: 2, copiedEvents: 0 });
    expect(await subscriptionRow(input.subscriptionId)).toBeNull();
    // The alarm is armed for the retry, well before the period end.
    const retry = await alarmOf(input.subscriptionId);
    expect(retry).not.toBeNull();
    expect(retry ?? Number.POSITIVE_INFINITY).toBeLessThan(periodEnd);

    // More changes while the copy is failing join the outbox.
    const cancel = await stub.command({ type: 'cancel', atPeriodEnd: true }, null, null);
    expect(cancel.ok).toBe(true);
    expect(await stub.copied()).toEqual({ copied: false, events: 3, copiedEvents: 0 });
    // Still failing: the alarm runs, copies nothing, and stays armed.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.copied()).toEqual({ copied: false, events: 3, copiedEvents: 0 });
    expect(await alarmOf(input.subscriptionId)).not.toBeNull();
    expect(await eventRows(input.subscriptionId)).toEqual([]);

    // Postgres takes it again ("the outage ends").
    await withDb((db) =>
      db.insert(storefronts).values({
        id: ghost,
        tenantId: t.tenantId,
        slug: `ghost-${ghost.slice(-6).toLowerCase()}`,
        name: 'Ghost',
        currency: 'USD',
        region: 'US',
      }),
    );
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.copied()).toEqual({ copied: true, events: 3, copiedEvents: 3 });
    expect(await eventRows(input.subscriptionId)).toEqual([
      { seq: 1, type: 'created' },
      { seq: 2, type: 'activated' },
      { seq: 3, type: 'cancel_scheduled' },
    ]);
    const row = await subscriptionRow(input.subscriptionId);
    expect(row).toMatchObject({
      status: 'active',
      cancelAtPeriodEnd: true,
      customerId: input.customer.id,
      storefrontId: ghost,
      // The version saved last: the row is the latest state, not the one of the first failure.
      version: 2,
    });
    // The customer the checkout named by email, created by the copy.
    const [customer] = await withDb((db) =>
      db.select().from(customers).where(eq(customers.id, input.customer.id)),
    );
    expect(customer).toMatchObject({ email: input.customer.email, storefrontId: ghost });
    // Caught up: the alarm is back to the subscription's own schedule (the cancellation at the
    // period end).
    expect(await alarmOf(input.subscriptionId)).toBe(periodEnd);
    // The payment's object copies itself the same way.
    const paymentId = out.value.payment?.id ?? '';
    expect(await drainPayment(paymentId)).toBe(true);
    const [payment] = await withDb((db) =>
      db.select().from(paymentRows).where(eq(paymentRows.id, paymentId)),
    );
    expect(payment).toMatchObject({
      status: 'succeeded',
      subscriptionId: input.subscriptionId,
      customerId: input.customer.id,
    });
  });

  /**
   * BUG (durable-objects/subscription.ts, `copy()`): when the object has no record yet, `run()`
   * returns `true` before its first `await`, so its `finally` (`this.copying = null`) runs
   * before `this.copying = run()` assigns the settled promise — which then stays in
   * `this.copying` for the life of the instance. Every later `copy()` returns that old `true`
   * (setting `copyAgain`, which nothing reads any more) without copying: neither the
   * write-through nor the alarm copies the subscription, `copyFailures` never rises, so the
   * alarm re-arms every 2 s (which keeps the instance alive) for as long as the instance lives.
   * Reached by any `afterChange()` before the record exists: a checkout that fails in the
   * object (here: the charge throws) retried with the same Idempotency-Key (the same
   * subscription id), or a test clock's advance reaching a subscription id attached before its
   * checkout failed. `it.fails` until fixed: remove it then.
   */
  it('a checkout that failed before creating anything does not stop the copy of the one that follows', async () => {
    const input = await checkoutInput(t.storefronts['us-store'] ?? '');
    const stub = subscriptionStub(input.subscriptionId);
    // The first attempt fails in the object before anything is saved (the charge throws).
    const failed = await stub.checkout({ ...input, paymentMethod: null });
    expect(failed.ok).toBe(false);
    expect(await stub.get()).toBeNull();
    // The retry (the same subscription: the same Idempotency-Key) succeeds…
    const out = await stub.checkout(input);
    expect(out.ok && out.value.subscription.status).toBe('active');
    // …and is copied by the write-through, or at the latest by the alarm.
    const state = await drainSubscription(input.subscriptionId, 3);
    expect(state).toMatchObject({ copied: true, events: 2, copiedEvents: 2 });
    expect((await subscriptionRow(input.subscriptionId))?.status).toBe('active');
  });
});

describe('the expiry of an incomplete subscription', () => {
  it('23 hours after a declined first payment the alarm expires it (no charge), and arms nothing more', async () => {
    const bad = await tokenize(shop, CARD_DECLINED);
    const res = await checkout(shop, {
      bundleId: 'pro-plan',
      customer: { email: buyerEmail() },
      paymentMethodId: bad,
    });
    const problem = await expectProblem(res, 402, 'payment_declined');
    const id = problem.subscriptionId as string;
    const sub = await getSub(shop, id);
    expect(sub.status).toBe('incomplete');
    expect(sub.latestInvoice).toMatchObject({ key: 'initial', amountDue: 2900 });
    const since = (await backdate(id, 0)).lifecycle.since;
    // Armed for the expiry, 23 h after the decline.
    expect(await settledAlarm(id)).toBe((since + INCOMPLETE_EXPIRY_SECONDS) * 1000);
    const stub = subscriptionStub(id);

    // The alarm before the 23 h are up: nothing happens.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await getSub(shop, id)).status).toBe('incomplete');
    expect(await alarmOf(id)).toBe((since + INCOMPLETE_EXPIRY_SECONDS) * 1000);

    // The decline was 23 h and a minute ago.
    const r = await backdate(id, INCOMPLETE_EXPIRY_SECONDS + 60);
    const expiresAt = r.lifecycle.since + INCOMPLETE_EXPIRY_SECONDS;
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const expired = await getSub(shop, id);
    expect(expired).toMatchObject({ status: 'incomplete_expired', latestInvoice: null });
    const events = await subEvents(shop, id);
    expect(events.map((e) => e.type)).toEqual(['created', 'payment_failed', 'incomplete_expired']);
    expect(events[2]?.occurredAt).toBe(isoSeconds(expiresAt));
    // The expiry charges nothing.
    expect((await subPayments(shop, id)).map((p) => [p.purpose, p.status])).toEqual([
      ['checkout', 'declined'],
    ]);
    // Terminal and copied: no alarm is left.
    expect(await stub.copied()).toMatchObject({ copied: true, events: 3 });
    expect(await alarmOf(id)).toBeNull();
    expect(await stub.nextDue()).toBeNull();
    expect((await subscriptionRow(id))?.status).toBe('incomplete_expired');
    // A new payment method cannot revive it (and charges nothing).
    const good = await tokenize(shop);
    const revive = await call(shop.host, `/v1/subscriptions/${id}/payment-method`, {
      method: 'POST',
      key: shop.sk,
      body: { paymentMethodId: good },
    });
    await expectProblem(revive, 409, 'invalid_state');
    expect(await subPayments(shop, id)).toHaveLength(1);
  });
});

describe('refund notices from the payment object', () => {
  const paymentAlarm = (id: string) =>
    runInDurableObject(paymentStub(id), (_i, state) => state.storage.getAlarm());
  const noticeCursor = (id: string) =>
    runInDurableObject(paymentStub(id), (_i, state) =>
      state.storage.get<number>('subscriptionNotified'),
    );
  /** Writes (or clears) an unanswered charge's intent in the subscription's storage. */
  const unsettle = (subId: string, on: boolean) =>
    runInDurableObject(subscriptionStub(subId), (_i, state) => {
      const sql = state.storage.sql;
      if (!on) return void sql.exec('delete from intent');
      sql.exec(
        'insert into intent (id, pending) values (1, ?)',
        JSON.stringify({ type: 'action', retryAt: 0, tries: 0 }),
      );
    });
  const bought = async () => {
    const sub = await subscribe(shop, {
      bundleId: 'pro-plan',
      customer: { email: buyerEmail() },
      paymentMethodId: await tokenize(shop),
    });
    const [payment] = await subPayments(shop, sub.id);
    if (!payment) throw new Error('no payment');
    return { sub, payment };
  };

  it('a refund whose notice was cut off reaches the subscription by the payment’s alarm; a redelivery changes nothing', async () => {
    const { sub, payment } = await bought();
    // The subscription takes no notice for now (a charge of its unanswered), so nothing that
    // might tell it meanwhile (the provider's refund webhook, the alarm on its own) gets through.
    await unsettle(sub.id, true);
    // Recorded at the payment, the notice not sent (as a call cut off after the refund).
    const out = await paymentStub(payment.id).refund({
      reason: null,
      idempotencyKey: 'cut-off',
      deferNotice: true,
    });
    if (!out.ok) throw new Error(out.error.message);
    expect(out.value.payment.amountRefunded).toBe(payment.amount);
    expect((await getSub(shop, sub.id)).status).toBe('active');
    expect(await noticeCursor(payment.id)).toBeUndefined();
    // Armed for the notice before anything was sent, and again after each refusal.
    const armed = await paymentAlarm(payment.id);
    expect(armed).not.toBeNull();
    expect(armed ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(Date.now() + 5 * 60_000);

    await unsettle(sub.id, false);
    await runDurableObjectAlarm(paymentStub(payment.id));
    expect((await getSub(shop, sub.id)).status).toBe('cancelled');
    expect(await noticeCursor(payment.id)).toBe(payment.amount);
    const events = await subEvents(shop, sub.id);
    expect(events.filter((e) => e.type === 'payment_refunded')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'cancelled').map((e) => e.data.reason)).toEqual([
      'refunded',
    ]);

    // The same notice again (a redelivery), and notices that are not this subscription's.
    const notice = {
      paymentId: payment.id,
      tenantId: t.tenantId,
      storefrontId: t.storefronts['us-store'] ?? '',
      mode: 'test',
      amount: payment.amount,
      currency: 'USD',
      refunds: out.value.payment.refunds.map((f) => ({
        id: f.id,
        amount: f.amount,
        createdAt: f.createdAt,
      })),
    };
    const sub$ = subscriptionStub(sub.id);
    expect(await sub$.paymentRefunded(notice)).toEqual({
      effect: 'duplicate',
      ended: false,
      status: 'cancelled',
    });
    const forged = { ...notice, refunds: [{ id: 're_forged', amount: 1, createdAt: '' }] };
    expect((await sub$.paymentRefunded({ ...forged, tenantId: 'ten_other' })).effect).toBe(
      'ignored',
    );
    expect((await sub$.paymentRefunded({ ...forged, paymentId: 'pay_other' })).effect).toBe(
      'ignored',
    );
    await runDurableObjectAlarm(paymentStub(payment.id)); // whatever is left armed: nothing to tell
    expect(await subEvents(shop, sub.id)).toHaveLength(events.length);
  });

  it('a subscription that cannot take the notice yet is told again by the payment’s alarm', async () => {
    const { sub, payment } = await bought();
    // The subscription does not know the payment yet and a charge of its is unanswered (as
    // after a crash between the charge and saving it): it refuses the notice for now.
    const saved = await runInDurableObject(subscriptionStub(sub.id), (_i, state) => {
      const sql = state.storage.sql;
      const row = sql.exec('select * from payments where id = ?', payment.id).one();
      sql.exec('delete from payments where id = ?', payment.id);
      sql.exec(
        'insert into intent (id, pending) values (1, ?)',
        JSON.stringify({ type: 'action', retryAt: 0, tries: 0 }),
      );
      return row;
    });
    const res = await call(shop.host, `/v1/payments/${payment.id}/refunds`, {
      method: 'POST',
      key: shop.sk,
      body: {},
      headers: { 'idempotency-key': 'refund-told-later' },
    });
    expect(res.status, await res.clone().text()).toBe(201); // the refund stands
    expect(await noticeCursor(payment.id)).toBeUndefined();
    expect((await getSub(shop, sub.id)).status).toBe('active');
    expect(await paymentAlarm(payment.id)).not.toBeNull();
    // The charge is settled (the row back, the intent gone): the alarm's notice is taken.
    await runInDurableObject(subscriptionStub(sub.id), (_i, state) => {
      const sql = state.storage.sql;
      const cols = Object.keys(saved);
      sql.exec(
        `insert into payments (${cols.join(', ')}) values (${cols.map(() => '?').join(', ')})`,
        ...cols.map((c) => saved[c] as SqlStorageValue),
      );
      sql.exec('delete from intent');
    });
    await runDurableObjectAlarm(paymentStub(payment.id));
    expect(await noticeCursor(payment.id)).toBe(payment.amount);
    expect((await getSub(shop, sub.id)).status).toBe('cancelled');
    const refundedEvents = (await subEvents(shop, sub.id)).filter(
      (e) => e.type === 'payment_refunded',
    );
    expect(refundedEvents).toHaveLength(1);
  });
});

describe('reads of an id that names nothing', () => {
  it('a probed subscription id is a 404 and leaves the object without storage', async () => {
    const id = `sub_${newId('sub').slice(4)}`;
    const res = await call(shop.host, `/v1/subscriptions/${id}`, { key: shop.sk });
    await expectProblem(res, 404, 'not_found');
    const events = await call(shop.host, `/v1/subscriptions/${id}/events`, { key: shop.sk });
    await expectProblem(events, 404, 'not_found');
    const { runInDurableObject } = await import('cloudflare:test');
    const tables = await runInDurableObject(subscriptionStub(id), (_obj, state) =>
      state.storage.sql.exec("select name from sqlite_master where type = 'table'").toArray(),
    );
    expect(tables).toEqual([]);
  });
});
