import { env } from 'cloudflare:test';
import { getDb } from '../../src/db/client';
import type { KeyMode } from '../../src/db/schema/enums';
import type { Db } from '../../src/db/types';
import { resetEdgeCachesAndLocation } from '../../src/edge/caches';
import { publishNow } from '../../src/routes/admin/support';
import { createApiKey } from '../../src/services/admin/api-keys';
import {
  type PublishResult,
  publishAllTenants,
  summarizePublishes,
} from '../../src/services/publish/publish';
import { type AppliedTenant, applyTenantSpec } from '../../src/services/tenant-config/apply';
import type { TenantSpecInput } from '../../src/services/tenant-config/spec';

let counter = 0;
/** A short unique token for slugs and hostnames. */
export function unique(): string {
  counter += 1;
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}${counter}`;
}

/** Runs `fn` with a database handle of the test worker's env, closing it afterwards. */
export async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const { db, close } = getDb(env);
  try {
    return await fn(db);
  } finally {
    await close();
  }
}

export interface StorefrontKeys {
  publishable: string;
  secret: string;
}

/** Each test storefront host → its publishable key; `call()` sends it unless told otherwise. */
export const hostKeys = new Map<string, StorefrontKeys>();

export interface TestTenant extends AppliedTenant {
  /** `<storefront slug>` → its API keys */
  keys: Record<string, StorefrontKeys>;
  slug: string;
  /** `<storefront slug>` → its own host */
  hosts: Record<string, string>;
  sharedHost: string;
}

/**
 * A fresh tenant shaped like the demo's GlobalCorp (us / eu / apac storefronts, pro-plan and
 * enterprise), with unique slugs and hosts. `overrides` replaces top-level fields of the spec.
 */
export function globalcorpLikeSpec(
  u = unique(),
  overrides: Partial<TenantSpecInput> = {},
): TenantSpecInput {
  const host = (p: string) => `${p}.t${u}.test`;
  return {
    slug: `t-${u}`,
    name: `Tenant ${u}`,
    sharedHosts: [host('shop')],
    defaultStorefront: 'us-store',
    entitlements: [
      { key: 'api_access', name: 'API Access', type: 'quota', unit: 'calls' },
      { key: 'analytics_dashboard', name: 'Analytics Dashboard', type: 'feature' },
      { key: 'integrations', name: 'Integrations', type: 'slots' },
      {
        key: 'support',
        name: 'Support',
        type: 'tier',
        levels: ['email', 'priority', 'dedicated'],
      },
    ],
    storefronts: [
      {
        slug: 'us-store',
        name: 'US Store',
        currency: 'USD',
        region: 'US',
        hosts: [host('us')],
        pathPrefixes: ['/us'],
        countries: ['US'],
        continents: ['NA'],
        // As the demo's us-store: cards to Stripe, PayPal if it fails, bank debits to the bank.
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
      },
      {
        slug: 'eu-store',
        name: 'EU Store',
        currency: 'EUR',
        region: 'EU',
        locale: 'de-DE',
        hosts: [host('eu')],
        pathPrefixes: ['/eu'],
        countries: ['DE', 'FR'],
        continents: ['EU'],
      },
      {
        slug: 'apac-store',
        name: 'APAC Store',
        currency: 'JPY',
        region: 'APAC',
        locale: 'ja-JP',
        hosts: [host('apac')],
        pathPrefixes: ['/apac'],
        countries: ['JP'],
        continents: ['AS', 'OC'],
      },
    ],
    bundles: [
      {
        slug: 'pro-plan',
        name: 'Pro Plan',
        entitlements: [
          { key: 'api_access', value: { limit: 10000, period: 'month' } },
          { key: 'analytics_dashboard', value: { enabled: true } },
          { key: 'integrations', value: { count: 5 } },
          { key: 'support', value: { level: 'email', detail: 'business hours' } },
        ],
        prices: [
          { storefront: 'us-store', amount: 2900 },
          { storefront: 'eu-store', amount: 2500 },
          { storefront: 'apac-store', amount: 3200 },
        ],
      },
      {
        slug: 'enterprise',
        name: 'Enterprise',
        entitlements: [{ key: 'api_access', value: { limit: 1000000, period: 'month' } }],
        prices: [
          { storefront: 'us-store', amount: 9900 },
          { storefront: 'eu-store', amount: 8500 },
          { storefront: 'apac-store', amount: 9800 },
        ],
      },
    ],
    ...overrides,
  };
}

/**
 * Applies a spec to Postgres (the same path as the demo seed), with a publishable and a secret
 * key per storefront: test keys (`pk_test_…`, the sandbox only), as the demo's are, unless
 * `keyMode` says live.
 */
export async function createTenant(
  spec: TenantSpecInput = globalcorpLikeSpec(),
  { keyMode = 'test' }: { keyMode?: KeyMode } = {},
): Promise<TestTenant> {
  const applied = await withDb((db) => applyTenantSpec(db, spec));
  createdTenants.add(applied.tenantId);
  const hosts: Record<string, string> = {};
  const keys: Record<string, StorefrontKeys> = {};
  await withDb(async (db) => {
    for (const sf of spec.storefronts) {
      const storefrontId = applied.storefronts[sf.slug] ?? '';
      const ctx = {
        tenantId: applied.tenantId,
        storefrontId,
        actor: { type: 'system' as const, id: 'tests' },
        requestId: null,
        reason: 'test fixture',
      };
      const base = { mode: keyMode, channels: [], expiresAt: null, rateLimit: null };
      const pk = await createApiKey(db, ctx, { kind: 'publishable', name: 'test pk', ...base });
      const sk = await createApiKey(db, ctx, { kind: 'secret', name: 'test sk', ...base });
      keys[sf.slug] = { publishable: pk.secret, secret: sk.secret };
      if (sf.hosts?.[0]) {
        hosts[sf.slug] = sf.hosts[0];
        hostKeys.set(sf.hosts[0], keys[sf.slug] as StorefrontKeys);
      }
    }
  });
  return { ...applied, slug: spec.slug, hosts, keys, sharedHost: spec.sharedHosts?.[0] ?? '' };
}

/** Tenants this test file created (through {@link createTestTenant}). */
const createdTenants = new Set<string>();

/**
 * Publishes the tenants this test file created (each through its publisher object, as the
 * admin API does) to this file's KV, and drops the isolate's caches (a cold edge). With
 * `all`, every active tenant in the database, as `POST /internal/publish` does.
 */
export async function publish(options: { all?: boolean } = {}): Promise<PublishResult> {
  const result = options.all
    ? await withDb((db) => publishAllTenants(db, (id) => publishNow(env, id)))
    : await publishTenants([...createdTenants]);
  await resetEdgeCachesAndLocation(result.tenants.map((t) => t.id));
  return result;
}

/** Publishes `ids` through their publisher objects. */
export async function publishTenants(ids: string[]): Promise<PublishResult> {
  return summarizePublishes(await Promise.all(ids.map((id) => publishNow(env, id))));
}
