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
