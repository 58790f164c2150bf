/**
 * The customer entitlements object and the subscription object's feed to it: a delivery is
 * applied once and never over a newer one (redeliveries and reordering are harmless), and a
 * state the entitlements object missed is delivered again by the subscription's alarm.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EntitlementsDelivery } from '../../src/contracts/customer-entitlements';
import { entitlementsObjectName } from '../../src/contracts/customer-entitlements';
import type { SourceState } from '../../src/entitlements/fold';
import { createTenant, globalcorpLikeSpec, publish, type TestTenant } from '../helpers/factories';
import { call } from '../helpers/http';
import {
  alarmOf,
  buyerEmail,
  createClock,
  type Shop,
  subscribe,
  subscriptionStub,
  tokenize,
} from '../helpers/subscriptions';

const NOW = Math.floor(Date.now() / 1000);

function stubOf(name: string) {
  return env.CUSTOMER_ENTITLEMENTS.get(env.CUSTOMER_ENTITLEMENTS.idFromName(name));
}

function state(over: Partial<SourceState> = {}): SourceState {
  return {
    subscriptionId: 'sub_x',
    status: 'active',
    billingIssue: false,
    cancelAtPeriodEnd: false,
    periodStart: NOW - 10,
    periodEnd: NOW + 1_000,
    graceEndsAt: null,
    clockNow: null,
    grants: [{ key: 'dash', type: 'feature', value: { enabled: true } }],
    ...over,
  };
}

const delivery = (upToSeq: number, version: number, s: SourceState): EntitlementsDelivery => ({
  subscriptionId: 'sub_x',
  upToSeq,
  version,
  state: s,
});

describe('apply', () => {
  it('applies a newer state once; an older or equal one is ignored', async () => {
    const stub = stubOf(`t:sf:test:cus_${crypto.randomUUID()}`);
    expect(await stub.apply(delivery(3, 3, state()))).toEqual({ applied: true, seq: 3 });
    // seq 2 arrives late (it was sent before 3): never applied over 3.
    expect(await stub.apply(delivery(2, 2, state({ status: 'cancelled' })))).toEqual({
      applied: false,
      seq: 3,
    });
    expect(await stub.apply(delivery(3, 3, state({ status: 'cancelled' })))).toEqual({
      applied: false,
      seq: 3,
    });
    expect((await stub.list())[0]?.active).toBe(true);
    // The same seq with a newer record (a save without events, a clock's time): applied.
    expect((await stub.apply(delivery(3, 4, state({ status: 'paused' })))).applied).toBe(true);
    expect((await stub.list())[0]?.active).toBe(false);
  });

  it('keeps its sources and counters across a restart', async () => {
    const name = `t:sf:test:cus_${crypto.randomUUID()}`;
    const stub = stubOf(name);
    const quota = state({
      grants: [{ key: 'calls', type: 'quota', value: { limit: 10, period: 'billing_period' } }],
    });
    await stub.apply(delivery(1, 1, quota));
    expect((await stub.consume('calls', 4)).ok).toBe(true);
    // A new instance reads what the old one wrote.
    await runInDurableObject(stub, (instance: unknown) => {
      const o = instance as { sources: Map<string, unknown> };
      o.sources.clear();
      (instance as { onStart(): void }).onStart();
    });
    const after = await stubOf(name).consume('calls', 6);
    expect(after).toMatchObject({ ok: true, remaining: 0 });
    expect(await stubOf(name).consume('calls', 1)).toMatchObject({
      ok: false,
      reason: 'quota_exhausted',
    });
  });
});

describe('the feed from the subscription object', () => {
  let t: TestTenant;
  let shop: Shop;
  beforeAll(async () => {
    t = await createTenant(globalcorpLikeSpec());
    shop = {
      host: t.hosts['us-store'] ?? '',
      sk: t.keys['us-store']?.secret ?? '',
      pk: t.keys['us-store']?.publishable ?? '',
      tenantId: t.tenantId,
    };
    await publish();
  });

  it('a delivery that fails is retried by the alarm; the call still answers', async () => {
    const clockId = await createClock(shop, '2027-02-01T00:00:00Z');
    const sub = await subscribe(shop, {
      bundleId: 'pro-plan',
      customer: { email: buyerEmail() },
      paymentMethodId: await tokenize(shop),
      testClockId: clockId,
    });
    const owner = await subscriptionStub(sub.id).owner();
    if (!owner) throw new Error('no owner');
    const ent = stubOf(entitlementsObjectName(owner));
    expect((await ent.list()).find((e) => e.key === 'api_access')?.active).toBe(true);
    // The entitlements object refuses deliveries for a while (RPC dispatches on the class).
    const proto = await runInDurableObject(
      ent,
      (instance: object) => Object.getPrototypeOf(instance) as { apply: unknown },
    );
    const realApply = proto.apply;
    proto.apply = async () => {
      throw new Error('entitlements unavailable');
    };
    const res = await call(shop.host, `/v1/subscriptions/${sub.id}/cancel`, {
      method: 'POST',
      key: shop.sk,
      body: { atPeriodEnd: false },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await ent.list()).find((e) => e.key === 'api_access')?.active).toBe(true); // stale
    // The subscription armed a retry, soon.
    const alarm = await alarmOf(sub.id);
    expect(alarm).not.toBeNull();
    expect(alarm ?? 0).toBeLessThan(Date.now() + 5_000);
    proto.apply = realApply;
    // The runtime may have run the retry already (it is due in a second); else run it now.
    await runDurableObjectAlarm(subscriptionStub(sub.id));
    const after = (await ent.list()).find((e) => e.key === 'api_access');
    expect(after).toMatchObject({ active: false, source: [sub.id] });
    const [cursor, last] = await runInDurableObject(subscriptionStub(sub.id), (_i, s) => [
      s.storage.sql
        .exec<{ seq: number }>("select seq from cursors where sink = 'entitlements'")
        .one().seq,
      s.storage.sql.exec<{ seq: number }>('select max(seq) as seq from events').one().seq,
    ]);
    expect(cursor).toBe(last);
  });
});
