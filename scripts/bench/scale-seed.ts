/**
 * Bulk seeding for `npm run bench:scale`: N tenants of 4 storefronts each, written straight into
 * Postgres with multi-row INSERTs (drizzle over node-postgres), not through the admin API, so a
 * thousand tenants take seconds. Every tenant has what the publisher reads for a published
 * tenant (src/services/publish/load.ts): the tenant with its default storefront, storefronts,
 * routes (10 hosts, path prefixes, countries), two entitlements, two bundles with their grants
 * and a price per storefront, a tenant-wide flag, a tenant-scope killswitch (released) and one
 * publishable API key per storefront. API keys are inserted `edge_synced = false` (the column's
 * default), so the tenant's next publish writes their KV entries (`key/<sha256>`).
 *
 * Hosts follow a formula so that a wrk Lua script can name them without a list:
 * `h<k>-t<i>.scale.localhost`, k = 0 the tenant's shared host (default storefront), 1–4 the
 * storefronts' own hosts, 5–8 a second host of each storefront, 9 an alias of storefront 0.
 */
import { randomBytes } from 'node:crypto';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import * as schema from '../../src/db/schema';
import { newId } from '../../src/lib/ids';

export type SeedDb = NodePgDatabase<typeof schema>;

export const HOSTS_PER_TENANT = 10;
export const STOREFRONTS_PER_TENANT = 4;

/** Host `k` (0–9) of tenant `i`. */
export function scaleHost(i: number, k: number): string {
  return `h${k}-t${i}.scale.localhost`;
}

const SF = [
  {
    slug: 'us-store',
    channel: 'web',
    currency: 'USD',
    region: 'US',
    locale: 'en-US',
    country: 'US',
  },
  {
    slug: 'eu-store',
    channel: 'web',
    currency: 'EUR',
    region: 'EU',
    locale: 'de-DE',
    country: 'DE',
  },
  {
    slug: 'uk-app',
    channel: 'mobile',
    currency: 'GBP',
    region: 'UK',
    locale: 'en-GB',
    country: 'GB',
  },
  {
    slug: 'jp-tv',
    channel: 'ott',
    currency: 'JPY',
    region: 'APAC',
    locale: 'ja-JP',
    country: 'JP',
  },
] as const;

const AMOUNTS = [
  [2900, 2500, 2300, 3200],
  [9900, 8500, 7900, 9800],
];

type Insert<T extends { $inferInsert: unknown }> = T['$inferInsert'];

interface TenantRows {
  tenants: Insert<typeof schema.tenants>[];
  storefronts: Insert<typeof schema.storefronts>[];
  routes: Insert<typeof schema.storefrontRoutes>[];
  entitlements: Insert<typeof schema.entitlementDefinitions>[];
  bundles: Insert<typeof schema.bundles>[];
  grants: Insert<typeof schema.bundleEntitlements>[];
  prices: Insert<typeof schema.bundlePrices>[];
  flags: Insert<typeof schema.featureFlags>[];
  killswitches: Insert<typeof schema.killswitches>[];
  apiKeys: Insert<typeof schema.apiKeys>[];
}

export interface SeededTenant {
  id: string;
  storefrontIds: string[];
}

const randomHash = () => randomBytes(32).toString('hex');

/** Rows of tenant `i`; `keyHashes[j]`, when given, is storefront j's publishable key hash. */
function tenantRows(i: number, into: TenantRows, keyHashes: (string | undefined)[] = []) {
  const tenantId = newId('ten');
  const sfIds = SF.map(() => newId('sf'));
  into.tenants.push({
    id: tenantId,
    slug: `scale-${i}`,
    name: `Scale Tenant ${i}`,
    defaultStorefrontId: sfIds[0],
    configVersion: 1,
  });
  SF.forEach((s, j) => {
    const storefrontId = sfIds[j] as string;
    into.storefronts.push({
      id: storefrontId,
      tenantId,
      slug: s.slug,
      name: `${s.region} ${s.channel}`,
      channel: s.channel,
      currency: s.currency,
      region: s.region,
      locale: s.locale,
      paymentProviders: [{ provider: 'stripe', priority: 0, weight: 100 }],
      branding: { displayName: `Scale ${i} ${s.region}`, primaryColor: '#1f4ed8' },
    });
    const route = (kind: Insert<typeof schema.storefrontRoutes>['kind'], value: string) =>
      into.routes.push({ id: newId('rt'), tenantId, storefrontId, kind, value });
    route('host', scaleHost(i, 1 + j));
    route('host', scaleHost(i, 5 + j));
    if (j === 0) route('host', scaleHost(i, 9));
    route('path_prefix', `/${s.slug}`);
    route('country', s.country);
    into.apiKeys.push({
      id: newId('key'),
      tenantId,
      storefrontId,
      kind: 'publishable',
      name: 'scale bench',
      prefix: 'pk_live_scal',
      hash: keyHashes[j] ?? randomHash(),
    });
  });
  into.routes.push({
    id: newId('rt'),
    tenantId,
    storefrontId: null,
    kind: 'tenant_host',
    value: scaleHost(i, 0),
  });
  const ents = [
    { id: newId('ent'), key: 'api_access', name: 'API Access', type: 'quota', unit: 'calls' },
    {
      id: newId('ent'),
      key: 'support',
      name: 'Support',
      type: 'tier',
      unit: null,
      levels: ['email', 'priority', 'dedicated'] as string[],
    },
  ] as const;
  for (const e of ents) into.entitlements.push({ ...e, tenantId });
  ['pro', 'enterprise'].forEach((slug, b) => {
    const bundleId = newId('bun');
    into.bundles.push({ id: bundleId, tenantId, slug, name: slug, description: `${slug} plan` });
    into.grants.push(
      {
        bundleId,
        entitlementId: ents[0].id,
        tenantId,
        value: { limit: 10_000 * (b + 1), period: 'month' },
        position: 0,
      },
      {
        bundleId,
        entitlementId: ents[1].id,
        tenantId,
        value: { level: b ? 'priority' : 'email' },
        position: 1,
      },
    );
    SF.forEach((s, j) => {
      into.prices.push({
        id: newId('price'),
        tenantId,
        bundleId,
        storefrontId: sfIds[j] as string,
        currency: s.currency,
        amount: AMOUNTS[b]?.[j] ?? 1000,
        interval: 'month',
      });
    });
  });
  into.flags.push({
    id: newId('flag'),
    tenantId,
    key: 'new-checkout',
    valueType: 'boolean',
    definition: { variations: [true, false], offVariation: 1, fallthrough: { variation: 0 } },
  });
  into.killswitches.push({
    id: newId('ks'),
    tenantId,
    scope: 'tenant',
    target: '',
    engaged: false,
    failMode: 'closed',
    retryAfterSeconds: 30,
  });
  return { id: tenantId, storefrontIds: sfIds };
}

/** Multi-row INSERTs of `rows`, in chunks that stay under Postgres' 65,535 parameters. */
export async function insertMany<T extends Record<string, unknown>>(
  db: SeedDb,
  table: Parameters<SeedDb['insert']>[0],
  rows: T[],
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Math.max(1, ...rows.slice(0, 10).map((r) => Object.keys(r).length));
  const chunk = Math.max(1, Math.floor(30_000 / (columns + 3)));
  for (let at = 0; at < rows.length; at += chunk) {
    await db.insert(table).values(rows.slice(at, at + chunk) as never);
  }
}

/**
 * Seeds tenants `from` … `to - 1`, `batch` tenants per round of INSERTs, calling `progress`
 * after each round. `keyHashes` gives known publishable key hashes by tenant index.
 */
export async function seedTenants(
  db: SeedDb,
  from: number,
  to: number,
  opts: {
    keyHashes?: Map<number, (string | undefined)[]>;
    progress?: (done: number) => void;
    batch?: number;
  } = {},
): Promise<SeededTenant[]> {
  const batch = opts.batch ?? 250;
  const seeded: SeededTenant[] = [];
  for (let start = from; start < to; start += batch) {
    const rows: TenantRows = {
      tenants: [],
      storefronts: [],
      routes: [],
      entitlements: [],
      bundles: [],
      grants: [],
      prices: [],
      flags: [],
      killswitches: [],
      apiKeys: [],
    };
    const end = Math.min(to, start + batch);
    for (let i = start; i < end; i++) seeded.push(tenantRows(i, rows, opts.keyHashes?.get(i)));
    await db.transaction(async (tx) => {
      const t = tx as unknown as SeedDb;
      // Parents before children (foreign keys).
      await insertMany(t, schema.tenants, rows.tenants);
      await insertMany(t, schema.storefronts, rows.storefronts);
      await insertMany(t, schema.storefrontRoutes, rows.routes);
      await insertMany(t, schema.entitlementDefinitions, rows.entitlements);
      await insertMany(t, schema.bundles, rows.bundles);
      await insertMany(t, schema.bundleEntitlements, rows.grants);
      await insertMany(t, schema.bundlePrices, rows.prices);
      await insertMany(t, schema.featureFlags, rows.flags);
      await insertMany(t, schema.killswitches, rows.killswitches);
      await insertMany(t, schema.apiKeys, rows.apiKeys);
    });
    opts.progress?.(end - from);
  }
  return seeded;
}

/**
 * `count` more API keys on one storefront (random hashes; nobody sends them), not yet synced to
 * the edge: the tenant's next publish writes one KV entry per key.
 */
export async function addApiKeys(
  db: SeedDb,
  tenant: SeededTenant,
  storefrontIndex: number,
  count: number,
  kind: 'publishable' | 'secret' = 'publishable',
): Promise<void> {
  const storefrontId = tenant.storefrontIds[storefrontIndex] as string;
  const rows: Insert<typeof schema.apiKeys>[] = Array.from({ length: count }, () => ({
    id: newId('key'),
    tenantId: tenant.id,
    storefrontId,
    kind,
    name: 'scale bench (extra)',
    prefix: kind === 'publishable' ? 'pk_live_scal' : 'sk_live_scal',
    hash: randomHash(),
  }));
  await insertMany(db, schema.apiKeys, rows);
}
