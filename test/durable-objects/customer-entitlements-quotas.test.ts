/**
 * Quota counting in the customer entitlements object, per granting source: the gap between a
 * period's end and its renewal never grants anew, a plan change to a shorter cycle keeps what
 * was used until the new end, a daily part beside a monthly plan resets on its own, a counter
 * kept before per-source counting is adopted; and a slot cannot be confirmed past a shrunk grant.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { EntitlementsDelivery } from '../../src/contracts/customer-entitlements';
import type { SourceState } from '../../src/entitlements/fold';

const NOW = Math.floor(Date.now() / 1000);
const DAY = 86_400;

const stubOf = () =>
  env.CUSTOMER_ENTITLEMENTS.get(
    env.CUSTOMER_ENTITLEMENTS.idFromName(`t:sf:test:cus_${crypto.randomUUID()}`),
  );

function state(id: string, over: Partial<SourceState> = {}): SourceState {
  return {
    subscriptionId: id,
    status: 'active',
    billingIssue: false,
    cancelAtPeriodEnd: false,
    periodStart: NOW - DAY,
    periodEnd: NOW + 20 * DAY,
    graceEndsAt: null,
    clockNow: null,
    grants: [{ key: 'calls', type: 'quota', value: { limit: 10, period: 'billing_period' } }],
    ...over,
  };
}

let seq = 0;
const deliver = (s: SourceState): EntitlementsDelivery => {
  seq += 1;
  return { subscriptionId: s.subscriptionId, upToSeq: seq, version: seq, state: s };
};

async function quota(stub: ReturnType<typeof stubOf>) {
  return (await stub.list()).find((e) => e.key === 'calls')?.quota;
}

describe('quota parts', () => {
  it('a period that ended without its renewal keeps counting (no fresh units in the gap)', async () => {
    const stub = stubOf();
    // The period ended an hour ago; the renewal has not been delivered.
    await stub.apply(
      deliver(state('sub_a', { periodStart: NOW - 30 * DAY, periodEnd: NOW - 3600 })),
    );
    expect((await stub.consume('calls', 10)).ok).toBe(true);
    const more = await stub.consume('calls', 1);
    expect(more).toMatchObject({ ok: false, reason: 'quota_exhausted', remaining: 0 });
    expect(await quota(stub)).toMatchObject({ used: 10, remaining: 0 });
    // The renewal arrives: a new window, a fresh count.
    await stub.apply(
      deliver(state('sub_a', { periodStart: NOW - 3600, periodEnd: NOW + 29 * DAY })),
    );
    expect(await quota(stub)).toMatchObject({ used: 0, remaining: 10 });
  });

  it('a change to a shorter cycle keeps what was used, and resets at the new end', async () => {
    const stub = stubOf();
    await stub.apply(deliver(state('sub_a', { periodEnd: NOW + 300 * DAY })));
    expect((await stub.consume('calls', 4)).ok).toBe(true);
    const monthEnd = NOW + 20 * DAY;
    await stub.apply(deliver(state('sub_a', { periodEnd: monthEnd })));
    const q = await quota(stub);
    expect(q).toMatchObject({ limit: 10, used: 4, remaining: 6 });
    expect(q?.resetsAt).toBe(new Date(monthEnd * 1000).toISOString());
  });

  it('a daily part beside a monthly plan: limits add, each part resets in its own window', async () => {
    const stub = stubOf();
    const clock = NOW;
    await stub.apply(deliver(state('sub_month')));
    // The daily part is judged on a test clock, so the test can move its day.
    const daily = (at: number) =>
      state('sub_day', {
        clockNow: at,
        grants: [{ key: 'calls', type: 'quota', value: { limit: 5, period: 'day' } }],
      });
    await stub.apply(deliver(daily(clock)));
    expect(await quota(stub)).toMatchObject({ limit: 15, used: 0, remaining: 15 });
    // 7 units: the daily part (ending first) gives 5, the monthly one 2.
    expect(await stub.consume('calls', 7)).toMatchObject({ ok: true, remaining: 8 });
    await stub.apply(deliver(daily(clock + DAY)));
    // The day moved on: its 5 are back; the month's 2 stay used.
    expect(await quota(stub)).toMatchObject({ limit: 15, used: 2, remaining: 13 });
    expect((await stub.consume('calls', 13)).ok).toBe(true);
    expect((await stub.consume('calls', 1)).ok).toBe(false);
  });

  it('a counter kept before per-source counting is adopted, not lost', async () => {
    const stub = stubOf();
    await stub.apply(deliver(state('sub_a')));
    await runInDurableObject(stub, async (_o, ctx) => {
      ctx.storage.sql.exec(
        'insert into counters (key, used, window_end) values (?, ?, ?)',
        'calls',
        7,
        NOW + 20 * DAY,
      );
    });
    expect(await quota(stub)).toMatchObject({ used: 7, remaining: 3 });
    expect(await stub.consume('calls', 4)).toMatchObject({ ok: false, remaining: 3 });
    expect(await stub.consume('calls', 3)).toMatchObject({ ok: true, remaining: 0 });
  });
});

describe('slots', () => {
  it('a reservation cannot be confirmed past a grant that shrank meanwhile', async () => {
    const stub = stubOf();
    const seats = (count: number) =>
      state('sub_a', { grants: [{ key: 'seats', type: 'slots', value: { count } }] });
    await stub.apply(deliver(seats(2)));
    const opts = { leaseSeconds: 60, label: null, confirm: false };
    const a = await stub.reserveSlot('seats', { ...opts, confirm: true });
    const b = await stub.reserveSlot('seats', opts);
    expect(a.ok && b.ok).toBe(true);
    await stub.apply(deliver(seats(1))); // a downgrade
    const id = b.ok ? b.slot.id : '';
    expect(await stub.confirmSlot('seats', id)).toMatchObject({
      ok: false,
      reason: 'slots_exhausted',
    });
    await stub.apply(deliver({ ...seats(2), status: 'cancelled' }));
    expect(await stub.confirmSlot('seats', id)).toMatchObject({ ok: false, reason: 'inactive' });
  });
});
