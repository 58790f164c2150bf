import {
  type HotConfig,
  type PublicJwk,
  PublicJwkSchema,
  type RoutingTable,
  type StorefrontSnapshot,
  type TenantRouting,
} from '../../edge/snapshot';
import { jsonBytes, MAX_DEFINITION_BYTES, overLimitMessage, utf8Length } from '../../flags/limits';
import { buildJwks } from '../../security/customer-tokens';
import type { TenantConfigRows } from './load';

/** One storefront's snapshot from the tenant's rows. Pure. */
export function buildSnapshot(
  rows: TenantConfigRows,
  storefrontId: string,
  publishedAt: Date,
): StorefrontSnapshot {
  const sf = rows.storefronts.find((s) => s.id === storefrontId);
  if (!sf) throw new Error(`storefront ${storefrontId} is not in the tenant's rows`);
  const bundles: StorefrontSnapshot['bundles'] = [];
  const seen = new Set<string>();
  for (const { price, bundle } of rows.prices) {
    // One offer per bundle per storefront: the storefront's currency, shortest interval first.
    if (price.storefrontId !== sf.id || price.currency !== sf.currency || seen.has(bundle.id))
      continue;
    seen.add(bundle.id);
    bundles.push({
      id: bundle.id,
      slug: bundle.slug,
      name: bundle.name,
      description: bundle.description,
      price: {
        id: price.id,
        amount: price.amount,
        currency: price.currency,
        interval: price.interval,
        intervalCount: price.intervalCount,
      },
      entitlements: rows.grants
        .filter((g) => g.grant.bundleId === bundle.id)
        .map((g) => ({
          key: g.def.key,
          name: g.def.name,
          type: g.def.type,
          unit: g.def.unit,
          value: g.grant.value,
        })),
    });
  }
  // Storefront overrides replace the tenant definition of the same key.
  const flags = new Map<string, Record<string, unknown>>();
  for (const f of rows.flags.filter((f) => f.storefrontId === null)) flags.set(f.key, flagView(f));
  for (const f of rows.flags.filter((f) => f.storefrontId === sf.id)) flags.set(f.key, flagView(f));
  return {
    schemaVersion: 1,
    version: rows.tenant.configVersion,
    publishedAt: publishedAt.toISOString(),
    tenant: { id: rows.tenant.id, slug: rows.tenant.slug, name: rows.tenant.name },
    storefront: {
      id: sf.id,
      slug: sf.slug,
      name: sf.name,
      channel: sf.channel,
      currency: sf.currency,
      region: sf.region,
      locale: sf.locale,
      branding: { ...sf.branding },
      paymentProviders: sf.paymentProviders,
      cachePolicy: sf.cachePolicy,
    },
    bundles,
    flags: [...flags.values()],
    segments: rows.segments.map((s) => ({ ...s.definition, key: s.key, version: s.version })),
    apiKeys: rows.apiKeys
      .filter((k) => k.storefrontId === sf.id && (!k.expiresAt || k.expiresAt > publishedAt))
      .map((k) => ({
        id: k.id,
        hash: k.hash,
        kind: k.kind,
        channels: k.channels,
        expiresAt: k.expiresAt ? k.expiresAt.toISOString() : null,
        rateLimit: k.rateLimit,
      })),
    killswitches: rows.killswitches
      .filter((k) => k.storefrontId === null || k.storefrontId === sf.id)
      .map((k) => ({
        id: k.id,
        scope: k.scope,
        target: k.target,
        storefrontId: k.storefrontId,
        engaged: k.engaged,
        failMode: k.failMode,
        retryAfterSeconds: k.retryAfterSeconds,
        reason: k.reason,
      })),
    jwks: tenantJwks(rows, publishedAt),
  };
}

/** The tenant's public customer-token keys (active, and retired within the overlap). Pure. */
function tenantJwks(rows: TenantConfigRows, publishedAt: Date): PublicJwk[] {
  const keys = rows.signingKeys.map((k) => ({
    kid: k.kid,
    alg: k.alg,
    publicJwk: k.publicJwk,
    retiredAt: k.retiredAt ? k.retiredAt.getTime() : null,
  }));
  // buildJwks copies public members only, whatever the row holds; the schema drops anything odd.
  return buildJwks(keys, { now: publishedAt.getTime() }).keys.flatMap((k) => {
    const parsed = PublicJwkSchema.safeParse(k);
    return parsed.success ? [parsed.data] : [];
  });
}

/** Per flag row, its published view (a tenant flag is in every storefront's snapshot). */
const flagViews = new WeakMap<TenantConfigRows['flags'][number], Record<string, unknown>>();

function flagView(f: TenantConfigRows['flags'][number]): Record<string, unknown> {
  let view = flagViews.get(f);
  if (view) return view;
  const columns = {
    key: f.key,
    valueType: f.valueType,
    enabled: f.enabled,
    version: f.version,
    scope: f.storefrontId === null ? 'tenant' : 'storefront',
  };
  // Writes refuse such a definition; one stored before that is published without its body, so
  // that one flag cannot make the whole tenant unpublishable (the edge answers PARSE_ERROR and
  // the caller's default for it).
  const bytes = jsonBytes(f.definition);
  view =
    bytes > MAX_DEFINITION_BYTES
      ? {
          ...columns,
          unpublishable: `its definition is too large: ${overLimitMessage(bytes, MAX_DEFINITION_BYTES)}`,
        }
      : // The definition first: the columns (key, type, enabled, version) always win.
        { ...f.definition, ...columns };
  flagViews.set(f, view);
  return view;
}

/** What the publisher writes for one tenant, serialized, with its sizes. */
export interface TenantPublication {
  version: number;
  snapshots: { storefrontId: string; slug: string; body: string; bytes: number }[];
  hot: HotConfig;
  /** UTF-8 bytes of the hot config as JSON (what the tenant's config object stores). */
  hotBytes: number;
}

/** Builds every storefront snapshot and the hot config of a tenant, and measures them. Pure. */
export function buildTenantPublication(rows: TenantConfigRows, now: Date): TenantPublication {
  const hot: HotConfig = {
    version: rows.tenant.configVersion,
    publishedAt: now.toISOString(),
    storefronts: {},
  };
  const snapshots = rows.storefronts.map((sf) => {
    const snap = buildSnapshot(rows, sf.id, now);
    hot.storefronts[sf.id] = {
      flags: snap.flags,
      killswitches: snap.killswitches,
      segments: snap.segments,
      apiKeys: snap.apiKeys,
    };
    const body = JSON.stringify(snap);
    return { storefrontId: sf.id, slug: sf.slug, body, bytes: utf8Length(body) };
  });
  return { version: rows.tenant.configVersion, snapshots, hot, hotBytes: jsonBytes(hot) };
}

/** The tenant's part of the routing table. Pure. */
export function buildTenantRouting(rows: TenantConfigRows): {
  routing: TenantRouting;
  hosts: RoutingTable['hosts'];
} {
  const active = new Set(rows.storefronts.map((s) => s.id));
  const routing: TenantRouting = {
    slug: rows.tenant.slug,
    version: rows.tenant.configVersion,
    defaultStorefrontId:
      rows.tenant.defaultStorefrontId && active.has(rows.tenant.defaultStorefrontId)
        ? rows.tenant.defaultStorefrontId
        : null,
    pathPrefixes: {},
    countries: {},
    continents: {},
    storefronts: Object.fromEntries(
      rows.storefronts.map((s) => [s.id, { slug: s.slug, channel: s.channel }]),
    ),
  };
  const hosts: RoutingTable['hosts'] = {};
  for (const r of rows.routes) {
    if (r.kind === 'tenant_host') {
      hosts[r.value] = { tenantId: rows.tenant.id, storefrontId: null };
      continue;
    }
    if (!r.storefrontId || !active.has(r.storefrontId)) continue;
    if (r.kind === 'host')
      hosts[r.value] = { tenantId: rows.tenant.id, storefrontId: r.storefrontId };
    else if (r.kind === 'path_prefix') routing.pathPrefixes[r.value] = r.storefrontId;
    else if (r.kind === 'country') routing.countries[r.value] = r.storefrontId;
    else if (r.kind === 'continent') routing.continents[r.value] = r.storefrontId;
  }
  return { routing, hosts };
}
