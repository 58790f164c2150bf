/**
 * The bench's data, in one place: a synthetic tenant shaped like the demo (three storefronts,
 * two bundles of four entitlements, a few flags), the flag every flag target evaluates, the
 * request body and the equivalent LaunchDarkly flag.
 *
 * The tenant's rows go through the real publisher (`publishTenant`, hence `buildSnapshot` and
 * `buildTenantRouting`) over a stand-in for the database, so KV and the tenant config Durable
 * Object hold exactly what `POST /internal/publish` writes, without Postgres.
 */
import {
  apiKeys,
  bundleEntitlements,
  bundlePrices,
  type bundles,
  type entitlementDefinitions,
  featureFlags,
  killswitches,
  storefrontRoutes,
  storefronts,
  tenants,
} from '../../src/db/schema';
import type { Db } from '../../src/db/types';

/** The storefront every storefront-API request goes to, through its own host. */
export const BENCH_HOST = 'us.bench-corp.localhost';

/** The flag the flag targets evaluate (ours and LaunchDarkly's). */
export const BENCH_FLAG_KEY = 'new-checkout';

/**
 * Body of `POST /v1/flags/evaluate` (ours) and of the LaunchDarkly worker's equivalent route.
 * Adjust here when the route's contract changes.
 */
export const FLAGS_REQUEST_BODY = {
  context: { targetingKey: 'user-123', country: 'US', channel: 'web' },
  flags: [BENCH_FLAG_KEY],
};

/**
 * `feature_flags.definition` of the bench flag (src/flags/schema.ts, `FlagDefinitionSchema`):
 * for US visitors a 50 % rollout bucketed by the targeting key, `false` for everyone else.
 * Keep the same meaning as `LD_BENCH_FLAG` below.
 */
export const BENCH_FLAG_DEFINITION: Record<string, unknown> = {
  variations: [true, false],
  offVariation: 1,
  salt: 'bench-salt',
  rules: [
    {
      id: 'us-rollout',
      clauses: [{ attribute: 'country', operator: 'in', values: ['US'], negate: false }],
      rollout: {
        variations: [
          { variation: 0, weight: 50_000 },
          { variation: 1, weight: 50_000 },
        ],
      },
    },
  ],
  fallthrough: { variation: 1 },
};

/** The same flag in LaunchDarkly's flag data format (what `LD-Env-<sdkKey>` holds). */
export const LD_BENCH_FLAG = {
  key: BENCH_FLAG_KEY,
  version: 1,
  on: true,
  salt: 'bench-salt',
  variations: [true, false],
  offVariation: 1,
  fallthrough: { variation: 1 },
  targets: [],
  contextTargets: [],
  prerequisites: [],
  rules: [
    {
      id: 'us-rollout',
      clauses: [
        { contextKind: 'user', attribute: 'country', op: 'in', values: ['US'], negate: false },
      ],
      rollout: {
        variations: [
          { variation: 0, weight: 50_000 },
          { variation: 1, weight: 50_000 },
        ],
      },
      trackEvents: false,
    },
  ],
  trackEvents: false,
  trackEventsFallthrough: false,
  clientSide: false,
  deleted: false,
};

export const LD_SDK_KEY = 'sdk-bench-0000';
export const LD_KV_KEY = `LD-Env-${LD_SDK_KEY}`;
/** The KV value the LaunchDarkly SDK reads (`{"flags": {...}, "segments": {}}`). */
export const LD_KV_VALUE = JSON.stringify({
  flags: { [BENCH_FLAG_KEY]: LD_BENCH_FLAG },
  segments: {},
});

// --- the synthetic tenant ---------------------------------------------------------------------

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** A fixed id of the usual shape (`sf_` + 26 Crockford characters). */
function fixedId(prefix: string, tag: string): string {
  const body = `BENCH${tag.toUpperCase().replace(/[^0-9A-Z]/g, '')}`
    .split('')
    .filter((ch) => CROCKFORD.includes(ch))
    .join('')
    .padEnd(26, '0')
    .slice(0, 26);
  return `${prefix}_${body}`;
}

type Row<T extends { $inferSelect: unknown }> = T['$inferSelect'];

const NOW = new Date('2026-01-01T00:00:00Z');
const stamps = { createdAt: NOW, updatedAt: NOW };
export const TENANT_ID = fixedId('ten', 'corp');

interface SfSpec {
  slug: string;
  name: string;
  currency: string;
  region: string;
  locale: string;
  host: string;
  prefix: string;
  countries: string[];
  providers: Row<typeof storefronts>['paymentProviders'];
}

const SF_SPECS: SfSpec[] = [
  {
    slug: 'us-store',
    name: 'US Store',
    currency: 'USD',
    region: 'US',
    locale: 'en-US',
    host: BENCH_HOST,
    prefix: '/us',
    countries: ['US', 'CA'],
    providers: [
      { provider: 'stripe', priority: 0, weight: 80 },
      { provider: 'paypal', priority: 0, weight: 20 },
    ],
  },
  {
    slug: 'eu-store',
    name: 'EU Store',
    currency: 'EUR',
    region: 'EU',
    locale: 'de-DE',
    host: 'eu.bench-corp.localhost',
    prefix: '/eu',
    countries: ['DE', 'FR', 'IT', 'ES', 'NL'],
    providers: [
      { provider: 'stripe', priority: 0, weight: 100 },
      { provider: 'adyen', priority: 1, weight: 100 },
    ],
  },
  {
    slug: 'apac-store',
    name: 'APAC Store',
    currency: 'JPY',
    region: 'APAC',
    locale: 'ja-JP',
    host: 'apac.bench-corp.localhost',
    prefix: '/apac',
    countries: ['JP', 'KR', 'SG', 'AU'],
    providers: [{ provider: 'localpay', priority: 0, weight: 100 }],
  },
];

const ENTITLEMENTS: Pick<
  Row<typeof entitlementDefinitions>,
  'key' | 'name' | 'type' | 'unit' | 'levels'
>[] = [
  { key: 'api_access', name: 'API Access', type: 'quota', unit: 'calls', levels: null },
  {
    key: 'analytics_dashboard',
    name: 'Analytics Dashboard',
    type: 'feature',
    unit: null,
    levels: null,
  },
  { key: 'integrations', name: 'Integrations', type: 'slots', unit: null, levels: null },
  {
    key: 'support',
    name: 'Support',
    type: 'tier',
    unit: null,
    levels: ['email', 'priority', 'dedicated'],
  },
];

const BUNDLES = [
  {
    slug: 'pro-plan',
    name: 'Pro Plan',
    description: 'For growing teams: the API, analytics and integrations.',
    values: [
      { limit: 10_000, period: 'month' },
      { enabled: true },
      { count: 5 },
      { level: 'email', detail: 'business hours' },
    ],
    amounts: [2900, 2500, 3200],
  },
  {
    slug: 'enterprise',
    name: 'Enterprise',
    description: 'Higher limits, unlimited analytics and priority support around the clock.',
    values: [
      { limit: 1_000_000, period: 'month' },
      { enabled: true },
      { count: 50 },
      { level: 'priority', detail: '24/7' },
    ],
    amounts: [9900, 8500, 9800],
  },
];

/**
 * The bench tenant's rows by table, as `loadTenantConfig` reads them (`prices` and `grants` in
 * their joined shapes). Tables not listed read as empty.
 */
export function benchTenantRows(
  opts: { configVersion?: number; publishableKeyHash?: string } = {},
): Map<unknown, unknown[]> {
  const configVersion = opts.configVersion ?? 1;
  const sfRows: Row<typeof storefronts>[] = SF_SPECS.map((s) => ({
    id: fixedId('sf', s.slug),
    tenantId: TENANT_ID,
    slug: s.slug,
    name: s.name,
    channel: 'web',
    currency: s.currency,
    region: s.region,
    locale: s.locale,
    paymentProviders: s.providers,
    paymentRouting: null,
    branding: { displayName: `BenchCorp ${s.region}`, primaryColor: '#1f4ed8' },
    cachePolicy: {},
    status: 'active',
    ...stamps,
  }));
  const defs: Row<typeof entitlementDefinitions>[] = ENTITLEMENTS.map((e) => ({
    id: fixedId('ent', e.key),
    tenantId: TENANT_ID,
    ...e,
    ...stamps,
  }));
  const bundleRows: Row<typeof bundles>[] = BUNDLES.map((b) => ({
    id: fixedId('bun', b.slug),
    tenantId: TENANT_ID,
    slug: b.slug,
    name: b.name,
    description: b.description,
    status: 'active',
    ...stamps,
  }));
  const prices: { price: Row<typeof bundlePrices>; bundle: Row<typeof bundles> }[] = [];
  BUNDLES.forEach((b, bi) => {
    const bundle = bundleRows[bi] as Row<typeof bundles>;
    sfRows.forEach((sf, si) => {
      prices.push({
        bundle,
        price: {
          id: fixedId('price', `${b.slug}${sf.slug}`),
          tenantId: TENANT_ID,
          bundleId: bundle.id,
          storefrontId: sf.id,
          currency: sf.currency,
          amount: b.amounts[si] ?? 1000,
          interval: 'month',
          intervalCount: 1,
          status: 'active',
          ...stamps,
        },
      });
    });
  });
  const grants: {
    grant: Row<typeof bundleEntitlements>;
    def: Row<typeof entitlementDefinitions>;
  }[] = [];
  BUNDLES.forEach((b, bi) => {
    const bundle = bundleRows[bi] as Row<typeof bundles>;
    defs.forEach((def, di) => {
      grants.push({
        def,
        grant: {
          bundleId: bundle.id,
          entitlementId: def.id,
          tenantId: TENANT_ID,
          value: b.values[di] ?? {},
          position: di,
          ...stamps,
        },
      });
    });
  });
  const flag = (
    key: string,
    valueType: Row<typeof featureFlags>['valueType'],
    definition: Record<string, unknown>,
    storefrontId: string | null = null,
  ): Row<typeof featureFlags> => ({
    id: fixedId('flag', `${key}${storefrontId ?? ''}`),
    tenantId: TENANT_ID,
    storefrontId,
    key,
    valueType,
    enabled: true,
    definition,
    version: 1,
    ...stamps,
  });
  const flags = [
    flag(BENCH_FLAG_KEY, 'boolean', BENCH_FLAG_DEFINITION),
    flag('dark-mode', 'boolean', {
      variations: [true, false],
      offVariation: 1,
      fallthrough: { variation: 0 },
    }),
    flag('checkout-layout', 'string', {
      variations: ['classic', 'compact'],
      offVariation: 0,
      fallthrough: { variation: 0 },
    }),
    flag(
      'max-trial-days',
      'number',
      { variations: [14, 30], offVariation: 0, fallthrough: { variation: 1 } },
      sfRows[1]?.id ?? null,
    ),
  ];
  const switches: Row<typeof killswitches>[] = [
    {
      id: fixedId('ks', 'ott'),
      tenantId: TENANT_ID,
      storefrontId: null,
      scope: 'channel',
      target: 'ott',
      engaged: false,
      failMode: 'closed',
      retryAfterSeconds: 60,
      reason: null,
      ...stamps,
    },
  ];
  const routes: Row<typeof storefrontRoutes>[] = [
    {
      id: fixedId('rt', 'shared'),
      tenantId: TENANT_ID,
      storefrontId: null,
      kind: 'tenant_host',
      value: 'bench-corp.localhost',
      ...stamps,
    },
  ];
  SF_SPECS.forEach((s, i) => {
    const storefrontId = sfRows[i]?.id ?? null;
    const add = (kind: Row<typeof storefrontRoutes>['kind'], value: string) =>
      routes.push({
        id: fixedId('rt', `${kind}${value}`),
        tenantId: TENANT_ID,
        storefrontId,
        kind,
        value,
        ...stamps,
      });
    add('host', s.host);
    add('path_prefix', s.prefix);
    for (const c of s.countries) add('country', c);
  });
  const tenant: Row<typeof tenants> = {
    id: TENANT_ID,
    slug: 'bench-corp',
    name: 'Bench Corporation',
    status: 'active',
    defaultStorefrontId: sfRows[0]?.id ?? null,
    configVersion,
    ...stamps,
  };
  // The storefront API wants the storefront's publishable key; the bench sends this one.
  const keys: Row<typeof apiKeys>[] = opts.publishableKeyHash
    ? [
        {
          id: fixedId('key', 'us'),
          tenantId: TENANT_ID,
          storefrontId: sfRows[0]?.id ?? '',
          kind: 'publishable',
          name: 'bench',
          prefix: 'pk_live_bench',
          mode: 'live',
          hash: opts.publishableKeyHash,
          channels: [],
          expiresAt: null,
          // Far above what one machine can send, so a per-key limit never answers 429 here.
          rateLimit: 1_000_000_000,
          rotatedFrom: null,
          revokedAt: null,
          lastUsedAt: null,
          // Not yet written to the edge: the publisher writes its KV entry.
          edgeSynced: false,
          ...stamps,
        },
      ]
    : [];
  return new Map<unknown, unknown[]>([
    [tenants, [tenant]],
    [apiKeys, keys],
    [storefronts, sfRows],
    [bundlePrices, prices],
    [bundleEntitlements, grants],
    [featureFlags, flags],
    [killswitches, switches],
    [storefrontRoutes, routes],
    [
      tenantSigningKeys,
      opts.signingKey ? [{ ...opts.signingKey, createdAt: stamps.createdAt, retiredAt: null }] : [],
    ],
  ]);
}

/**
 * A stand-in for the drizzle database that answers every `select … from <table>` with that
 * table's rows (filters and ordering are not applied: the rows are already the right ones) and
 * runs transactions inline. Enough for the publisher's reads; nothing writes through it.
 */
export function fixtureDb(rows: Map<unknown, unknown[]>): Db {
  const select = () => {
    let table: unknown;
    const query = {
      from(t: unknown) {
        table = t;
        return query;
      },
      innerJoin: () => query,
      leftJoin: () => query,
      where: () => query,
      orderBy: () => query,
      limit: () => query,
      // biome-ignore lint/suspicious/noThenProperty: drizzle queries are thenables
      then<T>(resolve: (v: unknown[]) => T, reject?: (e: unknown) => T) {
        return Promise.resolve(rows.get(table) ?? []).then(resolve, reject);
      },
    };
    return query;
  };
  const db = {
    select,
    transaction: <T>(fn: (tx: unknown) => Promise<T>) => fn(db),
    // The publisher's one write (marking keys synced): nothing to keep here.
    execute: async () => ({ rows: [] }),
  };
  return db as unknown as Db;
}
