import { and, asc, eq, inArray } from 'drizzle-orm';
import { storefrontRoutes, storefronts } from '../../db/schema';
import type { Channel } from '../../db/schema/enums';
import type { Db } from '../../db/types';

export interface StorefrontSummary {
  id: string;
  slug: string;
  name: string;
  channel: Channel;
  currency: string;
  region: string;
  locale: string;
  status: 'active' | 'archived';
  /** The storefront's own hosts. */
  hosts: string[];
  /** Path prefixes on the tenant's shared hosts (`/eu`). */
  pathPrefixes: string[];
}

/** A tenant's storefronts with their hosts and path prefixes, by slug. Two queries. */
export async function listStorefronts(db: Db, tenantId: string): Promise<StorefrontSummary[]> {
  const rows = await db
    .select({
      id: storefronts.id,
      slug: storefronts.slug,
      name: storefronts.name,
      channel: storefronts.channel,
      currency: storefronts.currency,
      region: storefronts.region,
      locale: storefronts.locale,
      status: storefronts.status,
    })
    .from(storefronts)
    .where(eq(storefronts.tenantId, tenantId))
    .orderBy(asc(storefronts.slug));
  const routes = await db
    .select({
      storefrontId: storefrontRoutes.storefrontId,
      kind: storefrontRoutes.kind,
      value: storefrontRoutes.value,
    })
    .from(storefrontRoutes)
    .where(
      and(
        eq(storefrontRoutes.tenantId, tenantId),
        inArray(storefrontRoutes.kind, ['host', 'path_prefix']),
      ),
    )
    .orderBy(asc(storefrontRoutes.value));
  const byId = new Map<string, StorefrontSummary>(
    rows.map((r) => [r.id, { ...r, hosts: [], pathPrefixes: [] }]),
  );
  for (const r of routes) {
    const sf = r.storefrontId ? byId.get(r.storefrontId) : undefined;
    if (!sf) continue;
    (r.kind === 'host' ? sf.hosts : sf.pathPrefixes).push(r.value);
  }
  return [...byId.values()];
}
