import type { HostEntry, TenantRouting } from './snapshot';

export type ResolvedBy = 'host' | 'path' | 'header' | 'geo' | 'default';

export interface ResolutionInput {
  /** Lower-case hostname without port. */
  host: string;
  /** URL path, e.g. `/eu/v1/catalog`. */
  path: string;
  /** `X-Storefront` value (a storefront slug or id), already syntax-checked. */
  storefrontHeader?: string;
  /** ISO 3166-1 alpha-2, upper case. */
  country?: string;
  /** Cloudflare continent code, upper case. */
  continent?: string;
}

export type Resolution =
  | {
      ok: true;
      tenantId: string;
      storefrontId: string;
      resolvedBy: ResolvedBy;
      /** The path prefix that chose the storefront (`/eu`), if any. */
      pathPrefix?: string;
      /** How geography matched, when it did. */
      geoMatch?: 'country' | 'continent';
    }
  | { ok: false; reason: 'unknown_host' | 'storefront_not_found' | 'no_default' };

type Resolved = Extract<Resolution, { ok: true }>;

/**
 * A storefront host's resolution, the same object for every request to it (resolutions are
 * never mutated), per host entry.
 */
const byHost = new WeakMap<HostEntry, Resolved>();

/** First path segment as a prefix (`/eu/v1/x` → `/eu`), or undefined. */
function firstSegment(path: string): string | undefined {
  const end = path.indexOf('/', 1);
  const seg = end === -1 ? path : path.slice(0, end);
  return seg.length > 1 ? seg : undefined;
}

/**
 * Resolves a request to one storefront, in this order: the storefront's own host → a path
 * prefix on the tenant's shared host → `X-Storefront` (only within the tenant the host
 * resolved) → geography (country, then continent) → the tenant's default storefront.
 * Pure: the caller supplies the host's entry (null: unknown host), its tenant's routing and the
 * request facts.
 */
export function resolveStorefront(
  hostEntry: HostEntry | null,
  tenant: TenantRouting | undefined,
  input: ResolutionInput,
): Resolution {
  if (!hostEntry || !tenant || tenant.tenantId !== hostEntry.tenantId)
    return { ok: false, reason: 'unknown_host' };
  const tenantId = hostEntry.tenantId;

  if (hostEntry.storefrontId) {
    // A storefront the tenant no longer publishes: as if the host were unknown.
    if (!(hostEntry.storefrontId in tenant.storefronts))
      return { ok: false, reason: 'unknown_host' };
    let resolved = byHost.get(hostEntry);
    // Checked on reuse, so an entry edited in place can never answer with its old storefront.
    if (resolved?.storefrontId !== hostEntry.storefrontId || resolved.tenantId !== tenantId) {
      resolved = Object.freeze({
        ok: true as const,
        tenantId,
        storefrontId: hostEntry.storefrontId,
        resolvedBy: 'host' as const,
      });
      byHost.set(hostEntry, resolved);
    }
    return resolved;
  }

  const prefix = firstSegment(input.path);
  if (prefix) {
    const byPath = tenant.pathPrefixes[prefix];
    if (byPath)
      return { ok: true, tenantId, storefrontId: byPath, resolvedBy: 'path', pathPrefix: prefix };
  }

  if (input.storefrontHeader !== undefined) {
    const wanted = input.storefrontHeader;
    for (const [id, sf] of Object.entries(tenant.storefronts)) {
      if (id === wanted || sf.slug === wanted) {
        return { ok: true, tenantId, storefrontId: id, resolvedBy: 'header' };
      }
    }
    // Unknown here, whether it exists in another tenant or nowhere: the same answer.
    return { ok: false, reason: 'storefront_not_found' };
  }

  if (input.country) {
    const byCountry = tenant.countries[input.country];
    if (byCountry)
      return {
        ok: true,
        tenantId,
        storefrontId: byCountry,
        resolvedBy: 'geo',
        geoMatch: 'country',
      };
  }
  if (input.continent) {
    const byContinent = tenant.continents[input.continent];
    if (byContinent) {
      return {
        ok: true,
        tenantId,
        storefrontId: byContinent,
        resolvedBy: 'geo',
        geoMatch: 'continent',
      };
    }
  }

  if (tenant.defaultStorefrontId) {
    return { ok: true, tenantId, storefrontId: tenant.defaultStorefrontId, resolvedBy: 'default' };
  }
  return { ok: false, reason: 'no_default' };
}
