/**
 * Complimentary grants in the customer entitlements object: held by id (a redelivery changes
 * nothing, a revocation once held stays, whatever order deliveries come in), folded with the
 * subscriptions by the same union, judged at read time against their expiry, and dropped a
 * while after they lapsed.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { CompGrant } from '../../src/contracts/customer-entitlements';
import type { SourceState } from '../../src/entitlements/fold';

const NOW = Math.floor(Date.now() / 1000);

const stub = () =>
  env.CUSTOMER_ENTITLEMENTS.get(
    env.CUSTOMER_ENTITLEMENTS.idFromName(`t:sf:test:cus_${crypto.randomUUID()}`),
  );

function comp(over: Partial<CompGrant> = {}): CompGrant {
  return {
    id: 'comp_01AAAAAAAAAAAAAAAAAAAAAAAA',
    key: 'calls',
    type: 'quota',
    value: { limit: 40, period: 'month' },
    levels: null,
    levelsVersion: null,
    createdAt: NOW - 10,
    expiresAt: NOW + 3_600,
    revokedAt: null,
    ...over,
  };
}

const subscription: SourceState = {
  subscriptionId: 'sub_x',
  status: 'active',
  billingIssue: false,
  cancelAtPeriodEnd: false,
  periodStart: NOW - 10,
  periodEnd: NOW + 86_400,
  graceEndsAt: null,
  clockNow: null,
  grants: [
    { key: 'calls', type: 'quota', value: { limit: 100, period: 'month' } },
    {
      key: 'care',
      type: 'tier',
      value: { level: 'email' },
      levels: ['email', 'priority', 'dedicated'],
      levelsVersion: 1,
    },
  ],
};

describe('complimentary grants', () => {
  it('union with a subscription: limits add, the grant id is a source; consumes spend the union', async () => {
    const s = stub();
    await s.apply({ subscriptionId: 'sub_x', upToSeq: 1, version: 1, state: subscription });
    expect(await s.putComps([comp()])).toEqual({ held: 1 });
    const calls = (await s.list()).find((e) => e.key === 'calls');
    expect(calls).toMatchObject({ active: true, quota: { limit: 140, remaining: 140 } });
    expect(calls?.source).toEqual(['comp_01AAAAAAAAAAAAAAAAAAAAAAAA', 'sub_x']);
    expect((await s.consume('calls', 140)).ok).toBe(true);
    expect((await s.consume('calls', 1)).ok).toBe(false);
  });

  it('a tier grant ranks by its declared order beside the subscription’s', async () => {
    const s = stub();
    await s.apply({ subscriptionId: 'sub_x', upToSeq: 1, version: 1, state: subscription });
    await s.putComps([
      comp({
        key: 'care',
        type: 'tier',
        value: { level: 'dedicated' },
        levels: ['email', 'priority', 'dedicated'],
        levelsVersion: 1,
      }),
    ]);
    expect((await s.list()).find((e) => e.key === 'care')?.tier?.level).toBe('dedicated');
  });

  it('held by id: a redelivery changes nothing, and a revocation stays even if the grant comes again', async () => {
    const s = stub();
    await s.putComps([comp()]);
    await s.putComps([comp({ value: { limit: 9_999, period: 'month' } })]); // terms never change
    expect((await s.list())[0]?.quota?.limit).toBe(40);
    await s.putComps([comp({ revokedAt: NOW })]);
    expect((await s.list())[0]).toMatchObject({ active: false });
    // An earlier delivery of the standing grant arrives late: still revoked.
    expect(await s.putComps([comp()])).toEqual({ held: 1 });
    expect((await s.list())[0]).toMatchObject({ active: false, source: [comp().id] });
    expect((await s.consume('calls', 1)).ok).toBe(false);
  });

  it('judged at read time: a grant past its expiry grants nothing, without a delivery', async () => {
    const s = stub();
    await s.putComps([comp({ key: 'dash', type: 'feature', value: { enabled: true } })]);
    expect((await s.list())[0]).toMatchObject({ active: true, enabled: true });
    await runInDurableObject(s, (_i, state) => {
      state.storage.sql.exec('update comps set expires_at = ?', Math.floor(Date.now() / 1000));
    });
    expect((await s.list())[0]).toMatchObject({ active: false, enabled: false });
  });

  it('a grant that lapsed more than 30 days ago is dropped', async () => {
    const s = stub();
    const old = comp({
      id: 'comp_01BBBBBBBBBBBBBBBBBBBBBBBB',
      createdAt: NOW - 90 * 86_400,
      expiresAt: NOW - 31 * 86_400,
    });
    const revokedLongAgo = comp({
      id: 'comp_01CCCCCCCCCCCCCCCCCCCCCCCC',
      createdAt: NOW - 90 * 86_400,
      expiresAt: NOW + 86_400,
      revokedAt: NOW - 31 * 86_400,
    });
    const recent = comp({ expiresAt: NOW - 86_400, createdAt: NOW - 2 * 86_400 });
    expect(await s.putComps([old, revokedLongAgo, recent])).toEqual({ held: 1 });
    expect((await s.list()).map((e) => e.source)).toEqual([[recent.id]]);
  });
});
