/**
 * The pipeline's first step (src/edge/pipeline.ts): resolve the storefront of a request and
 * load its config (the host's entry, the tenant's routing and hot config, the storefront's
 * snapshot) into an {@link EdgeContext}, from memory when the isolate is warm. Nothing here
 * touches Postgres, and nothing here is global: an isolate holds what its hosts need.
 */
import type { EdgeContext, Env } from '../env';
import { ApiError } from '../errors';
import { settings } from '../settings';
import { detectClient, isChannelHeaderValid } from './channel';
import { edgeConfig } from './config-store';
import { hosts } from './directory';
import { type Geo, requestGeo } from './geo';
import { type HotSignal, hotConfig } from './hot-config';
import { hotKeyIndex } from './key-store';
import { type Resolution as AnyResolution, resolveStorefront } from './resolve';
import type { HostEntry, HotStorefrontConfig, StorefrontSnapshot, TenantRouting } from './snapshot';
import { newerRouting, tenantRouting } from './tenant-routing';

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

const unknownHost = (host: string) =>
  new ApiError('unknown_host', `No storefront is configured for the host "${host}".`);

/** The storefront the inputs resolve to; throws a problem when none. */
function resolveIn(
  host: HostEntry | null,
  routing: TenantRouting | undefined,
  inputs: EdgeInputs,
  prefix: string | undefined,
): Resolution {
  const { storefrontHeader, geo } = inputs;
  const resolution = resolveStorefront(host, routing, {
    host: inputs.host,
    path: inputs.pathname,
    storefrontHeader,
    country: geo.country,
    continent: geo.continent,
  });
  if (!resolution.ok) {
    if (resolution.reason === 'storefront_not_found') {
      throw new ApiError(
        'storefront_not_found',
        `No storefront "${storefrontHeader}" is served on ${inputs.host}.`,
      );
    }
    throw unknownHost(inputs.host);
  }
  // A request that came in under a path prefix must have been resolved by it.
  if (prefix !== undefined && resolution.pathPrefix !== `/${prefix}`) {
    throw new ApiError('not_found', `No storefront is served under /${prefix} on ${inputs.host}.`);
  }
  return resolution;
}

/**
 * {@link resolveIn}, except that a miss within a known tenant (a prefix, a storefront) on a hot
 * config that may be stale answers undefined instead of the 404, so the caller checks the
 * tenant's config object once more first.
 */
function resolveOrRecheck(
  host: HostEntry,
  routing: TenantRouting,
  inputs: EdgeInputs,
  prefix: string | undefined,
): Resolution | undefined {
  try {
    return resolveIn(host, routing, inputs, prefix);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && hotConfig.mayRecheck(host.tenantId))
      return undefined;
    throw err;
  }
}

const snapshotHot = new WeakMap<StorefrontSnapshot, HotStorefrontConfig>();

/** The snapshot's own flags and switches, for when no newer hot config has arrived. */
function hotOf(snapshot: StorefrontSnapshot): HotStorefrontConfig {
  let hot = snapshotHot.get(snapshot);
  if (!hot) {
    hot = {
      flags: snapshot.flags,
      killswitches: snapshot.killswitches,
      segments: snapshot.segments,
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
  tenant: TenantRouting,
  snapshot: StorefrontSnapshot,
  stale: boolean,
  signal: HotSignal,
): EdgeContext {
  const config = signal.config;
  const newer =
    config && config.version >= snapshot.version
      ? config.storefronts[resolution.storefrontId]
      : undefined;
  const hot = newer ?? hotOf(snapshot);
  const fresh = signal.fresh && !stale;
  const client = detectClient(headers, snapshot.storefront.channel, inputs.channelHeader);
  const keys = hotKeyIndex(config);
  return { resolution, tenant, snapshot, hot, keys, fresh, client, geo: inputs.geo };
}

/** The snapshot version the routing serves for the resolved storefront. */
function versionOf(routing: TenantRouting, resolution: Resolution): number {
  return routing.storefronts[resolution.storefrontId]?.version ?? routing.version;
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
  const host = hosts.lookup(inputs.host, env.CONFIG_KV, env.HOST_DIRECTORY, ctx);
  if (host instanceof Promise)
    return host.then((h) => loadEdge(headers, env, ctx, prefix, inputs, h));
  if (!host) throw unknownHost(inputs.host);
  const signal = hotConfig.peek(env.TENANT_CONFIG, host.tenantId, ctx);
  if (signal) {
    const kvRouting = tenantRouting.peek(
      host.tenantId,
      env.CONFIG_KV,
      ctx,
      !signal.fresh || !signal.config,
    );
    if (signal.config || kvRouting) {
      const routing = newerRouting(signal.config?.routing, kvRouting, inputs.host);
      const resolution = resolveOrRecheck(host, routing, inputs, prefix);
      if (resolution) {
        const snapshot = edgeConfig.cachedSnapshot(
          resolution.storefrontId,
          versionOf(routing, resolution),
        );
        if (snapshot) {
          return edgeContext(headers, inputs, resolution, routing, snapshot, false, signal);
        }
      }
    }
  }
  return loadEdge(headers, env, ctx, prefix, inputs, host);
}

/** {@link resolveEdge} when something must be loaded first (a cold isolate, a new version). */
async function loadEdge(
  headers: Headers,
  env: Env,
  ctx: ExecutionContext,
  prefix: string | undefined,
  inputs: EdgeInputs,
  host: HostEntry | null,
): Promise<EdgeContext> {
  if (!host) throw unknownHost(inputs.host);
  const { tenantId } = host;
  let signal = hotConfig.peek(env.TENANT_CONFIG, tenantId, ctx);
  let kvRouting = tenantRouting.peek(
    tenantId,
    env.CONFIG_KV,
    ctx,
    !signal?.fresh || !signal?.config,
  );
  if (!signal || kvRouting === undefined) {
    // A tenant this isolate has not served yet: its config object and its KV routing entry in
    // parallel (the entry stands in when the object does not answer).
    [signal, kvRouting] = await Promise.all([
      signal ?? hotConfig.get(env.TENANT_CONFIG, tenantId, ctx),
      kvRouting !== undefined ? kvRouting : tenantRouting.read(tenantId, env.CONFIG_KV),
    ]);
  }
  let routing = newerRouting(signal.config?.routing, kvRouting, inputs.host);
  let resolution = resolveOrRecheck(host, routing, inputs, prefix);
  if (!resolution) {
    // The tenant's config in hand did not know the request; a fresher one might.
    signal = await hotConfig.recheck(env.TENANT_CONFIG, tenantId, ctx);
    routing = newerRouting(signal.config?.routing, kvRouting, inputs.host);
    resolution = resolveIn(host, routing, inputs, prefix);
  }
  const version = versionOf(routing, resolution);
  const hit = edgeConfig.cachedSnapshot(resolution.storefrontId, version);
  const snap = hit
    ? { snapshot: hit, stale: false }
    : await edgeConfig.snapshot(env.CONFIG_KV, resolution.storefrontId, version);
  return edgeContext(headers, inputs, resolution, routing, snap.snapshot, snap.stale, signal);
}
