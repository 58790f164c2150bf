/**
 * Checkout and the subscription lifecycle through the worker, on test clocks: every renewal,
 * trial end, dunning retry, expiry and resume is fired by advancing the clock (the objects set
 * no billing alarms of their own), against the sandbox providers and real Postgres.
 */
import { env } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { subscriptionEvents, subscriptions } from '../../src/db/schema';
import {
  createTenant,
  globalcorpLikeSpec,
  publish,
  type TestTenant,
  unique,
  withDb,
} from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import { asOperator, createOperator } from '../helpers/operators';

let t: TestTenant;
let host: string;
let sk: string;
let pk: string;

interface Sub {
  id: string;
  status: string;
  customerId: string;
  bundleId: string;
  bundleSlug: string;
  currentPeriodStart: string | null;
  currentPeriodEnd: string | null;
  cancelAtPeriodEnd: boolean;
  trialEnd: string | null;
  billingIssue: boolean;
  creditBalance: number;
  amount: number;
  pendingChange: { bundleId: string } | null;
}
interface Pay {
  id: string;
  status: string;
  amount: number;
  currency: string;
  provider: string | null;
  attempts: unknown[];
}

beforeAll(async () => {
  const base = globalcorpLikeSpec();
  t = await createTenant({
    ...base,
    bundles: [
      ...(base.bundles ?? []),
      {
        slug: 'starter',
        name: 'Starter',
        entitlements: [],
        prices: [{ storefront: 'us-store', amount: 900 }],
      },
      {
        slug: 'free-trial',
        name: 'Free Trial Plan',
        entitlements: [],
        trial: { days: 14, requirePaymentMethod: false },
        prices: [{ storefront: 'us-store', amount: 1500 }],
      },
      {
        slug: 'annual',
        name: 'Annual',
        entitlements: [],
        prices: [{ storefront: 'us-store', amount: 29000, interval: 'year' }],
      },
    ],
  });
  host = t.hosts['us-store'] ?? '';
  sk = t.keys['us-store']?.secret ?? '';
  pk = t.keys['us-store']?.publishable ?? '';
  await publish();
});

const year = new Date().getFullYear() + 2;
async function tokenize(number: string): Promise<string> {
  const res = await call(host, '/v1/payment-methods', {
    method: 'POST',
    key: pk,
    body: { type: 'card', card: { number, expMonth: 12, expYear: year, cvc: '123' } },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await json<{ id: string }>(res)).id;
}

async function clock(frozenTime: string): Promise<string> {
  const res = await call(host, '/v1/test-clocks', {
    method: 'POST',
    key: sk,
    body: { frozenTime },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await json<{ id: string }>(res)).id;
}

async function advance(clockId: string, to: string): Promise<number> {
  const res = await call(host, `/v1/test-clocks/${clockId}/advance`, {
    method: 'POST',
    key: sk,
    body: { to },
  });
  expect(res.status, await res.clone().text()).toBe(200);
  const body = await json<{ fired: number; frozenTime: string }>(res);
  expect(body.frozenTime).toBe(new Date(to).toISOString());
  return body.fired;
}

async function checkout(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return call(host, '/v1/checkout', { method: 'POST', key: sk, body, headers });
}

async function getSub(id: string): Promise<Sub> {
  const res = await call(host, `/v1/subscriptions/${id}`, { key: sk });
  expect(res.status).toBe(200);
  return json<Sub>(res);
}

async function events(id: string): Promise<string[]> {
  const res = await call(host, `/v1/subscriptions/${id}/events`, { key: sk });
  expect(res.status).toBe(200);
  const body = await json<{ items: { seq: number; type: string }[] }>(res);
  expect(body.items.map((e) => e.seq)).toEqual(body.items.map((_, i) => i + 1));
  return body.items.map((e) => e.type);
}

const email = () => `buyer-${unique()}@example.com`;

describe('checkout', () => {
  it('subscribes with a card: 201, active, first period paid through the routing', async () => {
    const pm = await tokenize('4242424242424242');
    const res = await checkout({
      bundleId: 'pro-plan',
      customer: { email: email() },
      paymentMethodId: pm,
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const { subscription, payment } = await json<{ subscription: Sub; payment: Pay }>(res);
    expect(subscription.id).toMatch(/^sub_/);
    expect(subscription.status).toBe('active');
    expect(subscription.bundleSlug).toBe('pro-plan');
    expect(subscription.cancelAtPeriodEnd).toBe(false);
    expect(subscription.trialEnd).toBeNull();
    expect(payment).toMatchObject({
      status: 'succeeded',
      amount: 2900,
      currency: 'USD',
      provider: 'stripe',
    });
    expect(payment.attempts.length).toBe(1);
    expect(await events(subscription.id)).toEqual(['created', 'activated']);
    // The copy in Postgres (written through before the answer).
    const rows = await withDb((db) =>
      db.select().from(subscriptions).where(eq(subscriptions.id, subscription.id)),
    );
    expect(rows[0]).toMatchObject({ status: 'active', customerId: subscription.customerId });
    const evts = await withDb((db) =>
      db
        .select()
        .from(subscriptionEvents)
        .where(eq(subscriptionEvents.subscriptionId, subscription.id)),
    );
    expect(evts.map((e) => e.seq).sort()).toEqual([1, 2]);
  });

  it('a declined first payment is a 402 with declineCode, subscriptionId and payment; a new method retries it', async () => {
    const bad = await tokenize('4000000000009995');
    const res = await checkout({
      bundleId: 'pro-plan',
      customer: { email: email() },
      paymentMethodId: bad,
    });
    const problem = await expectProblem(res, 402, 'payment_declined');
    expect(problem.declineCode).toBe('insufficient_funds');
    const subId = problem.subscriptionId as string;
    expect(subId).toMatch(/^sub_/);
    expect((problem.payment as Pay).attempts.length).toBe(1);
    expect((await getSub(subId)).status).toBe('incomplete');
    const good = await tokenize('4242424242424242');
    const retry = await call(host, `/v1/subscriptions/${subId}/payment-method`, {
      method: 'POST',
      key: sk,
      body: { paymentMethodId: good },
    });
    expect(retry.status, await retry.clone().text()).toBe(200);
    const after = await json<{ subscription: Sub; payment: Pay }>(retry);
    expect(after.subscription.status).toBe('active');
    expect(after.payment.status).toBe('succeeded');
    expect(await events(subId)).toEqual([
      'created',
      'payment_failed',
      'payment_method_updated',
      'activated',
    ]);
  });
});

async function post(path: string, body: unknown = {}, headers: Record<string, string> = {}) {
  return call(host, path, { method: 'POST', key: sk, body, headers });
}

async function payments(
  id: string,
): Promise<{ amount: number; status: string; purpose: string }[]> {
  const res = await call(host, `/v1/subscriptions/${id}/payments`, { key: sk });
  expect(res.status).toBe(200);
  return (await json<{ items: { amount: number; status: string; purpose: string }[] }>(res)).items;
}

/** A subscription to `bundle` on a new clock at `at`, paid with `card`. */
async function onClock(
  at: string,
  bundle = 'pro-plan',
  extra: Record<string, unknown> = {},
  card = '4242424242424242',
) {
  const clockId = await clock(at);
  const pm = await tokenize(card);
  const res = await checkout({
    bundleId: bundle,
    customer: { email: email() },
    paymentMethodId: pm,
    testClockId: clockId,
    ...extra,
  });
  expect([201, 402]).toContain(res.status);
  const body = await json<Record<string, unknown>>(res);
  const sub = (body.subscription ?? body.subscription) as Sub;
  return { clockId, sub, body };
}

describe('billing cycles on a test clock', () => {
  it('month end and leap year: Jan 31 → Feb 29 → Mar 31 → Apr 30, one charge per renewal', async () => {
    const { clockId, sub } = await onClock('2028-01-31T10:00:00Z');
    expect(sub.currentPeriodEnd).toBe('2028-02-29T10:00:00.000Z');
    expect(await advance(clockId, '2028-03-01T00:00:00Z')).toBe(1);
    let now = await getSub(sub.id);
    expect([now.currentPeriodStart, now.currentPeriodEnd]).toEqual([
      '2028-02-29T10:00:00.000Z',
      '2028-03-31T10:00:00.000Z',
    ]);
    expect(await advance(clockId, '2028-05-01T00:00:00Z')).toBe(2);
    now = await getSub(sub.id);
    expect(now.currentPeriodEnd).toBe('2028-05-31T10:00:00.000Z');
    const paid = await payments(sub.id);
    expect(paid.map((p) => [p.purpose, p.amount, p.status])).toEqual([
      ['checkout', 2900, 'succeeded'],
      ['renewal', 2900, 'succeeded'],
      ['renewal', 2900, 'succeeded'],
      ['renewal', 2900, 'succeeded'],
    ]);
    expect(await events(sub.id)).toEqual(['created', 'activated', 'renewed', 'renewed', 'renewed']);
    // Advancing again to the same time does nothing; a clock never goes back.
    expect(await advance(clockId, '2028-05-01T00:00:00Z')).toBe(0);
    const back = await post(`/v1/test-clocks/${clockId}/advance`, { to: '2028-01-01T00:00:00Z' });
    await expectProblem(back, 400, 'validation_failed');
    const far = await post(`/v1/test-clocks/${clockId}/advance`, { to: '2031-01-01T00:00:00Z' });
    await expectProblem(far, 400, 'validation_failed');
  });

  it('an annual price renews on Feb 29 → Feb 28 of the next year', async () => {
    const { clockId, sub } = await onClock('2028-02-29T00:00:00Z', 'annual');
    expect(sub.currentPeriodEnd).toBe('2029-02-28T00:00:00.000Z');
    expect(await advance(clockId, '2029-03-01T00:00:00Z')).toBe(1);
    expect((await getSub(sub.id)).currentPeriodEnd).toBe('2030-02-28T00:00:00.000Z');
  });
});

describe('trials', () => {
  it('a trial with a card is charged at its end and becomes active', async () => {
    const { clockId, sub, body } = await onClock('2027-03-01T00:00:00Z', 'pro-plan', {
      trialDays: 7,
    });
    expect(body.payment).toBeNull();
    expect(sub.status).toBe('trialing');
    expect(sub.trialEnd).toBe('2027-03-08T00:00:00.000Z');
    expect(await advance(clockId, '2027-03-09T00:00:00Z')).toBe(1);
    const now = await getSub(sub.id);
    expect(now.status).toBe('active');
    expect(now.currentPeriodEnd).toBe('2027-04-08T00:00:00.000Z');
    expect((await payments(sub.id)).map((p) => p.purpose)).toEqual(['trial_conversion']);
    expect(await events(sub.id)).toEqual(['created', 'trial_started', 'activated']);
  });

  it('a trial without a payment method (when the bundle allows it) cancels at its end', async () => {
    const clockId = await clock('2027-03-01T00:00:00Z');
    const res = await checkout({
      bundleId: 'free-trial',
      customer: { email: email() },
      testClockId: clockId,
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const { subscription } = await json<{ subscription: Sub }>(res);
    expect(subscription.status).toBe('trialing');
    expect(subscription.trialEnd).toBe('2027-03-15T00:00:00.000Z');
    expect(await advance(clockId, '2027-03-16T00:00:00Z')).toBe(1);
    expect((await getSub(subscription.id)).status).toBe('cancelled');
    expect(await events(subscription.id)).toEqual([
      'created',
      'trial_started',
      'trial_ended',
      'cancelled',
    ]);
  });

  it('a method added during the trial is charged at its end; a bundle that needs one refuses a trial without', async () => {
    const clockId = await clock('2027-03-01T00:00:00Z');
    const res = await checkout({
      bundleId: 'free-trial',
      customer: { email: email() },
      testClockId: clockId,
    });
    const { subscription } = await json<{ subscription: Sub }>(res);
    const pm = await tokenize('4242424242424242');
    const set = await post(`/v1/subscriptions/${subscription.id}/payment-method`, {
      paymentMethodId: pm,
    });
    expect(set.status).toBe(200);
    expect((await json<{ payment: unknown }>(set)).payment).toBeNull(); // nothing due in a trial
    await advance(clockId, '2027-03-16T00:00:00Z');
    expect((await getSub(subscription.id)).status).toBe('active');
    const refused = await checkout({
      bundleId: 'pro-plan',
      customer: { email: email() },
      trialDays: 7,
    });
    const problem = await expectProblem(refused, 400, 'validation_failed');
    expect(problem.errors).toEqual([{ path: 'paymentMethodId', message: 'required' }]);
  });
});

describe('dunning', () => {
  async function pastDue() {
    const { clockId, sub } = await onClock('2027-05-10T00:00:00Z');
    const failing = await tokenize('4000000000000341'); // tokenizes; every charge declines
    expect(
      (await post(`/v1/subscriptions/${sub.id}/payment-method`, { paymentMethodId: failing }))
        .status,
    ).toBe(200);
    expect(await advance(clockId, '2027-06-10T01:00:00Z')).toBe(1);
    const now = await getSub(sub.id);
    expect(now.status).toBe('past_due');
    expect(now.billingIssue).toBe(true);
    // The period has begun, unpaid.
    expect(now.currentPeriodEnd).toBe('2027-07-10T00:00:00.000Z');
    return { clockId, sub };
  }

  it('retries on days 1, 3, 7 and 14, one billing-issue event per streak, then ends', async () => {
    const { clockId, sub } = await pastDue();
    expect(await advance(clockId, '2027-06-18T00:00:00Z')).toBe(3); // days 1, 3, 7
    expect(await advance(clockId, '2027-06-30T00:00:00Z')).toBe(2); // day 14: retry, then exhausted
    const now = await getSub(sub.id);
    expect(now.status).toBe('ended');
    const log = await events(sub.id);
    expect(log.filter((e) => e === 'past_due')).toHaveLength(1);
    expect(log.slice(-6)).toEqual([
      'past_due',
      'payment_retry_failed',
      'payment_retry_failed',
      'payment_retry_failed',
      'payment_retry_failed',
      'ended',
    ]);
    expect((await payments(sub.id)).filter((p) => p.purpose === 'dunning_retry')).toHaveLength(4);
    // Ended is terminal.
    await expectProblem(await post(`/v1/subscriptions/${sub.id}/pause`, {}), 409, 'invalid_state');
  });

  it('a new payment method retries at once and recovers', async () => {
    const { clockId, sub } = await pastDue();
    await advance(clockId, '2027-06-12T00:00:00Z'); // the day-1 retry fails
    const good = await tokenize('4242424242424242');
    const res = await post(`/v1/subscriptions/${sub.id}/payment-method`, { paymentMethodId: good });
    expect(res.status, await res.clone().text()).toBe(200);
    const { subscription, payment } = await json<{ subscription: Sub; payment: Pay }>(res);
    expect(payment).toMatchObject({ status: 'succeeded', amount: 2900 });
    expect(subscription).toMatchObject({ status: 'active', billingIssue: false });
    expect((await events(sub.id)).slice(-2)).toEqual(['payment_method_updated', 'recovered']);
    // Recovered: the next renewal is at the period's end, no more retries.
    expect(await advance(clockId, '2027-07-09T00:00:00Z')).toBe(0);
    expect(await advance(clockId, '2027-07-10T01:00:00Z')).toBe(1);
    expect((await getSub(sub.id)).status).toBe('active');
  });

  it('an incomplete subscription expires 23 hours after its declined first payment', async () => {
    const { clockId, sub, body } = await onClock(
      '2027-01-01T00:00:00Z',
      'pro-plan',
      {},
      '4000000000000002',
    );
    expect(body.declineCode).toBe('generic_decline');
    expect(sub.status).toBe('incomplete');
    expect(await advance(clockId, '2027-01-01T22:59:59Z')).toBe(0);
    expect(await advance(clockId, '2027-01-01T23:00:00Z')).toBe(1);
    expect((await getSub(sub.id)).status).toBe('incomplete_expired');
  });
});

describe('pause, resume, cancel, reactivate', () => {
  it('pause with an automatic resume: no billing while paused, a new paid period on resume', async () => {
    const { clockId, sub } = await onClock('2027-02-01T00:00:00Z');
    await advance(clockId, '2027-02-15T00:00:00Z'); // half of February's 28 days used
    const paused = await post(`/v1/subscriptions/${sub.id}/pause`, {
      resumeAt: '2027-04-15T00:00:00Z',
    });
    expect(paused.status, await paused.clone().text()).toBe(200);
    expect((await json<{ subscription: Sub }>(paused)).subscription.status).toBe('paused');
    expect(await advance(clockId, '2027-04-16T00:00:00Z')).toBe(1); // the resume, no renewals
    const now = await getSub(sub.id);
    expect(now.status).toBe('active');
    expect([now.currentPeriodStart, now.currentPeriodEnd]).toEqual([
      '2027-04-15T00:00:00.000Z',
      '2027-05-15T00:00:00.000Z',
    ]);
    // The unused half was credited at the pause and taken off the resume's period.
    expect((await payments(sub.id)).map((p) => [p.purpose, p.amount])).toEqual([
      ['checkout', 2900],
      ['resume', 1450],
    ]);
    expect(now.creditBalance).toBe(0);
    expect(await events(sub.id)).toEqual(['created', 'activated', 'paused', 'resumed']);
  });

  it('resume by hand; an illegal transition is a 409 naming the current state', async () => {
    const { clockId, sub } = await onClock('2027-02-01T00:00:00Z');
    await advance(clockId, '2027-03-01T00:00:00Z'); // renewed: a whole March is paid
    const early = await post(`/v1/subscriptions/${sub.id}/resume`);
    const problem = await expectProblem(early, 409, 'invalid_state');
    expect(problem.state).toBe('active');
    expect(problem.detail).toContain('active');
    expect((await post(`/v1/subscriptions/${sub.id}/pause`, {})).status).toBe(200);
    // Paused and resumed at once: the whole March credited pays the new period.
    const resumed = await post(`/v1/subscriptions/${sub.id}/resume`);
    expect(resumed.status).toBe(200);
    const after = await json<{ subscription: Sub; payment: Pay | null }>(resumed);
    expect(after.payment).toBeNull();
    expect(after.subscription).toMatchObject({ status: 'active', creditBalance: 0 });
    // Paused a week into the period, resumed: charged a week's worth.
    await advance(clockId, '2027-03-08T00:00:00Z');
    expect((await post(`/v1/subscriptions/${sub.id}/pause`, {})).status).toBe(200);
    const again = await post(`/v1/subscriptions/${sub.id}/resume`);
    expect((await json<{ payment: Pay }>(again)).payment).toMatchObject({
      status: 'succeeded',
      amount: 655, // 2900 × 7 / 31 days, rounded half to even
    });
  });

  it('cancel at period end, reactivate, cancel again: cancelled at the end, not before', async () => {
    const { clockId, sub } = await onClock('2027-02-01T00:00:00Z');
    const c1 = await post(`/v1/subscriptions/${sub.id}/cancel`, { atPeriodEnd: true });
    expect((await json<{ subscription: Sub }>(c1)).subscription.cancelAtPeriodEnd).toBe(true);
    const re = await post(`/v1/subscriptions/${sub.id}/reactivate`);
    expect((await json<{ subscription: Sub }>(re)).subscription.cancelAtPeriodEnd).toBe(false);
    await post(`/v1/subscriptions/${sub.id}/cancel`, { atPeriodEnd: true });
    expect(await advance(clockId, '2027-02-28T00:00:00Z')).toBe(0);
    expect((await getSub(sub.id)).status).toBe('active');
    expect(await advance(clockId, '2027-03-02T00:00:00Z')).toBe(1);
    expect((await getSub(sub.id)).status).toBe('cancelled');
    expect((await payments(sub.id)).map((p) => p.purpose)).toEqual(['checkout']); // no renewal
    await expectProblem(await post(`/v1/subscriptions/${sub.id}/reactivate`), 409, 'invalid_state');
  });

  it('cancel now', async () => {
    const { sub } = await onClock('2027-02-01T00:00:00Z');
    const res = await post(`/v1/subscriptions/${sub.id}/cancel`, { atPeriodEnd: false });
    expect((await json<{ subscription: Sub }>(res)).subscription.status).toBe('cancelled');
    expect((await events(sub.id)).at(-1)).toBe('cancelled');
  });
});

describe('plan changes', () => {
  it('preview == charge: an always_invoice upgrade mid-period charges exactly the preview', async () => {
    const { clockId, sub } = await onClock('2027-04-01T00:00:00Z');
    await advance(clockId, '2027-04-16T00:00:00Z'); // half of April's 30 days
    const body = { bundleId: 'enterprise', proration: 'always_invoice' };
    const pre = await post(`/v1/subscriptions/${sub.id}/change/preview`, body);
    expect(pre.status, await pre.clone().text()).toBe(200);
    const preview = await json<{
      amount: number;
      prorationDate: string;
      lines: { amount: number }[];
    }>(pre);
    // Unused half of 29.00 credited, remaining half of 99.00 charged.
    expect(preview.lines.map((l) => l.amount)).toEqual([-1450, 4950]);
    expect(preview.amount).toBe(3500);
    await advance(clockId, '2027-04-17T00:00:00Z'); // a day later, with the preview's date
    const res = await post(`/v1/subscriptions/${sub.id}/change`, {
      ...body,
      prorationDate: preview.prorationDate,
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const { subscription, payment } = await json<{ subscription: Sub; payment: Pay }>(res);
    expect(payment.amount).toBe(preview.amount);
    expect(subscription.bundleSlug).toBe('enterprise');
    expect((await events(sub.id)).at(-1)).toBe('plan_changed');
  });

  it('create_prorations charges nothing now and adds the proration to the next renewal', async () => {
    const { clockId, sub } = await onClock('2027-04-01T00:00:00Z');
    await advance(clockId, '2027-04-16T00:00:00Z');
    const res = await post(`/v1/subscriptions/${sub.id}/change`, { bundleId: 'enterprise' });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await json<{ payment: unknown }>(res)).payment).toBeNull();
    await advance(clockId, '2027-05-02T00:00:00Z');
    const renewal = (await payments(sub.id)).at(-1);
    expect(renewal).toMatchObject({ purpose: 'renewal', amount: 9900 + 3500 });
  });

  it('a downgrade deferred to the period end switches at the renewal', async () => {
    const { clockId, sub } = await onClock('2027-04-01T00:00:00Z');
    const res = await post(`/v1/subscriptions/${sub.id}/change`, {
      bundleId: 'starter',
      atPeriodEnd: true,
    });
    const { subscription, payment } = await json<{ subscription: Sub; payment: unknown }>(res);
    expect(payment).toBeNull();
    expect(subscription.bundleSlug).toBe('pro-plan');
    expect(subscription.pendingChange?.bundleId).toBeTruthy();
    await advance(clockId, '2027-05-02T00:00:00Z');
    const now = await getSub(sub.id);
    expect(now.bundleSlug).toBe('starter');
    expect((await payments(sub.id)).at(-1)).toMatchObject({ purpose: 'renewal', amount: 900 });
  });

  it('a change to a yearly price restarts the cycle and is invoiced now', async () => {
    const { clockId, sub } = await onClock('2027-04-01T00:00:00Z');
    await advance(clockId, '2027-04-16T00:00:00Z');
    const res = await post(`/v1/subscriptions/${sub.id}/change`, { bundleId: 'annual' });
    const { subscription, payment } = await json<{ subscription: Sub; payment: Pay }>(res);
    expect(payment.amount).toBe(29000 - 1450);
    expect([subscription.currentPeriodStart, subscription.currentPeriodEnd]).toEqual([
      '2027-04-16T00:00:00.000Z',
      '2028-04-16T00:00:00.000Z',
    ]);
  });
});

describe('refusals, nothing written', () => {
  it('a bundle not offered here, another storefront’s method, a missing customer: clear 4xx', async () => {
    const pm = await tokenize('4242424242424242');
    await expectProblem(
      await checkout({
        bundleId: 'no-such-bundle',
        customer: { email: email() },
        paymentMethodId: pm,
      }),
      404,
      'not_found',
    );
    // A payment method of the EU storefront is not found in the US one.
    const euPm = await call(t.hosts['eu-store'] ?? '', '/v1/payment-methods', {
      method: 'POST',
      key: t.keys['eu-store']?.publishable ?? '',
      body: {
        type: 'card',
        card: { number: '4242424242424242', expMonth: 12, expYear: year, cvc: '123' },
      },
    });
    const euId = (await json<{ id: string }>(euPm)).id;
    await expectProblem(
      await checkout({ bundleId: 'pro-plan', customer: { email: email() }, paymentMethodId: euId }),
      404,
      'not_found',
    );
    await expectProblem(
      await checkout({ bundleId: 'pro-plan', paymentMethodId: pm }),
      400,
      'validation_failed',
    );
    await expectProblem(
      await checkout({
        bundleId: 'pro-plan',
        customer: { email: 'not an email' },
        paymentMethodId: pm,
      }),
      400,
      'validation_failed',
    );
    await expectProblem(
      await checkout({
        bundleId: 'pro-plan',
        customer: { email: email() },
        paymentMethodId: pm,
        extra: 1,
      }),
      400,
      'validation_failed',
    );
    // A publishable key may not check out.
    const byPk = await call(host, '/v1/checkout', {
      method: 'POST',
      key: pk,
      body: { bundleId: 'pro-plan', customer: { email: email() }, paymentMethodId: pm },
    });
    expect(byPk.status).toBe(403);
  });

  it('another tenant’s key never sees a subscription; the same Idempotency-Key replays, other terms are refused', async () => {
    const pm = await tokenize('4242424242424242');
    const key = `idem-${unique()}`;
    const body = { bundleId: 'pro-plan', customer: { email: email() }, paymentMethodId: pm };
    const first = await checkout(body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const again = await checkout(body, { 'idempotency-key': key });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const a = await json<{ subscription: Sub }>(first);
    const b = await json<{ subscription: Sub }>(again);
    expect(b.subscription.id).toBe(a.subscription.id);
    await expectProblem(
      await checkout({ ...body, bundleId: 'enterprise' }, { 'idempotency-key': key }),
      422,
      'idempotency_key_reused',
    );
    const other = await createTenant();
    await publish();
    const peek = await call(
      other.hosts['us-store'] ?? '',
      `/v1/subscriptions/${a.subscription.id}`,
      {
        key: other.keys['us-store']?.secret ?? '',
      },
    );
    await expectProblem(peek, 404, 'not_found');
    // A command's key replays too.
    const p1 = await post(
      `/v1/subscriptions/${a.subscription.id}/pause`,
      {},
      { 'idempotency-key': key },
    );
    const p2 = await post(
      `/v1/subscriptions/${a.subscription.id}/pause`,
      {},
      { 'idempotency-key': key },
    );
    expect([p1.status, p2.status]).toEqual([200, 200]);
    expect(p2.headers.get('idempotent-replayed')).toBe('true');
    await expectProblem(
      await post(
        `/v1/subscriptions/${a.subscription.id}/pause`,
        { resumeAt: '2099-01-01T00:00:00Z' },
        { 'idempotency-key': key },
      ),
      422,
      'idempotency_key_reused',
    );
  });

  it('a customer token checks out for its own customer and sees only its own subscriptions', async () => {
    const created = await call(host, '/v1/customers', {
      method: 'POST',
      key: sk,
      body: { email: email() },
    });
    const customer = (await json<{ customer: { id: string } }>(created)).customer;
    const issued = await call(host, `/v1/customers/${customer.id}/tokens`, {
      method: 'POST',
      key: sk,
    });
    expect(issued.status).toBe(201);
    await publish(); // the tenant's first signing key reaches the edge
    const token = (await json<{ token: string }>(issued)).token;
    const pm = await tokenize('4242424242424242');
    const res = await call(host, '/v1/checkout', {
      method: 'POST',
      key: token,
      body: { bundleId: 'pro-plan', paymentMethodId: pm },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const { subscription } = await json<{ subscription: Sub }>(res);
    expect(subscription.customerId).toBe(customer.id);
    const mine = await call(host, `/v1/customers/${customer.id}/subscriptions`, { key: token });
    expect((await json<{ items: Sub[] }>(mine)).items.map((s) => s.id)).toEqual([subscription.id]);
    const someoneElse = await checkout({
      bundleId: 'pro-plan',
      customer: { email: email() },
      paymentMethodId: pm,
    });
    const theirs = (await json<{ subscription: Sub }>(someoneElse)).subscription.id;
    await expectProblem(
      await call(host, `/v1/subscriptions/${theirs}`, { key: token }),
      404,
      'not_found',
    );
  });
});

describe('killswitches', () => {
  it('feature:checkout stops new checkouts (503) and leaves existing subscriptions alone; a killed provider is skipped', async () => {
    const pm = await tokenize('4242424242424242');
    const existing = await checkout({
      bundleId: 'pro-plan',
      customer: { email: email() },
      paymentMethodId: pm,
    });
    const { subscription } = await json<{ subscription: Sub }>(existing);
    const op = await createOperator(t.tenantId, 'admin');
    const flip = (body: Record<string, unknown>) =>
      asOperator(op, 'POST', `/admin/v1/tenants/${t.slug}/killswitches`, {
        reason: 'drill',
        ...body,
      });
    expect((await flip({ scope: 'feature', target: 'checkout', engaged: true })).status).toBe(200);
    let blocked: Response | undefined;
    for (let i = 0; i < 80; i++) {
      blocked = await checkout({
        bundleId: 'pro-plan',
        customer: { email: email() },
        paymentMethodId: pm,
      });
      if (blocked.status === 503) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const problem = await expectProblem(blocked as Response, 503, 'killswitch_engaged');
    expect(problem.killswitch).toEqual({ scope: 'feature', target: 'checkout' });
    expect((await getSub(subscription.id)).status).toBe('active');
    expect((await flip({ scope: 'feature', target: 'checkout', engaged: false })).status).toBe(200);
    // Stripe killed for this tenant: a checkout goes to PayPal, the next in the route.
    expect((await flip({ scope: 'provider', target: 'stripe', engaged: true })).status).toBe(200);
    let provider: string | null = null;
    for (let i = 0; i < 80 && provider !== 'paypal'; i++) {
      const res = await checkout({
        bundleId: 'pro-plan',
        customer: { email: email() },
        paymentMethodId: pm,
      });
      if (res.status === 201) provider = (await json<{ payment: Pay }>(res)).payment.provider;
      else await res.body?.cancel();
      if (provider !== 'paypal') await new Promise((r) => setTimeout(r, 50));
    }
    expect(provider).toBe('paypal');
    await flip({ scope: 'provider', target: 'stripe', engaged: false });
    // Released: the route's first provider again (the next tests expect Stripe).
    for (let i = 0; i < 80 && provider !== 'stripe'; i++) {
      const res = await checkout({
        bundleId: 'pro-plan',
        customer: { email: email() },
        paymentMethodId: pm,
      });
      provider = res.status === 201 ? (await json<{ payment: Pay }>(res)).payment.provider : null;
      if (provider !== 'stripe') await new Promise((r) => setTimeout(r, 50));
    }
    expect(provider).toBe('stripe');
  });
});

describe('an unknown outcome is never charged twice', () => {
  it('a checkout whose provider timed out unasked is 202 pending; the object asks again and activates on the one capture', async () => {
    const op = await createOperator(t.tenantId, 'admin');
    const outage = (body: Record<string, unknown>) =>
      asOperator(op, 'PUT', `/admin/v1/tenants/${t.slug}/sandbox/providers/stripe`, {
        reason: 'drill',
        ...body,
      });
    const captures = async (provider: string) =>
      (
        (await env.SANDBOX_PROVIDER.get(
          env.SANDBOX_PROVIDER.idFromName(`${t.tenantId}:${provider}`),
        ).captures()) as { amount: number; idempotencyKey?: string }[]
      ).length;
    const before = { stripe: await captures('stripe'), paypal: await captures('paypal') };
    const clockId = await clock('2027-08-01T00:00:00Z');
    const pm = await tokenize('4242424242424242');
    expect(
      (await outage({ mode: 'timeout', captureBeforeTimeout: true, lookups: 'error' })).status,
    ).toBe(200);
    const res = await checkout({
      bundleId: 'pro-plan',
      customer: { email: email() },
      paymentMethodId: pm,
      testClockId: clockId,
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const { subscription, payment } = await json<{ subscription: Sub; payment: Pay }>(res);
    expect(payment.status).toBe('unknown');
    expect(subscription.status).toBe('incomplete');
    // Nothing else may charge meanwhile.
    const blocked = await post(`/v1/subscriptions/${subscription.id}/payment-method`, {
      paymentMethodId: await tokenize('4242424242424242'),
    });
    const problem = await expectProblem(blocked, 409, 'conflict');
    expect(problem.code).toBe('payment_pending');
    // The provider answers again: the next ask (after 60 s) finds the capture.
    expect((await outage({ mode: 'ok' })).status).toBe(200);
    expect(await advance(clockId, '2027-08-01T00:02:00Z')).toBeGreaterThanOrEqual(1);
    const now = await getSub(subscription.id);
    expect(now.status).toBe('active');
    expect(await captures('stripe')).toBe(before.stripe + 1);
    expect(await captures('paypal')).toBe(before.paypal);
    expect(await events(subscription.id)).toEqual(['created', 'payment_pending', 'activated']);
  });
});

describe('each attempt is its own payment, each answer-less attempt the same one', () => {
  it('a declined resume can be retried with a new card (a new payment, not the old decline replayed)', async () => {
    const { clockId, sub } = await onClock('2027-09-01T00:00:00Z');
    await advance(clockId, '2027-09-11T00:00:00Z');
    expect((await post(`/v1/subscriptions/${sub.id}/pause`, {})).status).toBe(200);
    await advance(clockId, '2027-10-20T00:00:00Z');
    const failing = await tokenize('4000000000000341');
    expect(
      (await post(`/v1/subscriptions/${sub.id}/payment-method`, { paymentMethodId: failing }))
        .status,
    ).toBe(200);
    await expectProblem(await post(`/v1/subscriptions/${sub.id}/resume`), 402, 'payment_declined');
    await expectProblem(await post(`/v1/subscriptions/${sub.id}/resume`), 402, 'payment_declined');
    const good = await tokenize('4242424242424242');
    expect(
      (await post(`/v1/subscriptions/${sub.id}/payment-method`, { paymentMethodId: good })).status,
    ).toBe(200);
    const resumed = await post(`/v1/subscriptions/${sub.id}/resume`);
    expect(resumed.status, await resumed.clone().text()).toBe(200);
    expect((await json<{ subscription: Sub }>(resumed)).subscription.status).toBe('active');
    const resumes = (await payments(sub.id)).filter((p) => p.purpose === 'resume');
    expect(resumes.map((p) => p.status)).toEqual(['declined', 'declined', 'succeeded']);
  });

  it('an answer lost after the charge is asked again under the same key: one payment, applied once', async () => {
    const { clockId, sub } = await onClock('2027-09-01T00:00:00Z');
    await advance(clockId, '2027-09-16T00:00:00Z');
    const stub = env.SUBSCRIPTION.get(env.SUBSCRIPTION.idFromName(sub.id));
    const pre = await post(`/v1/subscriptions/${sub.id}/change/preview`, {
      bundleId: 'enterprise',
      proration: 'always_invoice',
    });
    const preview = await json<{ amount: number; prorationDate: string }>(pre);
    // As if a change to enterprise had written its intent and was cut off before its answer
    // (an eviction mid-charge): the intent is all that is left of it.
    const enterprise = (
      await json<{
        bundles: { id: string; slug: string; name: string; price: Record<string, unknown> }[];
      }>(await call(host, '/v1/catalog', { key: pk }))
    ).bundles.find((b) => b.slug === 'enterprise');
    expect(enterprise).toBeTruthy();
    const e = enterprise as {
      id: string;
      slug: string;
      name: string;
      price: Record<string, unknown>;
    };
    const { runInDurableObject } = await import('cloudflare:test');
    await runInDurableObject(stub, async (_obj, state) => {
      const command = {
        type: 'change',
        bundle: { id: e.id, slug: e.slug, name: e.name },
        price: { ...e.price, bundleId: e.id, name: e.name },
        proration: 'always_invoice',
        prorationDate: Math.floor(Date.parse(preview.prorationDate) / 1000),
      };
      state.storage.sql.exec(
        'insert into intent (id, pending) values (1, ?)',
        JSON.stringify({ type: 'command', command, retryAt: 0, tries: 0 }),
      );
    });
    // The next call finds it: nothing else may charge until it is settled.
    const blocked = await post(`/v1/subscriptions/${sub.id}/pause`, {});
    expect((await expectProblem(blocked, 409, 'conflict')).code).toBe('payment_pending');
    // The clock's next step settles it: the change is made once, for the preview's amount.
    await advance(clockId, '2027-09-16T00:02:00Z');
    const now = await getSub(sub.id);
    expect(now.bundleSlug).toBe('enterprise');
    const changes = (await payments(sub.id)).filter((p) => p.purpose === 'plan_change');
    expect(changes.map((p) => [p.amount, p.status])).toEqual([[preview.amount, 'succeeded']]);
    expect((await post(`/v1/subscriptions/${sub.id}/pause`, {})).status).toBe(200);
  });
});
