/**
 * The tenant spec's rules for tier entitlements: a tier declares its levels (1 to 32 distinct
 * names, lowest first), only a tier has levels, and a bundle grants a declared level.
 */
import { describe, expect, it } from 'vitest';
import { GLOBALCORP } from '../../src/demo/demo-tenants';
import { type TenantSpecInput, TenantSpecSchema } from '../../src/services/tenant-config/spec';

type Def = NonNullable<TenantSpecInput['entitlements']>[number];

function spec(def: Def, level = 'email'): TenantSpecInput {
  return {
    slug: 'tiers',
    name: 'Tiers',
    defaultStorefront: 'us',
    entitlements: [def],
    storefronts: [{ slug: 'us', name: 'US', currency: 'USD', region: 'US' }],
    bundles: [
      {
        slug: 'b',
        name: 'B',
        entitlements: [{ key: def.key, value: { level } }],
        prices: [{ storefront: 'us', amount: 100 }],
      },
    ],
  };
}

function issues(input: TenantSpecInput) {
  const r = TenantSpecSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const support = (levels?: string[]): Def => ({
  key: 'support',
  name: 'Support',
  type: 'tier',
  ...(levels ? { levels } : {}),
});

describe('tier levels in the tenant spec', () => {
  it('accepts declared levels and a bundle granting one of them', () => {
    expect(issues(spec(support(['email', 'priority', 'dedicated']), 'dedicated'))).toEqual([]);
    expect(TenantSpecSchema.safeParse(GLOBALCORP).success).toBe(true);
  });

  it('a tier without levels is refused', () => {
    expect(issues(spec(support()))).toEqual([
      'entitlements.0.levels: a tier declares its levels, lowest first (e.g. ["email", "priority"])',
    ]);
  });

  it('a bundle naming a level the tier does not declare is refused, with the path to it', () => {
    expect(issues(spec(support(['email', 'priority']), 'platinum'))).toEqual([
      'bundles.0.entitlements.0.value.level: platinum is not a level of support (email < priority)',
    ]);
  });

  it('levels are bounded: 1 to 32, each 1 to 64 safe characters, each once', () => {
    expect(issues(spec(support([])))).not.toEqual([]);
    expect(issues(spec(support(Array.from({ length: 33 }, (_, i) => `l${i}`)), 'l0'))).not.toEqual(
      [],
    );
    expect(issues(spec(support(Array.from({ length: 32 }, (_, i) => `l${i}`)), 'l0'))).toEqual([]);
    expect(issues(spec(support(['email', 'x'.repeat(65)])))).not.toEqual([]);
    expect(issues(spec(support(['email', 'bad level'])))).not.toEqual([]);
    expect(issues(spec(support(['email', 'nul\u0000'])))).not.toEqual([]);
    expect(issues(spec(support(['email', 'email'])))).toContain(
      'entitlements.0.levels: each level once',
    );
  });

  it('only a tier has levels', () => {
    const def: Def = { key: 'dash', name: 'Dash', type: 'feature', levels: ['a'] };
    const s = spec(def);
    const b = s.bundles?.[0];
    if (b) b.entitlements = [{ key: 'dash', value: { enabled: true } }];
    expect(issues(s)).toEqual(['entitlements.0.levels: only a tier has levels']);
  });
});
