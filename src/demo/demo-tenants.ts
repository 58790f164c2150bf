import type { TenantSpecInput } from '../services/tenant-config/spec';

/** The platform's own example (seeds/platform-model.txt), applied by `npm start`. */
export const GLOBALCORP: TenantSpecInput = {
  slug: 'globalcorp',
  name: 'Global Corporation',
  sharedHosts: ['globalcorp.localhost'],
  defaultStorefront: 'us-store',
  entitlements: [
    { key: 'api_access', name: 'API Access', type: 'quota', unit: 'calls' },
    { key: 'analytics_dashboard', name: 'Analytics Dashboard', type: 'feature' },
    { key: 'integrations', name: 'Integrations', type: 'slots' },
    { key: 'support', name: 'Support', type: 'tier', levels: ['email', 'priority', 'dedicated'] },
  ],
  storefronts: [
    {
      slug: 'us-store',
      name: 'US Store',
      channel: 'web',
      currency: 'USD',
      region: 'US',
      locale: 'en-US',
      hosts: ['us.globalcorp.localhost'],
      pathPrefixes: ['/us'],
      countries: ['US'],
      continents: ['NA', 'SA'],
      paymentProviders: [
        { provider: 'stripe', priority: 0, weight: 100 },
        { provider: 'paypal', priority: 1, weight: 100 },
        { provider: 'localbank', priority: 2, weight: 100, methods: ['bank_debit'] },
      ],
      // The platform model's example: cards to Stripe first (about 80 % of traffic ends there),
      // PayPal if Stripe fails, bank debits to the regional bank.
      paymentRouting: {
        default: {
          tiers: [
            { providers: [{ provider: 'stripe', weight: 100 }] },
            { providers: [{ provider: 'paypal', weight: 100 }] },
          ],
        },
        rules: [
          {
            id: 'bank_debit',
            match: { methods: ['bank_debit'] },
            route: { tiers: [{ providers: [{ provider: 'localbank', weight: 100 }] }] },
          },
        ],
        maxAttempts: 2,
      },
      branding: { displayName: 'GlobalCorp US', primaryColor: '#1f4ed8' },
      // Partner clients may keep the catalog two minutes; `public` (a shared CDN copy) applies
      // only on a storefront whose own channel is partner (see README: HTTP caching).
      cachePolicy: {
        catalog: { partner: { scope: 'public', maxAge: 120, staleWhileRevalidate: 600 } },
      },
    },
    {
      slug: 'eu-store',
      name: 'EU Store',
      channel: 'web',
      currency: 'EUR',
      region: 'EU',
      locale: 'de-DE',
      hosts: ['eu.globalcorp.localhost'],
      pathPrefixes: ['/eu'],
      countries: ['AT', 'BE', 'DE', 'ES', 'FI', 'FR', 'IE', 'IT', 'LU', 'NL', 'PT'],
      continents: ['EU', 'AF'],
      paymentProviders: [
        { provider: 'stripe', priority: 0, weight: 70 },
        { provider: 'adyen', priority: 0, weight: 30 },
      ],
      // A 70/30 split; a payment whose provider fails goes to the other.
      paymentRouting: {
        default: {
          tiers: [
            {
              providers: [
                { provider: 'stripe', weight: 70 },
                { provider: 'adyen', weight: 30 },
              ],
            },
          ],
        },
        rules: [],
        maxAttempts: 2,
      },
      branding: { displayName: 'GlobalCorp Europe', primaryColor: '#0b7a53' },
    },
    {
      slug: 'apac-store',
      name: 'APAC Store',
      channel: 'web',
      currency: 'JPY',
      region: 'APAC',
      locale: 'ja-JP',
      hosts: ['apac.globalcorp.localhost'],
      pathPrefixes: ['/apac'],
      countries: ['JP', 'KR', 'SG', 'AU', 'NZ'],
      continents: ['AS', 'OC'],
      paymentProviders: [
        { provider: 'localpay', priority: 0, weight: 100 },
        { provider: 'stripe', priority: 1, weight: 100 },
      ],
      // Japanese cards to the local PSP (JPY, JP); anything it cannot take, and its outages, to
      // Stripe.
      paymentRouting: {
        default: {
          tiers: [
            { providers: [{ provider: 'localpay', weight: 100 }] },
            { providers: [{ provider: 'stripe', weight: 100 }] },
          ],
        },
        rules: [],
        maxAttempts: 2,
      },
      branding: { displayName: 'GlobalCorp APAC', primaryColor: '#c2410c' },
    },
    {
      slug: 'tv-store',
      name: 'GlobalCorp TV',
      channel: 'ott',
      currency: 'USD',
      region: 'US',
      locale: 'en-US',
      hosts: ['tv.globalcorp.localhost'],
      pathPrefixes: ['/tv'],
      paymentProviders: [{ provider: 'stripe', priority: 0, weight: 100 }],
      branding: { displayName: 'GlobalCorp TV', primaryColor: '#7c3aed' },
      // The TV menu changes rarely: 15 minutes fresh, 2 hours served stale while revalidating.
      cachePolicy: { catalog: { ott: { maxAge: 900, staleWhileRevalidate: 7200 } } },
    },
  ],
  bundles: [
    {
      slug: 'pro-plan',
      name: 'Pro Plan',
      description: 'For growing teams: the API, analytics and integrations.',
      entitlements: [
        { key: 'api_access', value: { limit: 10000, period: 'month' } },
        { key: 'analytics_dashboard', value: { enabled: true } },
        { key: 'integrations', value: { count: 5 } },
        { key: 'support', value: { level: 'email', detail: 'business hours' } },
      ],
      prices: [
        { storefront: 'us-store', amount: 2900, interval: 'month' },
        { storefront: 'eu-store', amount: 2500, interval: 'month' },
        { storefront: 'apac-store', amount: 3200, interval: 'month' },
        { storefront: 'tv-store', amount: 2900, interval: 'month' },
      ],
    },
    {
      slug: 'enterprise',
      name: 'Enterprise',
      description: 'Higher limits, unlimited analytics and priority support around the clock.',
      entitlements: [
        { key: 'api_access', value: { limit: 1000000, period: 'month' } },
        { key: 'analytics_dashboard', value: { enabled: true } },
        { key: 'integrations', value: { count: 50 } },
        { key: 'support', value: { level: 'priority', detail: '24/7' } },
      ],
      prices: [
        { storefront: 'us-store', amount: 9900, interval: 'month' },
        { storefront: 'eu-store', amount: 8500, interval: 'month' },
        { storefront: 'apac-store', amount: 9800, interval: 'month' },
      ],
    },
  ],
};

/** A multi-brand tenant: three storefronts, each with its own bundles (seeds' "ConglomCorp"). */
export const CONGLOMCORP: TenantSpecInput = {
  slug: 'conglomcorp',
  name: 'ConglomCorp',
  sharedHosts: [],
  defaultStorefront: 'brand-a',
  entitlements: [
    { key: 'streaming', name: 'Streaming', type: 'feature' },
    { key: 'screens', name: 'Simultaneous screens', type: 'slots' },
    { key: 'quality', name: 'Video quality', type: 'tier', levels: ['sd', 'hd', 'uhd'] },
  ],
  storefronts: [
    {
      slug: 'brand-a',
      name: 'Brand A',
      channel: 'web',
      currency: 'USD',
      region: 'US',
      hosts: ['brand-a.conglomcorp.localhost'],
      paymentProviders: [{ provider: 'stripe', priority: 0, weight: 100 }],
    },
    {
      slug: 'brand-b',
      name: 'Brand B',
      channel: 'mobile',
      currency: 'GBP',
      region: 'UK',
      locale: 'en-GB',
      hosts: ['brand-b.conglomcorp.localhost'],
      paymentProviders: [{ provider: 'adyen', priority: 0, weight: 100 }],
    },
    {
      slug: 'brand-c',
      name: 'Brand C',
      channel: 'ott',
      currency: 'EUR',
      region: 'EU',
      locale: 'fr-FR',
      hosts: ['brand-c.conglomcorp.localhost'],
      paymentProviders: [{ provider: 'stripe', priority: 0, weight: 100 }],
    },
  ],
  bundles: [
    {
      slug: 'a-basic',
      name: 'Brand A Basic',
      entitlements: [
        { key: 'streaming', value: { enabled: true } },
        { key: 'screens', value: { count: 1 } },
        { key: 'quality', value: { level: 'hd' } },
      ],
      prices: [{ storefront: 'brand-a', amount: 999, interval: 'month' }],
    },
    {
      slug: 'b-premium',
      name: 'Brand B Premium',
      entitlements: [
        { key: 'streaming', value: { enabled: true } },
        { key: 'screens', value: { count: 4 } },
        { key: 'quality', value: { level: 'uhd' } },
      ],
      prices: [{ storefront: 'brand-b', amount: 1499, interval: 'month' }],
    },
    {
      slug: 'c-family',
      name: 'Brand C Family',
      entitlements: [
        { key: 'streaming', value: { enabled: true } },
        { key: 'screens', value: { count: 6 } },
        { key: 'quality', value: { level: 'uhd', detail: 'with offline downloads' } },
      ],
      prices: [
        { storefront: 'brand-c', amount: 1999, interval: 'month' },
        { storefront: 'brand-c', amount: 19900, interval: 'year' },
      ],
    },
  ],
};

export const DEMO_TENANTS = [GLOBALCORP, CONGLOMCORP];

/**
 * The mode of the demo's API keys (`pk_test_…`, `sk_test_…`): the demo reaches the sandbox
 * providers, test clocks and outage switches, never a real provider.
 */
export const DEMO_KEY_MODE = 'test' as const;

/** Demo flags and killswitches (created once; operators change them from the console). */
export const DEMO_EDGE_CONFIG: Record<
  string,
  {
    flags: {
      key: string;
      storefront?: string;
      valueType: 'boolean' | 'string' | 'number' | 'json';
      definition: Record<string, unknown>;
    }[];
    killswitches: {
      scope: 'tenant' | 'storefront' | 'channel' | 'feature' | 'provider';
      target: string;
      storefront?: string;
      failMode: 'closed' | 'open';
    }[];
  }
> = {
  globalcorp: {
    flags: [
      {
        key: 'new-checkout',
        valueType: 'boolean',
        definition: {
          description: 'The redesigned checkout: everyone in Japan, 20 % elsewhere',
          variations: [false, true],
          offVariation: 0,
          rules: [
            {
              id: 'japan',
              clauses: [{ attribute: 'country', operator: 'in', values: ['JP'] }],
              variation: 1,
            },
          ],
          fallthrough: {
            rollout: {
              variations: [
                { variation: 0, weight: 80_000 },
                { variation: 1, weight: 20_000 },
              ],
            },
          },
          salt: 'new-checkout-2026',
        },
      },
      {
        key: 'tv-home-layout',
        valueType: 'string',
        definition: {
          description: 'Home screen layout for TV apps; Roku gets the light grid',
          variations: ['grid', 'rails', 'light-grid'],
          offVariation: 0,
          rules: [
            {
              clauses: [{ attribute: 'platform', operator: 'in', values: ['roku'] }],
              variation: 2,
            },
          ],
          fallthrough: { variation: 1 },
        },
      },
      {
        key: 'hero-copy',
        storefront: 'eu-store',
        valueType: 'string',
        definition: {
          description: 'A/B test of the EU landing headline',
          variations: ['Save more with Pro', 'Start your Pro trial today'],
          variationNames: ['control', 'treatment'],
          offVariation: 0,
          fallthrough: {
            rollout: {
              variations: [
                { variation: 0, weight: 50_000 },
                { variation: 1, weight: 50_000 },
              ],
            },
          },
          experiment: true,
          salt: 'hero-copy-eu-1',
        },
      },
    ],
    killswitches: [
      { scope: 'feature', target: 'checkout', failMode: 'closed' },
      { scope: 'feature', target: 'signup', failMode: 'open' },
      { scope: 'channel', target: 'ott', failMode: 'open' },
      { scope: 'provider', target: 'stripe', failMode: 'open' },
    ],
  },
};
