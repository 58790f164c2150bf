/**
 * Entitlements through the worker: activation by the subscription's status (read-your-writes at
 * checkout, cancel now and at period end, dunning's grace), the union over a customer's
 * subscriptions, exact quota consumes and the reset at the next billing period (test clocks).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { applyTenantSpec } from '../../src/services/tenant-config/apply';
import type { TenantSpecInput } from '../../src/services/tenant-config/spec';
import {
  createTenant,
  globalcorpLikeSpec,
  publish,
  type TestTenant,
  withDb,
} from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import {
  advanceClock,
  buyerEmail,
  CARD_OK,
  checkout,
  createClock,
  type Shop,
  subscribe,
  tokenize,
} from '../helpers/subscriptions';

interface Entitlement {
  key: string;
  type: string;
  active: boolean;
  billingIssue: boolean;
  source: string[];
  quota?: { limit: number; used: number; remaining: number; resetsAt: string };
  slots?: { count: number; used: number; available: number };
  tier?: { level: string; detail: string | null };
  enabled?: boolean;
}
interface Check {
  allowed: boolean;
  reason: string;
  entitlement: Entitlement | null;
}

let t: TestTenant;
let shop: Shop;
let spec: TenantSpecInput;

beforeAll(async () => {
  const base = globalcorpLikeSpec();
  spec = {
    ...base,
    entitlements: [
      ...(base.entitlements ?? []),
      { key: 'calls', name: 'Calls', type: 'quota', unit: 'calls' },
      { key: 'dash', name: 'Dashboard', type: 'feature' },
      { key: 'seats', name: 'Seats', type: 'slots' },
      // Declared order ≠ code-point order ('dedicated' < 'email' < 'priority'), so a fold that
      // ranked by spelling would fail the unions below.
      { key: 'care', name: 'Care', type: 'tier', levels: ['email', 'priority', 'dedicated'] },
      // Reordered by the 'tier order' test (silver on top at first, then gold).
      { key: 'lane', name: 'Lane', type: 'tier', levels: ['gold', 'silver'] },
    ],
    bundles: [
      ...(base.bundles ?? []),
      {
        slug: 'ent-basic',
        name: 'Basic',
        entitlements: [
          { key: 'calls', value: { limit: 150, period: 'billing_period' } },
          { key: 'dash', value: { enabled: true } },
          { key: 'seats', value: { count: 2 } },
          { key: 'care', value: { level: 'email' } },
        ],
        prices: [{ storefront: 'us-store', amount: 900 }],
      },
      {
        slug: 'ent-plus',
        name: 'Plus',
        entitlements: [
          { key: 'calls', value: { limit: 100, period: 'billing_period' } },
          { key: 'seats', value: { count: 3 } },
          { key: 'care', value: { level: 'dedicated', detail: '24/7' } },
        ],
        prices: [{ storefront: 'us-store', amount: 1900 }],
      },
      {
        slug: 'ent-silver',
        name: 'Silver',
        entitlements: [{ key: 'lane', value: { level: 'silver' } }],
        prices: [{ storefront: 'us-store', amount: 500 }],
      },
      {
        slug: 'ent-gold',
        name: 'Gold',
        entitlements: [{ key: 'lane', value: { level: 'gold' } }],
        prices: [{ storefront: 'us-store', amount: 700 }],
      },
    ],
  };
  t = await createTenant(spec);
  shop = {
    host: t.hosts['us-store'] ?? '',
    sk: t.keys['us-store']?.secret ?? '',
    pk: t.keys['us-store']?.publishable ?? '',
    tenantId: t.tenantId,
  };
  await publish();
});

async function onClock(bundleId: string, at: string, email = buyerEmail(), card = CARD_OK) {
  const clockId = await createClock(shop, at);
  const sub = await subscribe(shop, {
    bundleId,
    customer: { email },
    paymentMethodId: await tokenize(shop, card),
    testClockId: clockId,
  });
  return { clockId, sub };
}

async function check(customerId: string, key: string): Promise<Check> {
  const res = await call(shop.host, '/v1/entitlements/check', {
    method: 'POST',
    key: shop.sk,
    body: { customerId, key },
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return json<Check>(res);
}

function consume(customerId: string, key: string, quantity: number): Promise<Response> {
  return call(shop.host, `/v1/entitlements/${key}/consume`, {
    method: 'POST',
    key: shop.sk,
    body: { customerId, quantity },
  });
}

function post(path: string, body: unknown): Promise<Response> {
  return call(shop.host, path, { method: 'POST', key: shop.sk, body });
}

async function advance(clockId: string, to: string) {
  const res = await advanceClock(shop, clockId, to);
  expect(res.status, await res.clone().text()).toBe(200);
}

describe('activation', () => {
  it('a checkout’s 201 already grants (read-your-writes), with the customer’s own token', async () => {
    const created = await post('/v1/customers', { email: buyerEmail() });
    const customer = (await json<{ customer: { id: string } }>(created)).customer;
    const issued = await post(`/v1/customers/${customer.id}/tokens`, undefined);
    expect(issued.status).toBe(201);
    await publish(); // the tenant's first signing key reaches the edge
    const token = (await json<{ token: string }>(issued)).token;
    const res = await call(shop.host, '/v1/checkout', {
      method: 'POST',
      key: token,
      body: { bundleId: 'ent-basic', paymentMethodId: await tokenize(shop) },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const { subscription } = await json<{ subscription: { id: string } }>(res);
    // No wait, no retry: the first read after the 201.
    const got = await call(shop.host, '/v1/entitlements', { key: token });
    expect(got.status, await got.clone().text()).toBe(200);
    const body = await json<{ customerId: string; entitlements: Entitlement[]; token: string }>(
      got,
    );
    expect(body.customerId).toBe(customer.id);
    expect(body.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const by = new Map(body.entitlements.map((e) => [e.key, e]));
    expect(by.get('calls')).toMatchObject({
      type: 'quota',
      active: true,
      billingIssue: false,
      source: [subscription.id],
      quota: { limit: 150, used: 0, remaining: 150 },
    });
    expect(by.get('dash')).toMatchObject({ active: true, enabled: true });
    expect(by.get('seats')?.slots).toEqual({ count: 2, used: 0, available: 2 });
    expect(by.get('care')?.tier).toEqual({ level: 'email', detail: null });
    // A customer token consumes its own quota.
    const spent = await call(shop.host, '/v1/entitlements/calls/consume', {
      method: 'POST',
      key: token,
      body: { quantity: 5 },
    });
    expect(spent.status, await spent.clone().text()).toBe(200);
    expect((await json<{ remaining: number }>(spent)).remaining).toBe(145);
    // …and never another customer's.
    const other = await call(shop.host, '/v1/entitlements/calls/consume', {
      method: 'POST',
      key: token,
      body: { customerId: 'cus_01AAAAAAAAAAAAAAAAAAAAAAAA', quantity: 1 },
    });
    await expectProblem(other, 403, 'forbidden');
  });

  it('cancel now ends access now', async () => {
    const { sub } = await onClock('ent-basic', '2027-03-01T00:00:00Z');
    expect((await check(sub.customerId, 'dash')).allowed).toBe(true);
    const res = await post(`/v1/subscriptions/${sub.id}/cancel`, { atPeriodEnd: false });
    expect(res.status).toBe(200);
    const after = await check(sub.customerId, 'dash');
    expect(after).toMatchObject({ allowed: false, reason: 'inactive' });
    expect(after.entitlement?.source).toEqual([sub.id]);
    await expectProblem(await consume(sub.customerId, 'calls', 1), 409, 'invalid_state');
  });

  it('cancel at period end keeps access until the clock passes the period end', async () => {
    const { clockId, sub } = await onClock('ent-basic', '2027-03-01T00:00:00Z');
    const res = await post(`/v1/subscriptions/${sub.id}/cancel`, { atPeriodEnd: true });
    expect(res.status).toBe(200);
    await advance(clockId, '2027-03-31T23:00:00Z');
    expect((await check(sub.customerId, 'dash')).allowed).toBe(true);
    await advance(clockId, '2027-04-01T00:00:01Z');
    expect(await check(sub.customerId, 'dash')).toMatchObject({
      allowed: false,
      reason: 'inactive',
    });
  });

  it('past_due within grace still grants, marked with a billing issue; not after it', async () => {
    const { clockId, sub } = await onClock('ent-basic', '2027-05-10T00:00:00Z');
    const failing = await tokenize(shop, '4000000000000341'); // every charge declines
    const set = await post(`/v1/subscriptions/${sub.id}/payment-method`, {
      paymentMethodId: failing,
    });
    expect(set.status).toBe(200);
    await advance(clockId, '2027-06-10T01:00:00Z');
    const now = await check(sub.customerId, 'dash');
    expect(now).toMatchObject({ allowed: true, reason: 'active_billing_issue' });
    expect(now.entitlement).toMatchObject({ active: true, billingIssue: true });
    // Dunning exhausted (the spec's 14 days of grace): the subscription ends, access too.
    await advance(clockId, '2027-06-30T00:00:00Z');
    expect((await check(sub.customerId, 'dash')).allowed).toBe(false);
  });

  it('trialing grants; paused does not, and resuming grants again', async () => {
    const clockId = await createClock(shop, '2027-07-01T00:00:00Z');
    const sub = await subscribe(shop, {
      bundleId: 'ent-basic',
      customer: { email: buyerEmail() },
      paymentMethodId: await tokenize(shop),
      testClockId: clockId,
      trialDays: 7,
    });
    expect(sub.status).toBe('trialing');
    expect(await check(sub.customerId, 'dash')).toMatchObject({ allowed: true, reason: 'active' });
    await advance(clockId, '2027-07-09T00:00:00Z'); // converted: the first charge paid
    const paused = await post(`/v1/subscriptions/${sub.id}/pause`, {});
    expect(paused.status, await paused.clone().text()).toBe(200);
    expect(await check(sub.customerId, 'dash')).toMatchObject({
      allowed: false,
      reason: 'inactive',
    });
    await expectProblem(await consume(sub.customerId, 'calls', 1), 409, 'invalid_state');
    const resumed = await post(`/v1/subscriptions/${sub.id}/resume`, undefined);
    expect(resumed.status, await resumed.clone().text()).toBe(200);
    expect((await check(sub.customerId, 'dash')).allowed).toBe(true);
  });

  it('a declined first payment (incomplete) grants nothing, nor once it expired', async () => {
    const clockId = await createClock(shop, '2027-08-01T00:00:00Z');
    const res = await checkout(shop, {
      bundleId: 'ent-basic',
      customer: { email: buyerEmail() },
      paymentMethodId: await tokenize(shop, '4000000000000002'),
      testClockId: clockId,
    });
    const problem = await expectProblem(res, 402, 'payment_declined');
    const sub = problem.subscription as { id: string; customerId: string; status: string };
    expect(sub.status).toBe('incomplete');
    expect(await check(sub.customerId, 'dash')).toMatchObject({
      allowed: false,
      reason: 'inactive',
    });
    await advance(clockId, '2027-08-02T00:00:00Z');
    const after = await check(sub.customerId, 'dash');
    expect(after).toMatchObject({ allowed: false, reason: 'inactive' });
    expect(after.entitlement?.source).toEqual([sub.id]);
  });

  it('two subscriptions, one in dunning: the paid one still grants, without a billing issue', async () => {
    const email = buyerEmail();
    const paid = await onClock('ent-plus', '2027-05-01T00:00:00Z', email);
    const dunned = await onClock('ent-basic', '2027-05-10T00:00:00Z', email);
    expect(dunned.sub.customerId).toBe(paid.sub.customerId);
    const failing = await tokenize(shop, '4000000000000341');
    await post(`/v1/subscriptions/${dunned.sub.id}/payment-method`, { paymentMethodId: failing });
    await advance(dunned.clockId, '2027-06-10T01:00:00Z');
    const customerId = paid.sub.customerId;
    const calls = await check(customerId, 'calls');
    expect(calls.entitlement).toMatchObject({ active: true, billingIssue: false });
    expect(calls.entitlement?.quota?.limit).toBe(250); // quotas add (in grace)
    expect(calls.entitlement?.source.sort()).toEqual([paid.sub.id, dunned.sub.id].sort());
    const care = await check(customerId, 'care');
    // The declared order: `dedicated` > `email`, though it sorts first by spelling.
    expect(care.entitlement?.tier).toEqual({ level: 'dedicated', detail: '24/7' });
    // What only the dunned one grants carries its billing issue.
    expect((await check(customerId, 'dash')).reason).toBe('active_billing_issue');
    // Dunning ends the dunned one: the paid one's grants stay.
    await advance(dunned.clockId, '2027-06-30T00:00:00Z');
    const later = await check(customerId, 'calls');
    expect(later).toMatchObject({ allowed: true, reason: 'active' });
    expect(later.entitlement?.quota?.limit).toBe(100);
    expect(later.entitlement?.source).toEqual([paid.sub.id]);
    expect((await check(customerId, 'dash')).allowed).toBe(false);
  });
});

describe('quotas', () => {
  it('200 concurrent consumes of 1 against 150: exactly 150 succeed, 50 get 429 and spend nothing', async () => {
    const { sub } = await onClock('ent-basic', '2027-08-01T00:00:00Z');
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => consume(sub.customerId, 'calls', 1)),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(150);
    expect(statuses.filter((s) => s === 429)).toHaveLength(50);
    const refused = answers.find((r) => r.status === 429);
    const problem = await expectProblem(refused as Response, 429, 'quota_exhausted');
    expect(problem.resetsAt).toBe('2027-09-01T00:00:00.000Z');
    expect(problem.remaining).toBe(0);
    await Promise.all(answers.filter((r) => r !== refused).map((r) => r.body?.cancel()));
    const e = (await check(sub.customerId, 'calls')).entitlement;
    expect(e?.quota).toEqual({
      limit: 150,
      used: 150,
      remaining: 0,
      resetsAt: '2027-09-01T00:00:00.000Z',
    });
  });

  it('a consume that would exceed is refused whole; the next billing period resets the quota', async () => {
    const { clockId, sub } = await onClock('ent-basic', '2027-08-01T00:00:00Z');
    const ok = await consume(sub.customerId, 'calls', 100);
    expect(await json(ok)).toEqual({ remaining: 50, resetsAt: '2027-09-01T00:00:00.000Z' });
    const over = await consume(sub.customerId, 'calls', 51);
    const problem = await expectProblem(over, 429, 'quota_exhausted');
    expect(problem.remaining).toBe(50);
    expect((await check(sub.customerId, 'calls')).entitlement?.quota?.used).toBe(100);
    await advance(clockId, '2027-09-01T01:00:00Z'); // renewed, paid
    const next = await consume(sub.customerId, 'calls', 1);
    expect(await json(next)).toEqual({ remaining: 149, resetsAt: '2027-10-01T00:00:00.000Z' });
  });

  it('an Idempotency-Key makes a retry free; the same key for another quantity is a 422', async () => {
    const { sub } = await onClock('ent-basic', '2027-08-01T00:00:00Z');
    const send = (quantity: number, idem: string) =>
      call(shop.host, '/v1/entitlements/calls/consume', {
        method: 'POST',
        key: shop.sk,
        body: { customerId: sub.customerId, quantity },
        headers: { 'idempotency-key': idem },
      });
    const retries = await Promise.all([send(10, 'meter-0001'), send(10, 'meter-0001')]);
    const bodies = await Promise.all(retries.map((r) => json<{ remaining: number }>(r)));
    expect(bodies).toEqual([
      { remaining: 140, resetsAt: '2027-09-01T00:00:00.000Z' },
      { remaining: 140, resetsAt: '2027-09-01T00:00:00.000Z' },
    ]);
    expect(retries.map((r) => r.headers.get('idempotent-replayed')).sort()).toEqual(
      ['true', null].sort(),
    );
    await expectProblem(await send(11, 'meter-0001'), 422, 'idempotency_key_reused');
    // A refused consume is not kept: the same key asks anew once the quota allows it.
    await expectProblem(await send(500, 'meter-0002'), 429, 'quota_exhausted');
    expect((await send(5, 'meter-0003')).status).toBe(200);
    expect((await check(sub.customerId, 'calls')).entitlement?.quota?.used).toBe(15);
  });

  it('bad input is a 4xx: a missing customerId with a secret key, a bad key or quantity', async () => {
    const res = await call(shop.host, '/v1/entitlements/calls/consume', {
      method: 'POST',
      key: shop.sk,
      body: { quantity: 1 },
    });
    await expectProblem(res, 400, 'validation_failed');
    await expectProblem(
      await consume('cus_01AAAAAAAAAAAAAAAAAAAAAAAA', 'Bad-Key', 1),
      400,
      'validation_failed',
    );
    await expectProblem(
      await consume('cus_01AAAAAAAAAAAAAAAAAAAAAAAA', 'calls', 0),
      400,
      'validation_failed',
    );
    const none = await check('cus_01AAAAAAAAAAAAAAAAAAAAAAAA', 'calls');
    expect(none).toEqual({ allowed: false, reason: 'not_granted', entitlement: null });
  });
});

describe('plan changes', () => {
  it('a change re-sizes the quota at once, keeping what was used', async () => {
    const { sub } = await onClock('ent-basic', '2027-10-01T00:00:00Z');
    expect((await consume(sub.customerId, 'calls', 120)).status).toBe(200);
    const res = await post(`/v1/subscriptions/${sub.id}/change`, { bundleId: 'ent-plus' });
    expect(res.status, await res.clone().text()).toBe(200);
    const e = (await check(sub.customerId, 'calls')).entitlement;
    expect(e?.quota).toMatchObject({ limit: 100, used: 120, remaining: 0 });
    expect((await check(sub.customerId, 'dash')).allowed).toBe(false); // Plus has no dashboard
    expect((await check(sub.customerId, 'care')).entitlement?.tier?.level).toBe('dedicated');
    await expectProblem(await consume(sub.customerId, 'calls', 1), 429, 'quota_exhausted');
  });
});

describe('slots', () => {
  const slotCall = (method: string, path: string, body?: unknown) =>
    call(shop.host, path, { method, key: shop.sk, ...(body === undefined ? {} : { body }) });

  it('never more slots than granted (reserved and confirmed count); a lapsed reservation frees its slot; release frees one', async () => {
    const { sub } = await onClock('ent-basic', '2027-03-01T00:00:00Z');
    const customerId = sub.customerId;
    const base = `/v1/entitlements/seats/slots`;
    // Two seats: 20 concurrent reservations → exactly 2.
    const tries = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        slotCall('POST', base, { customerId, label: `seat ${i}`, leaseSeconds: 1 }),
      ),
    );
    expect(tries.filter((r) => r.status === 201)).toHaveLength(2);
    const refused = tries.find((r) => r.status === 409) as Response;
    const problem = await expectProblem(refused, 409, 'slots_exhausted');
    expect(problem.slots).toEqual({ count: 2, used: 2, available: 0 });
    for (const r of tries) if (!r.bodyUsed) await r.body?.cancel();
    // The leases (1 s) lapse: both slots are free again.
    await new Promise((r) => setTimeout(r, 1_200));
    const a = await slotCall('POST', base, { customerId, confirm: true });
    expect(a.status, await a.clone().text()).toBe(201);
    const held = await json<{ slot: { id: string; status: string }; slots: { used: number } }>(a);
    expect(held.slot.status).toBe('confirmed');
    const b = await slotCall('POST', base, { customerId, leaseSeconds: 60 });
    const reserved = await json<{ slot: { id: string; status: string } }>(b);
    expect(reserved.slot.status).toBe('reserved');
    await expectProblem(await slotCall('POST', base, { customerId }), 409, 'slots_exhausted');
    // Confirm the reservation; release the first: one free.
    const confirmed = await slotCall(
      'POST',
      `${base}/${reserved.slot.id}/confirm?customerId=${customerId}`,
    );
    expect((await json<{ slot: { status: string } }>(confirmed)).slot.status).toBe('confirmed');
    const released = await slotCall('DELETE', `${base}/${held.slot.id}?customerId=${customerId}`);
    expect((await json<{ slots: { used: number; available: number } }>(released)).slots).toEqual({
      count: 2,
      used: 1,
      available: 1,
    });
    await expectProblem(
      await slotCall('DELETE', `${base}/${held.slot.id}?customerId=${customerId}`),
      404,
      'not_found',
    );
    // The entitlements list shows the slots in use.
    const seats = (await check(customerId, 'seats')).entitlement;
    expect(seats?.slots).toEqual({ count: 2, used: 1, available: 1 });
    // A quota is not slots.
    await expectProblem(
      await slotCall('POST', '/v1/entitlements/calls/slots', { customerId }),
      409,
      'invalid_state',
    );
  });
});

describe('tier order', () => {
  it('a definition reordered between two checkouts: the newest order decides', async () => {
    const email = buyerEmail();
    // Published with silver on top: the first subscription keeps that order with its grant.
    const first = await subscribe(shop, {
      bundleId: 'ent-silver',
      customer: { email },
      paymentMethodId: await tokenize(shop),
    });
    expect((await check(first.customerId, 'lane')).entitlement?.tier?.level).toBe('silver');
    // The tenant puts gold on top; a second checkout is made with the new order.
    const reordered = {
      ...spec,
      entitlements: spec.entitlements?.map((e) =>
        e.key === 'lane' ? { ...e, levels: ['silver', 'gold'] } : e,
      ),
    };
    await withDb((db) => applyTenantSpec(db, reordered));
    await publish();
    const second = await subscribe(shop, {
      bundleId: 'ent-gold',
      customer: { email },
      paymentMethodId: await tokenize(shop),
    });
    expect(second.customerId).toBe(first.customerId);
    // Neither the first order (silver) nor code-point order (silver > gold): the newest.
    const lane = await check(first.customerId, 'lane');
    expect(lane.entitlement?.tier?.level).toBe('gold');
    expect(lane.entitlement?.source.sort()).toEqual([first.id, second.id].sort());
  });
});
