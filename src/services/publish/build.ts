import {
  type EdgeKeyEntry,
  type HotConfig,
  type HotKeys,
  type PublicJwk,
  PublicJwkSchema,
  RECENT_KEY_SECONDS,
  REVOKED_KEY_SECONDS,
  type StorefrontSnapshot,
  type TenantRouting,
} from '../../edge/snapshot';
import { jsonBytes, MAX_DEFINITION_BYTES, overLimitMessage, utf8Length } from '../../flags/limits';
import { buildJwks } from '../../security/customer-tokens';
import { DEFAULT_SUBSCRIPTION_SETTINGS } from '../../subscriptions/settings';
import type { TenantConfigRows } from './load';

/** One storefront's snapshot from the tenant's rows. Pure. */
export function buildSnapshot(
  rows: TenantConfigRows,
  storefrontId: string,
  publishedAt: Date,
  version = rows.tenant.configVersion,
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
          // A tier carries its definition's order, so a subscription keeps it with its grants.
          ...(g.def.type === 'tier' && g.def.levels ? { levels: g.def.levels } : {}),
        })),
      trial: bundle.trial ?? null,
    });
  }
  // Storefront overrides replace the tenant definition of the same key.
  const flags = new Map<string, Record<string, unknown>>();
  for (const f of rows.flags.filter((f) => f.storefrontId === null)) flags.set(f.key, flagView(f));
  for (const f of rows.flags.filter((f) => f.storefrontId === sf.id)) flags.set(f.key, flagView(f));
  return {
    schemaVersion: 1,
    version,
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
      paymentRouting: sf.paymentRouting ?? null,
      cachePolicy: sf.cachePolicy,
      subscriptions: sf.subscriptionSettings ?? DEFAULT_SUBSCRIPTION_SETTINGS,
    },
    bundles,
    flags: [...flags.values()],
    segments: rows.segments.map((s) => ({ ...s.definition, key: s.key, version: s.version })),
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

/** One storefront's part of a publication. */
export interface SnapshotPart {
  storefrontId: string;
  slug: string;
  /**
   * The snapshot as JSON without `schemaVersion`, `version` and `publishedAt`: what decides
   * whether the storefront changed (and what its content hash is taken of).
   */
  content: string;
  /** UTF-8 bytes of the whole snapshot (as {@link snapshotBody} writes it). */
  bytes: number;
}

/** What the publisher writes for one tenant, serialized, with its sizes. */
export interface TenantPublication {
  version: number;
  snapshots: SnapshotPart[];
  /** The hot config; its `routing` carries the configVersion for every storefront until the
   * publisher sets the version each storefront's snapshot is served at. */
  hot: HotConfig;
  /** UTF-8 bytes of the hot config as JSON (what the tenant's config object stores). */
  hotBytes: number;
}

const HEAD_BYTES = utf8Length('{"schemaVersion":1,"version":,"publishedAt":"",');

/** The snapshot JSON of `part` at `version`, published at `publishedAt` (ISO). Pure. */
export function snapshotBody(part: SnapshotPart, version: number, publishedAt: string): string {
  // content is `{"tenant":…}`: splice the three head members in front of its members.
  return `{"schemaVersion":1,"version":${version},"publishedAt":${JSON.stringify(publishedAt)},${part.content.slice(1)}`;
}

/**
 * Builds every storefront snapshot and the hot config of a tenant, and measures them. `keys`
 * is what the hot config carries about API keys (recent and revoked ones, never the key set).
 * Pure.
 */
export function buildTenantPublication(
  rows: TenantConfigRows,
  now: Date,
  keys: HotKeys = { recent: [], revoked: [] },
): TenantPublication {
  const version = rows.tenant.configVersion;
  const publishedAt = now.toISOString();
  const storefronts: HotConfig['storefronts'] = {};
  const snapshots = rows.storefronts.map((sf): SnapshotPart => {
    const {
      schemaVersion: _s,
      version: _v,
      publishedAt: _p,
      ...rest
    } = buildSnapshot(rows, sf.id, now);
    storefronts[sf.id] = {
      flags: rest.flags,
      killswitches: rest.killswitches,
      segments: rest.segments,
    };
    const content = JSON.stringify(rest);
    const bytes = utf8Length(content) + HEAD_BYTES + String(version).length + publishedAt.length;
    return { storefrontId: sf.id, slug: sf.slug, content, bytes };
  });
  const { routing } = buildTenantRouting(rows, {});
  const hot: HotConfig = { version, publishedAt, routing, storefronts, keys };
  return { version, snapshots, hot, hotBytes: jsonBytes(hot) };
}

/** A host of the tenant, with what orders two claims on it (the route row's creation). */
export interface TenantHost {
  host: string;
  storefrontId: string | null;
  /** Milliseconds since the epoch the route was created: a newer claim wins a host. */
  since: number;
}

/**
 * The tenant's routing and hosts. `versions` is the snapshot version each storefront is served
 * at; a storefront not in it is at the tenant's config version. Pure.
 */
export function buildTenantRouting(
  rows: TenantConfigRows,
  versions: Record<string, number>,
): { routing: TenantRouting; hosts: TenantHost[] } {
  const active = new Set(rows.storefronts.map((s) => s.id));
  const routing: TenantRouting = {
    tenantId: rows.tenant.id,
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
      rows.storefronts.map((s) => [
        s.id,
        {
          slug: s.slug,
          channel: s.channel,
          version: versions[s.id] ?? rows.tenant.configVersion,
        },
      ]),
    ),
  };
  const hosts: TenantHost[] = [];
  for (const r of rows.routes) {
    const since = r.createdAt.getTime();
    if (r.kind === 'tenant_host') {
      hosts.push({ host: r.value, storefrontId: null, since });
      continue;
    }
    if (!r.storefrontId || !active.has(r.storefrontId)) continue;
    if (r.kind === 'host') hosts.push({ host: r.value, storefrontId: r.storefrontId, since });
    else if (r.kind === 'path_prefix') routing.pathPrefixes[r.value] = r.storefrontId;
    else if (r.kind === 'country') routing.countries[r.value] = r.storefrontId;
    else if (r.kind === 'continent') routing.continents[r.value] = r.storefrontId;
  }
  hosts.sort((x, y) => (x.host < y.host ? -1 : x.host > y.host ? 1 : 0));
  return { routing, hosts };
}

/** At most this many recent keys ride in the hot config (the rest are read from KV). */
export const MAX_RECENT_KEYS = 500;
/** At most this many revoked key ids ride in the hot config (the newest). */
export const MAX_REVOKED_KEYS = 1000;

/** A key row's edge entry. Pure. */
export function edgeKeyEntry(k: TenantConfigRows['apiKeys'][number]): EdgeKeyEntry {
  return {
    id: k.id,
    hash: k.hash,
    kind: k.kind,
    mode: k.mode,
    channels: k.channels,
    expiresAt: k.expiresAt ? k.expiresAt.toISOString() : null,
    rateLimit: k.rateLimit,
    tenantId: k.tenantId,
    storefrontId: k.storefrontId,
  };
}

/**
 * What the hot config says about keys, from the rows `loadTenantConfig` read (newest change
 * first): keys created or changed within RECENT_KEY_SECONDS that still work, and ids of keys
 * revoked within REVOKED_KEY_SECONDS. Bounded, whatever happened. Pure.
 */
export function buildHotKeys(rows: TenantConfigRows, now: Date): HotKeys {
  const t = now.getTime();
  const recent: EdgeKeyEntry[] = [];
  const revoked: string[] = [];
  for (const k of rows.apiKeys) {
    if (k.revokedAt) {
      if (
        t - k.revokedAt.getTime() <= REVOKED_KEY_SECONDS * 1000 &&
        revoked.length < MAX_REVOKED_KEYS
      )
        revoked.push(k.id);
      continue;
    }
    // An expired one too (a rotation without overlap): its entry tells the edge it expired.
    if (t - k.updatedAt.getTime() <= RECENT_KEY_SECONDS * 1000 && recent.length < MAX_RECENT_KEYS)
      recent.push(edgeKeyEntry(k));
  }
  return { recent, revoked };
}
