import { and, eq, sql } from 'drizzle-orm';
import {
  bundleEntitlements,
  bundlePrices,
  bundles,
  entitlementDefinitions,
  storefrontRoutes,
  storefronts,
  tenants,
} from '../../db/schema';
import type { Db } from '../../db/types';
import { newId } from '../../lib/ids';
import { type TenantSpec, type TenantSpecInput, TenantSpecSchema } from './spec';

export interface AppliedTenant {
  tenantId: string;
  configVersion: number;
  storefronts: Record<string, string>; // slug → id
  bundles: Record<string, string>; // slug → id
}

/**
 * Makes Postgres hold `input` for its tenant (matched by slug), in one transaction, and bumps
 * the tenant's config version. Idempotent: applying the same spec twice changes no ids. Routes
 * not in the spec are removed; bundles, prices and entitlements not in it are left alone.
 */
export async function applyTenantSpec(db: Db, input: TenantSpecInput): Promise<AppliedTenant> {
  const spec: TenantSpec = TenantSpecSchema.parse(input);
  return db.transaction(async (tx) => {
    const [tenant] = await tx
      .insert(tenants)
      .values({ id: newId('ten'), slug: spec.slug, name: spec.name, configVersion: 1 })
      .onConflictDoUpdate({
        target: tenants.slug,
        set: {
          name: spec.name,
          configVersion: sql`${tenants.configVersion} + 1`,
          updatedAt: new Date(),
        },
      })
      .returning({ id: tenants.id });
    if (!tenant) throw new Error('tenant upsert returned nothing');
    const tenantId = tenant.id;

    const sfIds: Record<string, string> = {};
    for (const sf of spec.storefronts) {
      const values = {
        name: sf.name,
        channel: sf.channel,
        currency: sf.currency,
        region: sf.region,
        locale: sf.locale,
        paymentProviders: sf.paymentProviders,
        paymentRouting: sf.paymentRouting ?? null,
        branding: sf.branding,
        cachePolicy: sf.cachePolicy,
        subscriptionSettings: sf.subscriptions,
      };
      const [row] = await tx
        .insert(storefronts)
        .values({ id: newId('sf'), tenantId, slug: sf.slug, ...values })
        .onConflictDoUpdate({ target: [storefronts.tenantId, storefronts.slug], set: values })
        .returning({ id: storefronts.id });
      if (!row) throw new Error('storefront upsert returned nothing');
      sfIds[sf.slug] = row.id;
    }

    await tx.delete(storefrontRoutes).where(eq(storefrontRoutes.tenantId, tenantId));
    const routes: (typeof storefrontRoutes.$inferInsert)[] = spec.sharedHosts.map((h) => ({
      id: newId('rt'),
      tenantId,
      storefrontId: null,
      kind: 'tenant_host' as const,
      value: h,
    }));
    for (const sf of spec.storefronts) {
      const storefrontId = sfIds[sf.slug];
      const add = (kind: 'host' | 'path_prefix' | 'country' | 'continent', values: string[]) => {
        for (const value of values)
          routes.push({ id: newId('rt'), tenantId, storefrontId, kind, value });
      };
      add('host', sf.hosts);
      add('path_prefix', sf.pathPrefixes);
      add('country', sf.countries);
      add('continent', sf.continents);
    }
    if (routes.length > 0) await tx.insert(storefrontRoutes).values(routes);

    await tx
      .update(tenants)
      .set({ defaultStorefrontId: sfIds[spec.defaultStorefront] })
      .where(eq(tenants.id, tenantId));

    const entIds: Record<string, string> = {};
    for (const e of spec.entitlements) {
      const values = { name: e.name, type: e.type, unit: e.unit ?? null, levels: e.levels ?? null };
      const [row] = await tx
        .insert(entitlementDefinitions)
        .values({ id: newId('ent'), tenantId, key: e.key, ...values })
        .onConflictDoUpdate({
          target: [entitlementDefinitions.tenantId, entitlementDefinitions.key],
          set: values,
        })
        .returning({ id: entitlementDefinitions.id });
      if (!row) throw new Error('entitlement upsert returned nothing');
      entIds[e.key] = row.id;
    }

    const bundleIds: Record<string, string> = {};
    for (const b of spec.bundles) {
      const values = { name: b.name, description: b.description, trial: b.trial ?? null };
      const [row] = await tx
        .insert(bundles)
        .values({ id: newId('bun'), tenantId, slug: b.slug, ...values })
        .onConflictDoUpdate({ target: [bundles.tenantId, bundles.slug], set: values })
        .returning({ id: bundles.id });
      if (!row) throw new Error('bundle upsert returned nothing');
      const bundleId = row.id;
      bundleIds[b.slug] = bundleId;

      for (const [position, e] of b.entitlements.entries()) {
        const entitlementId = entIds[e.key];
        if (!entitlementId) throw new Error(`unknown entitlement ${e.key}`); // spec validation prevents it
        await tx
          .insert(bundleEntitlements)
          .values({ bundleId, entitlementId, tenantId, value: e.value, position })
          .onConflictDoUpdate({
            target: [bundleEntitlements.bundleId, bundleEntitlements.entitlementId],
            set: { value: e.value, position },
          });
      }
      for (const p of b.prices) {
        const sf = spec.storefronts.find((s) => s.slug === p.storefront);
        const storefrontId = sfIds[p.storefront];
        if (!sf || !storefrontId) throw new Error(`unknown storefront ${p.storefront}`);
        await tx
          .insert(bundlePrices)
          .values({
            id: newId('price'),
            tenantId,
            bundleId,
            storefrontId,
            currency: sf.currency,
            amount: p.amount,
            interval: p.interval,
            intervalCount: p.intervalCount,
          })
          .onConflictDoUpdate({
            target: [
              bundlePrices.bundleId,
              bundlePrices.storefrontId,
              bundlePrices.currency,
              bundlePrices.interval,
              bundlePrices.intervalCount,
            ],
            set: { amount: p.amount, status: 'active' },
          });
      }
    }

    const [ver] = await tx
      .select({ v: tenants.configVersion })
      .from(tenants)
      .where(and(eq(tenants.id, tenantId)));
    return { tenantId, configVersion: ver?.v ?? 0, storefronts: sfIds, bundles: bundleIds };
  });
}
