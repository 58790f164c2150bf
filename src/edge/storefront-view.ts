import type { EdgeContext } from '../env';

/** The resolved storefront as the API shows it. */
export function storefrontView(edge: EdgeContext) {
  const { snapshot, resolution } = edge;
  const sf = snapshot.storefront;
  return {
    id: sf.id,
    slug: sf.slug,
    name: sf.name,
    tenantId: snapshot.tenant.id,
    tenant: snapshot.tenant.slug,
    channel: sf.channel,
    currency: sf.currency,
    region: sf.region,
    locale: sf.locale,
    resolvedBy: resolution.resolvedBy,
    configVersion: snapshot.version,
  };
}
