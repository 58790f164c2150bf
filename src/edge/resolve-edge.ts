/**
 * The pipeline's first step (src/edge/pipeline.ts): resolve the storefront of a request and
 * load its config (routing table, snapshot, the tenant's hot config) into an {@link EdgeContext},
 * from memory when the isolate is warm. Nothing here touches Postgres.
 */
import type { EdgeContext, Env } from '../env';
import { ApiError } from '../errors';
import { settings } from '../settings';
import { detectClient, isChannelHeaderValid } from './channel';
import { edgeConfig } from './config-store';
import { type Geo, requestGeo } from './geo';
import { type HotSignal, hotConfig } from './hot-config';
import { type Resolution as AnyResolution, resolveStorefront } from './resolve';
import type { HotStorefrontConfig, RoutingTable, StorefrontSnapshot } from './snapshot';

type Resolution = Extract<AnyResolution, { ok: true }>;

const MAX_HOST = 253;
const MAX_STOREFRONT_HEADER = 64;
const STOREFRONT_REF_RE = /^(?:[a-z0-9][a-z0-9-]{0,62}|sf_[0-9A-Z]{26})$/;

export interface RequestTarget {
  /** Lower-case hostname without port or trailing dot. */
  host: string;
  pathname: string;
}

/**
 * Host and path of a request URL as the runtime gives it (already parsed and normalized, so
 * slicing the string is enough and much cheaper than a second `new URL`).
 */
export function requestTarget(url: string): RequestTarget {
  const authorityStart = url.indexOf('//') + 2;
  let pathStart = url.indexOf('/', authorityStart);
  if (pathStart === -1) pathStart = url.length;
  const query = url.indexOf('?', pathStart);
  const authority = url.slice(authorityStart, pathStart);
  let host: string;
  if (authority.startsWith('[')) host = authority.slice(0, authority.indexOf(']') + 1);
  else {
    const colon = authority.lastIndexOf(':');
    host = colon === -1 ? authority : authority.slice(0, colon);
  }
  host = host.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  const pathname = url.slice(pathStart, query === -1 ? undefined : query) || '/';
  return { host, pathname };
}

/** What resolution reads from a request, validated. */
interface EdgeInputs {
  host: string;
  pathname: string;
  storefrontHeader: string | undefined;
  /** `X-Client-Channel` as sent (validated). */
  channelHeader: string | null;
  geo: Geo;
}

function edgeInputs(req: Request, headers: Headers, env: Env, target: RequestTarget): EdgeInputs {
  // The host is the URL's (the runtime takes it from the Host header).
  if (target.host.length > MAX_HOST) {
    throw new ApiError(
      'header_too_large',
      `The Host header may be at most ${MAX_HOST} characters.`,
    );
  }
  const sfHeader = headers.get('x-storefront');
  let storefrontHeader: string | undefined;
  if (sfHeader !== null) {
    if (sfHeader.length > MAX_STOREFRONT_HEADER) {
      throw new ApiError(
        'header_too_large',
        `X-Storefront may be at most ${MAX_STOREFRONT_HEADER} characters.`,
      );
    }
    storefrontHeader = sfHeader.trim();
    if (!STOREFRONT_REF_RE.test(storefrontHeader)) {
      throw new ApiError(
        'malformed_header',
        'X-Storefront must be a storefront slug (lower-case letters, digits, dashes) or id (sf_…).',
        { errors: [{ path: 'headers.x-storefront', message: 'not a storefront slug or id' }] },
      );
    }
  }
  const channelHeader = headers.get('x-client-channel');
  if (!isChannelHeaderValid(channelHeader)) {
    throw new ApiError(
      'malformed_header',
      'X-Client-Channel must be one of web, mobile, partner, ott.',
      { errors: [{ path: 'headers.x-client-channel', message: 'unknown channel' }] },
    );
  }
  const geo = requestGeo(req, settings(env).devGeoHeaders, headers);
  return { host: target.host, pathname: target.pathname, storefrontHeader, channelHeader, geo };
}

/** The storefront the inputs resolve to in `table`; throws a problem when none. */
function resolveIn(
  table: RoutingTable,
  inputs: EdgeInputs,
  prefix: string | undefined,
): Resolution {
  const { host, storefrontHeader, geo } = inputs;
  const resolution = resolveStorefront(table, {
    host,
    path: inputs.pathname,
    storefrontHeader,
    country: geo.country,
    continent: geo.continent,
  });
  if (!resolution.ok) {
    if (resolution.reason === 'storefront_not_found') {
      throw new ApiError(
        'storefront_not_found',
        `No storefront "${storefrontHeader}" is served on ${host}.`,
      );
    }
    throw new ApiError('unknown_host', `No storefront is configured for the host "${host}".`);
  }
  // A request that came in under a path prefix must have been resolved by it.
  if (prefix !== undefined && resolution.pathPrefix !== `/${prefix}`) {
    throw new ApiError('not_found', `No storefront is served under /${prefix} on ${host}.`);
  }
  return resolution;
}

/**
 * {@link resolveIn}, except that a miss on a copy that may be stale answers undefined instead
 * of the 404, so the caller re-reads the routing table first (see `recheckRouting`).
 */
function resolveOrRecheck(
  table: RoutingTable,
  inputs: EdgeInputs,
  prefix: string | undefined,
): Resolution | undefined {
  try {
    return resolveIn(table, inputs, prefix);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && edgeConfig.mayRecheck()) return undefined;
    throw err;
  }
}

/** The resolved storefront's tenant in `table`. */
function tenantOf(
  table: RoutingTable,
  resolution: Resolution,
  host: string,
): RoutingTable['tenants'][string] {
  const tenant = table.tenants[resolution.tenantId];
  if (!tenant) throw new ApiError('unknown_host', `No storefront is configured for "${host}".`);
  return tenant;
}

const snapshotHot = new WeakMap<StorefrontSnapshot, HotStorefrontConfig>();

/** The snapshot's own flags, switches and keys, for when no newer hot config has arrived. */
function hotOf(snapshot: StorefrontSnapshot): HotStorefrontConfig {
  let hot = snapshotHot.get(snapshot);
  if (!hot) {
    hot = {
      flags: snapshot.flags,
      killswitches: snapshot.killswitches,
      segments: snapshot.segments,
      apiKeys: snapshot.apiKeys,
    };
    snapshotHot.set(snapshot, hot);
  }
  return hot;
}

/** The request's edge context from loaded config. */
function edgeContext(
  headers: Headers,
  inputs: EdgeInputs,
  resolution: Resolution,
  tenant: RoutingTable['tenants'][string],
  snapshot: StorefrontSnapshot,
  stale: boolean,
  signal: HotSignal,
): EdgeContext {
  const newer =
    signal.config && signal.config.version >= snapshot.version
      ? signal.config.storefronts[resolution.storefrontId]
      : undefined;
  const hot = newer ?? hotOf(snapshot);
  const fresh = signal.fresh && !stale;
  const client = detectClient(headers, snapshot.storefront.channel, inputs.channelHeader);
  return { resolution, tenant, snapshot, hot, fresh, client, geo: inputs.geo };
}

/**
 * Resolves the storefront of a request and loads its snapshot and the tenant's hot config:
 * without a promise when all of it is in this isolate's memory (the usual case), else from KV
 * and the tenant's config object. `prefix` is the path segment the request came in under, if
 * any. Throws (or rejects with) the problem for an unknown host, storefront or prefix.
 */
export function resolveEdge(
  req: Request,
  headers: Headers,
  env: Env,
  ctx: ExecutionContext,
  prefix: string | undefined,
  target: RequestTarget,
): EdgeContext | Promise<EdgeContext> {
  const inputs = edgeInputs(req, headers, env, target);
  const table = edgeConfig.cachedRoutingTable(env.CONFIG_KV, ctx);
  if (table) {
    const resolution = resolveOrRecheck(table, inputs, prefix);
    if (!resolution) return loadEdge(headers, env, ctx, prefix, inputs);
    const tenant = tenantOf(table, resolution, inputs.host);
    const snapshot = edgeConfig.cachedSnapshot(resolution.storefrontId, tenant.version);
    const signal = snapshot && hotConfig.peek(env.TENANT_CONFIG, resolution.tenantId, ctx);
    if (snapshot && signal) {
      return edgeContext(headers, inputs, resolution, tenant, snapshot, false, signal);
    }
  }
  return loadEdge(headers, env, ctx, prefix, inputs);
}

/** {@link resolveEdge} when something must be loaded first (a cold isolate, a new version). */
async function loadEdge(
  headers: Headers,
  env: Env,
  ctx: ExecutionContext,
  prefix: string | undefined,
  inputs: EdgeInputs,
): Promise<EdgeContext> {
  let table =
    edgeConfig.cachedRoutingTable(env.CONFIG_KV, ctx) ??
    (await edgeConfig.routingTable(env.CONFIG_KV, ctx));
  let resolution = resolveOrRecheck(table, inputs, prefix);
  if (!resolution) {
    // The copy in hand did not know the request; a fresher one might (a host just published).
    if (await edgeConfig.recheckRouting(env.CONFIG_KV)) {
      table = await edgeConfig.routingTable(env.CONFIG_KV, ctx);
    }
    resolution = resolveIn(table, inputs, prefix);
  }
  const tenant = tenantOf(table, resolution, inputs.host);
  const snapHit = edgeConfig.cachedSnapshot(resolution.storefrontId, tenant.version);
  const hotHit = hotConfig.peek(env.TENANT_CONFIG, resolution.tenantId, ctx);
  const [snap, signal] =
    snapHit && hotHit
      ? [{ snapshot: snapHit, stale: false }, hotHit]
      : await Promise.all([
          snapHit
            ? { snapshot: snapHit, stale: false }
            : edgeConfig.snapshot(env.CONFIG_KV, resolution.storefrontId, tenant.version),
          hotHit ?? hotConfig.get(env.TENANT_CONFIG, resolution.tenantId, ctx),
        ]);
  return edgeContext(headers, inputs, resolution, tenant, snap.snapshot, snap.stale, signal);
}
