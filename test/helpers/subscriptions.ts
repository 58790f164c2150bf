/**
 * Subscriptions through the worker, for tests: tokenizing cards, test clocks, checkouts, the
 * live state, events and payments of a subscription, the sandbox providers' captures, and
 * reaching into a subscription's object (its stored record, its copy to Postgres).
 *
 * The record is in the object's SQLite table `state` (one row, id 1, column `record`: the
 * SubscriptionRecord as JSON), loaded into memory when the object starts; {@link rewriteRecord}
 * changes both, as a restart after the change would find it.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { expect } from 'vitest';
import type { SubscriptionRecord } from '../../src/services/subscriptions/record';
import { unique } from './factories';
import { call, json } from './http';

/** The storefront the calls go to and its keys. */
export interface Shop {
  host: string;
  /** Secret key. */
  sk: string;
  /** Publishable key (tokenizing). */
  pk: string;
  tenantId: string;
}

export interface Sub {
  id: string;
  status: string;
  customerId: string;
  bundleId: string;
  bundleSlug: string;
  currentPeriodStart: string | null;
  currentPeriodEnd: string | null;
  latestInvoice: { key: string; amountDue: number } | null;
  testClockId: string | null;
}

export interface SubPayment {
  id: string;
  key: string;
  purpose: string;
  status: string;
  amount: number;
}

export interface SubEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  occurredAt: string;
}

/** Unix seconds as the API writes a time (`2031-01-15T12:00:00.000Z`). */
export const isoSeconds = (t: number) => new Date(t * 1000).toISOString();

export const CARD_OK = '4242424242424242';
export const CARD_DECLINED = '4000000000009995'; // insufficient_funds

const year = new Date().getFullYear() + 2;

export const buyerEmail = () => `buyer-${unique()}@example.com`;

/** `POST /v1/payment-methods` with the publishable key (needs Postgres): the method's id. */
export async function tokenize(shop: Shop, number = CARD_OK): Promise<string> {
  const res = await call(shop.host, '/v1/payment-methods', {
    method: 'POST',
    key: shop.pk,
    body: { type: 'card', card: { number, expMonth: 12, expYear: year, cvc: '123' } },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await json<{ id: string }>(res)).id;
}

/** `POST /v1/test-clocks` (needs Postgres): the clock's id. */
export async function createClock(shop: Shop, frozenTime: string): Promise<string> {
  const res = await call(shop.host, '/v1/test-clocks', {
    method: 'POST',
    key: shop.sk,
    body: { frozenTime },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await json<{ id: string }>(res)).id;
}

/** `POST /v1/test-clocks/{id}/advance`, answered as it is. */
export function advanceClock(shop: Shop, clockId: string, to: string): Promise<Response> {
  return call(shop.host, `/v1/test-clocks/${clockId}/advance`, {
    method: 'POST',
    key: shop.sk,
    body: { to },
  });
}

/** `POST /v1/checkout` with the secret key (or `key`), answered as it is. */
export function checkout(
  shop: Shop,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
  key = shop.sk,
): Promise<Response> {
  return call(shop.host, '/v1/checkout', { method: 'POST', key, body, headers });
}

/** A checkout that must answer 201: the subscription. */
export async function subscribe(shop: Shop, body: Record<string, unknown>): Promise<Sub> {
  const res = await checkout(shop, body);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await json<{ subscription: Sub }>(res)).subscription;
}

export async function getSub(shop: Shop, id: string): Promise<Sub> {
  const res = await call(shop.host, `/v1/subscriptions/${id}`, { key: shop.sk });
  expect(res.status, await res.clone().text()).toBe(200);
  return json<Sub>(res);
}

/** The whole event log (`GET /v1/subscriptions/{id}/events`), checked gap-free from 1. */
export async function subEvents(shop: Shop, id: string): Promise<SubEvent[]> {
  const res = await call(shop.host, `/v1/subscriptions/${id}/events?limit=500`, { key: shop.sk });
  expect(res.status, await res.clone().text()).toBe(200);
  const { items } = await json<{ items: SubEvent[] }>(res);
  expect(items.map((e) => e.seq)).toEqual(items.map((_, i) => i + 1));
  return items;
}

export async function subPayments(shop: Shop, id: string): Promise<SubPayment[]> {
  const res = await call(shop.host, `/v1/subscriptions/${id}/payments`, { key: shop.sk });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await json<{ items: SubPayment[] }>(res)).items;
}

/** Captures at the tenant's sandbox providers (idempotency key `<payment id>:<provider>`). */
export async function captures(
  tenantId: string,
  providers: readonly string[] = ['stripe', 'paypal'],
): Promise<{ idempotencyKey: string; reference?: string }[]> {
  const all = await Promise.all(
    providers.map((p) =>
      env.SANDBOX_PROVIDER.get(env.SANDBOX_PROVIDER.idFromName(`${tenantId}:${p}`)).captures(),
    ),
  );
  return all.flat() as { idempotencyKey: string; reference?: string }[];
}

/** The captures made for `paymentId` (any provider). */
export function capturesOf(all: { idempotencyKey: string }[], paymentId: string) {
  return all.filter((c) => c.idempotencyKey.startsWith(`${paymentId}:`));
}

export const subscriptionStub = (id: string) =>
  env.SUBSCRIPTION.get(env.SUBSCRIPTION.idFromName(id));
export const paymentStub = (id: string) => env.PAYMENT.get(env.PAYMENT.idFromName(id));

/**
 * Rewrites the subscription's stored record (and the copy the running object holds): `change`
 * edits it in place.
 */
export async function rewriteRecord(
  id: string,
  change: (r: SubscriptionRecord) => void,
): Promise<SubscriptionRecord> {
  return runInDurableObject(subscriptionStub(id), async (instance: unknown, state) => {
    const sql = state.storage.sql;
    const row = sql.exec<{ record: string }>('select record from state where id = 1').one();
    const r = JSON.parse(row.record) as SubscriptionRecord;
    change(r);
    sql.exec('update state set record = ? where id = 1', JSON.stringify(r));
    // The object loaded the record when it started (onStart): it holds the new one too.
    (instance as { record: SubscriptionRecord }).record = structuredClone(r);
    return r;
  });
}

/**
 * Moves the whole timeline of a subscription (creation, the cycle's anchor, the period, the
 * lifecycle's times, and the times of its events and payments) `seconds` into the past, so that
 * what was due in `seconds` is due now — consistently: the period still ends on a boundary of
 * its cycle, and nothing it did is later than now.
 */
export async function backdate(id: string, seconds: number): Promise<SubscriptionRecord> {
  const r = await rewriteRecord(id, (r) => {
    r.createdAt -= seconds;
    r.billing.anchor -= seconds;
    r.billing.period.start -= seconds;
    r.billing.period.end -= seconds;
    const l = r.lifecycle;
    l.since -= seconds;
    l.lastEventAt -= seconds;
    if (l.periodEnd !== null) l.periodEnd -= seconds;
  });
  await runInDurableObject(subscriptionStub(id), (_i, state) => {
    const sql = state.storage.sql;
    sql.exec('update events set at = at - ?', seconds);
    const rows = sql
      .exec<{ id: string; created_at: string }>('select id, created_at from payments')
      .toArray();
    for (const p of rows) {
      const at = Math.floor(Date.parse(p.created_at) / 1000) - seconds;
      sql.exec('update payments set created_at = ? where id = ?', isoSeconds(at), p.id);
    }
  });
  return r;
}

/** The alarm set in the object (epoch ms), or null. */
export function alarmOf(id: string): Promise<number | null> {
  return runInDurableObject(subscriptionStub(id), (_i, state) => state.storage.getAlarm());
}

/**
 * Drives a subscription's copy to Postgres by its alarm, as the runtime would (the retry alarm
 * is minutes away after a few failures): runs the alarm until `copied()` says everything is
 * there, at most `tries` times. Answers the last `copied()` and how many runs found no alarm
 * set while the object was still behind (an object behind Postgres with no alarm would never
 * catch up — unless the runtime's own alarm run was under way at that moment).
 */
export async function drainSubscription(id: string, tries = 5) {
  const stub = subscriptionStub(id);
  let state = await stub.copied();
  let noAlarm = 0;
  for (let i = 0; i < tries && !state.copied; i++) {
    const ran = await runDurableObjectAlarm(stub);
    state = await stub.copied();
    if (!ran && !state.copied) noAlarm += 1;
  }
  return { ...state, noAlarm };
}

/**
 * The alarm once the object has settled: its copy to Postgres made (by the alarm if need be)
 * and, if the alarm is still the earlier one a copy retry set (a call waits at most 2 s for its
 * copy, then arms a retry), that early alarm run — which finds nothing due and arms for what
 * is. So the answer is the alarm of the object's own schedule, whatever the machine's speed.
 */
export async function settledAlarm(id: string): Promise<number | null> {
  const stub = subscriptionStub(id);
  expect((await drainSubscription(id)).copied, `${id}: copied to Postgres`).toBe(true);
  const due = await stub.nextDue();
  const alarm = await alarmOf(id);
  if (alarm !== null && due !== null && alarm < due * 1000) {
    await runDurableObjectAlarm(stub);
    return alarmOf(id);
  }
  return alarm;
}

/** The same for a payment's object: whether Postgres has it. */
export async function drainPayment(id: string, tries = 5): Promise<boolean> {
  const stub = paymentStub(id);
  let copied = await stub.copied();
  for (let i = 0; i < tries && !copied; i++) {
    await runDurableObjectAlarm(stub);
    copied = await stub.copied();
  }
  return copied;
}
