import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { storefrontRouting } from '../../src/services/payments/record';

describe('storefrontRouting (a storefront without its own routing)', () => {
  it('turns any provider list into a valid routing: tiers by priority, weights summing to 100', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            provider: fc.constantFrom(
              'stripe',
              'paypal',
              'adyen',
              'localpay',
              'localbank',
              'p1',
              'p2',
              'p3',
              'p4',
              'p5',
              'p6',
              'p7',
            ),
            priority: fc.integer({ min: 0, max: 3 }),
            weight: fc.integer({ min: 0, max: 100 }),
          }),
          { maxLength: 30 },
        ),
        (providers) => {
          const routing = storefrontRouting(null, providers);
          for (const tier of routing.default.tiers) {
            expect(tier.providers.reduce((n, p) => n + p.weight, 0)).toBe(100);
          }
        },
      ),
    );
  });

  it('refuses an invalid stored routing instead of falling back to the provider list', () => {
    const invalid = { default: { tiers: [{ providers: [{ provider: 'stripe', weight: 90 }] }] } };
    expect(() =>
      storefrontRouting(invalid, [{ provider: 'paypal', priority: 0, weight: 100 }]),
    ).toThrow(/payment routing is invalid \(default\.tiers\.0\.providers/);
  });

  it('keeps a valid configured routing as it is', () => {
    const configured = {
      default: { tiers: [{ providers: [{ provider: 'adyen', weight: 100 }] }] },
    };
    expect(storefrontRouting(configured, []).default.tiers[0]?.providers[0]?.provider).toBe(
      'adyen',
    );
  });
});
