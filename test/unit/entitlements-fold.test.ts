import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  activation,
  allows,
  foldEntitlements,
  type Grant,
  type SourceState,
} from '../../src/entitlements/fold';
import type { SubscriptionStatus } from '../../src/subscriptions/lifecycle';

const NOW = 1_800_000_000;

function source(over: Partial<SourceState> = {}): SourceState {
  return {
    subscriptionId: 'sub_a',
    status: 'active',
    billingIssue: false,
    cancelAtPeriodEnd: false,
    periodStart: NOW - 1_000,
    periodEnd: NOW + 1_000,
    graceEndsAt: null,
    clockNow: null,
    grants: [
      { key: 'api', type: 'quota', value: { limit: 100, period: 'billing_period' } },
      { key: 'dash', type: 'feature', value: { enabled: true } },
      { key: 'seats', type: 'slots', value: { count: 2 } },
      { key: 'support', type: 'tier', value: { level: 'email' } },
    ],
    ...over,
  };
}

describe('activation', () => {
  it('active and trialing grant; cancel-at-period-end until the period end', () => {
    expect(activation(source(), NOW).active).toBe(true);
    expect(activation(source({ status: 'trialing' }), NOW).active).toBe(true);
    const cancelling = source({ cancelAtPeriodEnd: true });
    expect(activation(cancelling, NOW + 999).active).toBe(true);
    expect(activation(cancelling, NOW + 1_000).active).toBe(false);
  });

  it('past_due grants within grace, with a billing issue', () => {
    const due = source({ status: 'past_due', billingIssue: true, graceEndsAt: NOW + 10 });
    expect(activation(due, NOW)).toEqual({ active: true, billingIssue: true });
    expect(activation(due, NOW + 10)).toEqual({ active: false, billingIssue: true });
    expect(activation(source({ status: 'past_due', graceEndsAt: null }), NOW).active).toBe(false);
  });

  it.each<SubscriptionStatus>(['paused', 'incomplete', 'incomplete_expired', 'ended', 'cancelled'])(
    '%s grants nothing',
    (status) => {
      expect(activation(source({ status }), NOW).active).toBe(false);
    },
  );
});

describe('foldEntitlements', () => {
  it('adds quotas and slots, ORs features, takes the highest tier', () => {
    const a = source();
    const b = source({
      subscriptionId: 'sub_b',
      periodEnd: NOW + 500,
      grants: [
        { key: 'api', type: 'quota', value: { limit: 50, period: 'billing_period' } },
        { key: 'dash', type: 'feature', value: { enabled: false } },
        { key: 'seats', type: 'slots', value: { count: 3 } },
        { key: 'support', type: 'tier', value: { level: 'priority', detail: '24/7' } },
      ],
    });
    const out = foldEntitlements([a, b], NOW, { support: ['email', 'priority', 'dedicated'] });
    const by = new Map(out.map((e) => [e.key, e]));
    expect(by.get('api')?.quota).toEqual({ limit: 150, windowEnd: NOW + 500, now: NOW });
    expect(by.get('api')?.source).toEqual(['sub_a', 'sub_b']);
    expect(by.get('seats')?.slots).toEqual({ count: 5 });
    expect(by.get('dash')?.enabled).toBe(true);
    expect(by.get('support')?.tier).toEqual({ level: 'priority', detail: '24/7' });
    // The declared order decides, not the spelling.
    const reversed = foldEntitlements([a, b], NOW, { support: ['priority', 'email'] });
    expect(reversed.find((e) => e.key === 'support')?.tier?.level).toBe('email');
  });

  it('lists what only inactive subscriptions grant as inactive', () => {
    const out = foldEntitlements([source({ status: 'cancelled' })], NOW);
    expect(out.every((e) => !e.active)).toBe(true);
    expect(out[0]?.source).toEqual(['sub_a']);
    expect(allows(out[0])).toEqual({ allowed: false, reason: 'inactive' });
    expect(allows(undefined).allowed).toBe(false);
  });

  it('judges a test-clock subscription at its clock time', () => {
    const s = source({ cancelAtPeriodEnd: true, clockNow: NOW + 2_000 });
    expect(foldEntitlements([s], NOW)[0]?.active).toBe(false);
  });
});

const statusArb = fc.constantFrom<SubscriptionStatus>(
  'active',
  'trialing',
  'past_due',
  'paused',
  'incomplete',
  'incomplete_expired',
  'ended',
  'cancelled',
);
const grantArb: fc.Arbitrary<Grant> = fc.oneof(
  fc.record({
    key: fc.constantFrom('q1', 'q2'),
    type: fc.constant('quota' as const),
    value: fc.record({
      limit: fc.integer({ min: 1, max: 1_000 }),
      period: fc.constantFrom('billing_period', 'day', 'month'),
    }),
  }),
  fc.record({
    key: fc.constant('f1'),
    type: fc.constant('feature' as const),
    value: fc.record({ enabled: fc.boolean() }),
  }),
  fc.record({
    key: fc.constant('s1'),
    type: fc.constant('slots' as const),
    value: fc.record({ count: fc.integer({ min: 0, max: 20 }) }),
  }),
  fc.record({
    key: fc.constant('t1'),
    type: fc.constant('tier' as const),
    value: fc.record({ level: fc.constantFrom('a', 'b', 'c', 'z') }),
  }),
);
const sourceArb = (id: string) =>
  fc.record({
    subscriptionId: fc.constant(id),
    status: statusArb,
    billingIssue: fc.boolean(),
    cancelAtPeriodEnd: fc.boolean(),
    periodStart: fc.integer({ min: NOW - 10_000, max: NOW }),
    periodEnd: fc.integer({ min: NOW - 100, max: NOW + 10_000 }),
    graceEndsAt: fc.option(fc.integer({ min: NOW - 100, max: NOW + 100 })),
    clockNow: fc.option(fc.integer({ min: NOW - 100, max: NOW + 100 })),
    grants: fc.array(grantArb, { maxLength: 5 }),
  });
const sourcesArb = fc
  .integer({ min: 0, max: 5 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => sourceArb(`sub_${i}`))));

describe('foldEntitlements properties', () => {
  it('the union does not depend on the order of the subscriptions', () => {
    fc.assert(
      fc.property(sourcesArb, fc.infiniteStream(fc.nat()), (sources, seeds) => {
        const shuffled = [...sources];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = (seeds.next().value as number) % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j] as SourceState, shuffled[i] as SourceState];
        }
        const order = { t1: ['c', 'a', 'b'] };
        expect(foldEntitlements(shuffled, NOW, order)).toEqual(
          foldEntitlements(sources, NOW, order),
        );
      }),
    );
  });

  it('a billing issue on one subscription never removes what a paid one grants', () => {
    fc.assert(
      fc.property(sourcesArb, sourceArb('sub_paid'), (others, paid) => {
        const p: SourceState = { ...paid, status: 'active', cancelAtPeriodEnd: false };
        const alone = foldEntitlements([p], NOW);
        // Every other subscription in dunning (in grace or past it).
        const dunned = others.map((o) => ({
          ...o,
          status: 'past_due' as const,
          billingIssue: true,
        }));
        const together = new Map(foldEntitlements([p, ...dunned], NOW).map((e) => [e.key, e]));
        for (const e of alone) {
          const t = together.get(e.key);
          if (!t || t.type !== e.type) continue; // a key another grant typed first
          expect(t.active).toBe(true);
          expect(t.billingIssue).toBe(false);
          expect(t.source).toContain('sub_paid');
          if (e.quota) expect(t.quota?.limit).toBeGreaterThanOrEqual(e.quota.limit);
          if (e.slots) expect(t.slots?.count).toBeGreaterThanOrEqual(e.slots.count);
          if (e.enabled) expect(t.enabled).toBe(true);
        }
      }),
    );
  });
});
