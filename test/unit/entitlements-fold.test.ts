import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  activation,
  allows,
  foldEntitlements,
  type Grant,
  type SourceState,
  tierOrders,
} from '../../src/entitlements/fold';
import type { SubscriptionStatus } from '../../src/subscriptions/lifecycle';

const NOW = 1_800_000_000;
const SUPPORT = ['email', 'priority', 'dedicated'];

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
      {
        key: 'support',
        type: 'tier',
        value: { level: 'email' },
        levels: SUPPORT,
        levelsVersion: 1,
      },
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
        {
          key: 'support',
          type: 'tier',
          value: { level: 'priority', detail: '24/7' },
          levels: SUPPORT,
          levelsVersion: 1,
        },
      ],
    });
    const out = foldEntitlements([a, b], NOW);
    const by = new Map(out.map((e) => [e.key, e]));
    expect(by.get('api')?.quota).toEqual({
      limit: 150,
      windowEnd: NOW + 500,
      now: NOW,
      // Each source's part in its own window (counted apart by the entitlements object).
      parts: [
        { source: 'sub_a', limit: 100, windowEnd: a.periodEnd, now: NOW },
        { source: 'sub_b', limit: 50, windowEnd: NOW + 500, now: NOW },
      ],
    });
    expect(by.get('api')?.source).toEqual(['sub_a', 'sub_b']);
    expect(by.get('seats')?.slots).toEqual({ count: 5 });
    expect(by.get('dash')?.enabled).toBe(true);
    expect(by.get('support')?.tier).toEqual({ level: 'priority', detail: '24/7' });
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

const tier = (
  id: string,
  level: string,
  levels?: readonly string[],
  levelsVersion?: number,
): SourceState =>
  source({
    subscriptionId: id,
    grants: [{ key: 'support', type: 'tier', value: { level }, levels, levelsVersion }],
  });
const levelOf = (out: ReturnType<typeof foldEntitlements>) =>
  out.find((e) => e.key === 'support')?.tier?.level;

describe('tier order', () => {
  it('the declared order decides, not the spelling', () => {
    // 'dedicated' sorts before 'email' by code point; the definition ranks it highest.
    const out = foldEntitlements(
      [tier('sub_a', 'email', SUPPORT, 1), tier('sub_b', 'dedicated', SUPPORT, 1)],
      NOW,
    );
    expect(levelOf(out)).toBe('dedicated');
    const reversed = ['dedicated', 'priority', 'email'];
    expect(
      levelOf(
        foldEntitlements(
          [tier('sub_a', 'email', reversed, 1), tier('sub_b', 'dedicated', reversed, 1)],
          NOW,
        ),
      ),
    ).toBe('email');
  });

  it('when the grants carry different orders, the newest (highest levelsVersion) wins', () => {
    const before = ['gold', 'silver']; // silver highest, as first published
    const after = ['silver', 'gold']; // gold highest, published at version 7
    const a = tier('sub_a', 'silver', before, 3);
    const b = tier('sub_b', 'gold', after, 7);
    expect(levelOf(foldEntitlements([a, b], NOW))).toBe('gold');
    expect(levelOf(foldEntitlements([b, a], NOW))).toBe('gold');
    // The order is the definition's, not the granting subscription's: it holds while the
    // newer subscription is inactive too.
    const lapsed = { ...b, status: 'cancelled' as const };
    const c = tier('sub_c', 'gold', before, 3);
    expect(levelOf(foldEntitlements([a, c, lapsed], NOW))).toBe('gold');
    expect(tierOrders([a, lapsed]).get('support')).toEqual(after);
    // Same version, different orders (cannot happen from one publish): the JSON that sorts
    // last, whatever the order of the sources.
    const x = tier('sub_x', 'gold', before, 5);
    const y = tier('sub_y', 'silver', after, 5);
    expect(tierOrders([x, y])).toEqual(tierOrders([y, x]));
  });

  it('a level the order does not name ranks below every named one', () => {
    const out = foldEntitlements(
      [tier('sub_a', 'zzz', SUPPORT, 1), tier('sub_b', 'email', SUPPORT, 1)],
      NOW,
    );
    expect(levelOf(out)).toBe('email');
  });

  it('grants stored before levels were declared: code-point order, and a declared order once any grant has one', () => {
    const old = [tier('sub_a', 'email'), tier('sub_b', 'dedicated')];
    expect(levelOf(foldEntitlements(old, NOW))).toBe('email'); // 'email' > 'dedicated'
    const mixed = [tier('sub_a', 'email'), tier('sub_b', 'dedicated', SUPPORT, 1)];
    expect(levelOf(foldEntitlements(mixed, NOW))).toBe('dedicated');
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
  fc.record(
    {
      key: fc.constant('t1'),
      type: fc.constant('tier' as const),
      value: fc.record({ level: fc.constantFrom('a', 'b', 'c', 'z') }),
      // Orders that disagree with each other and with code-point order, at a few versions.
      levels: fc.constantFrom(['c', 'a', 'b'], ['b', 'c', 'a'], ['z', 'a']),
      levelsVersion: fc.integer({ min: 1, max: 3 }),
    },
    { requiredKeys: ['key', 'type', 'value'] },
  ),
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
        expect(foldEntitlements(shuffled, NOW)).toEqual(foldEntitlements(sources, NOW));
      }),
    );
  });

  it('the tier is the highest active level in the newest declared order', () => {
    fc.assert(
      fc.property(sourcesArb, (sources) => {
        const out = foldEntitlements(sources, NOW).find((e) => e.key === 't1');
        const order = tierOrders(sources).get('t1');
        const active = sources
          .filter((s) => activation(s, s.clockNow ?? NOW).active)
          .flatMap((s) => s.grants.filter((g) => g.key === 't1'))
          .map((g) => String(g.value.level));
        if (active.length === 0 || !out?.tier) return;
        const rank = (l: string) => [order ? order.indexOf(l) : 0, l] as const;
        const above = (a: string, b: string) => {
          const [ra, la] = rank(a);
          const [rb, lb] = rank(b);
          return ra !== rb ? ra > rb : la > lb;
        };
        for (const l of active) expect(above(l, out.tier.level)).toBe(false);
        expect(active).toContain(out.tier.level);
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
