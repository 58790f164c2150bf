import { and, asc, desc, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm';
import {
  apiKeys,
  bundleEntitlements,
  bundlePrices,
  bundles,
  entitlementDefinitions,
  featureFlags,
  killswitches,
  segments,
  storefrontRoutes,
  storefronts,
  tenantSigningKeys,
  tenants,
} from '../../db/schema';
import type { Db } from '../../db/types';
import { REVOKED_KEY_SECONDS } from '../../edge/snapshot';
import { DEFAULT_KEY_OVERLAP_SECONDS } from '../../security/customer-tokens';

/**
 * Everything the publisher needs about one tenant, read at one point in time. `apiKeys` holds
 * only the keys not yet synced to the edge and those changed within REVOKED_KEY_SECONDS, newest
 * first.
 */
export async function loadTenantConfig(db: Db, tenantId: string) {
  const [tenant] = await db.select().from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant) return undefined;
  const sfs = await db
    .select()
    .from(storefronts)
    .where(and(eq(storefronts.tenantId, tenantId), eq(storefronts.status, 'active')))
    .orderBy(asc(storefronts.slug));
  const prices = await db
    .select({ price: bundlePrices, bundle: bundles })
    .from(bundlePrices)
    .innerJoin(bundles, eq(bundles.id, bundlePrices.bundleId))
    .where(
      and(
        eq(bundlePrices.tenantId, tenantId),
        eq(bundlePrices.status, 'active'),
        eq(bundles.status, 'active'),
      ),
    )
    .orderBy(asc(bundlePrices.amount), asc(bundles.slug));
  const bundleIds = [...new Set(prices.map((p) => p.bundle.id))];
  const grants =
    bundleIds.length === 0
      ? []
      : await db
          .select({ grant: bundleEntitlements, def: entitlementDefinitions })
          .from(bundleEntitlements)
          .innerJoin(
            entitlementDefinitions,
            eq(entitlementDefinitions.id, bundleEntitlements.entitlementId),
          )
          .where(inArray(bundleEntitlements.bundleId, bundleIds))
          .orderBy(asc(bundleEntitlements.position));
  const flags = await db.select().from(featureFlags).where(eq(featureFlags.tenantId, tenantId));
  const switches = await db.select().from(killswitches).where(eq(killswitches.tenantId, tenantId));
  const segs = await db.select().from(segments).where(eq(segments.tenantId, tenantId));
  // Never the key set: the keys whose edge copy is out of date, and those changed recently
  // enough that the hot config carries them (see HotKeysSchema).
  const keys = await db
    .select()
    .from(apiKeys)
    .where(
      and(
        eq(apiKeys.tenantId, tenantId),
        or(
          eq(apiKeys.edgeSynced, false),
          gt(apiKeys.updatedAt, sql`now() - make_interval(secs => ${REVOKED_KEY_SECONDS})`),
        ),
      ),
    )
    .orderBy(desc(apiKeys.updatedAt));
  const routes = await db
    .select()
    .from(storefrontRoutes)
    .where(eq(storefrontRoutes.tenantId, tenantId));
  // Public columns only: the publisher never reads a private key, even encrypted.
  const signingKeys = await db
    .select({
      kid: tenantSigningKeys.kid,
      alg: tenantSigningKeys.alg,
      publicJwk: tenantSigningKeys.publicJwk,
      createdAt: tenantSigningKeys.createdAt,
      retiredAt: tenantSigningKeys.retiredAt,
    })
    .from(tenantSigningKeys)
    .where(
      and(
        eq(tenantSigningKeys.tenantId, tenantId),
        or(
          isNull(tenantSigningKeys.retiredAt),
          gt(
            tenantSigningKeys.retiredAt,
            sql`now() - make_interval(secs => ${DEFAULT_KEY_OVERLAP_SECONDS})`,
          ),
        ),
      ),
    )
    .orderBy(asc(tenantSigningKeys.createdAt));
  return {
    tenant,
    storefronts: sfs,
    prices,
    grants,
    flags,
    killswitches: switches,
    segments: segs,
    apiKeys: keys,
    routes,
    signingKeys,
  };
}

export type TenantConfigRows = NonNullable<Awaited<ReturnType<typeof loadTenantConfig>>>;

/** Ids of every active tenant. */
export async function listTenantIds(db: Db): Promise<string[]> {
  const rows = await db
    .select({ id: tenants.id })
    .from(tenants)
    .where(eq(tenants.status, 'active'))
    .orderBy(asc(tenants.id));
  return rows.map((r) => r.id);
}
