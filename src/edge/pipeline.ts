/**
 * The edge request pipeline as plain functions: resolve the storefront and load its config,
 * refuse what a killswitch blocks, authenticate the storefront API key. The Hono middlewares
 * (src/middleware/) and the direct dispatch of the hottest routes (src/edge/fast-path.ts) both
 * call these, so there is one code path whatever the entry. Nothing here touches Postgres.
 */
import type { EdgeContext, Env } from '../env';
import { ApiError } from '../errors';
import { hashApiKey, parseApiKey } from '../security/api-keys';
import { settings } from '../settings';
import { detectClient, isChannelHeaderValid } from './channel';
import { edgeConfig } from './config-store';
import { type Geo, requestGeo } from './geo';
import { type HotSignal, hotConfig } from './hot-config';
import { blockingKillswitch } from './killswitch';
import { type Resolution as AnyResolution, resolveStorefront } from './resolve';
import type {
  EdgeApiKey,
  HotStorefrontConfig,
  KillswitchView,
  RoutingTable,
  StorefrontSnapshot,
} from './snapshot';

type Resolution = Extract<AnyResolution, { ok: true }>;

const MAX_HOST = 253;
const MAX_STOREFRONT_HEADER = 64;
const STOREFRONT_REF_RE = /^(?:[a-z0-9][a-z0-9-]{0,62}|sf_[0-9A-Z]{26})$/;

export function killswitchProblem(ks: KillswitchView): ApiError {
  const what =
    ks.scope === 'tenant' || ks.scope === 'storefront'
      ? 'This storefront'
      : `The ${ks.target} ${ks.scope}`;
  return new ApiError(
    'killswitch_engaged',
    `${what} is temporarily switched off by the operator. Retry after ${ks.retryAfterSeconds} s.`,
    {
      headers: { 'retry-after': String(ks.retryAfterSeconds) },
      extensions: { killswitch: { scope: ks.scope, target: ks.target || undefined } },
    },
  );
}

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

/** The request's edge context from loaded config; throws when a killswitch blocks it. */
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
  const edge: EdgeContext = { resolution, tenant, snapshot, hot, fresh, client, geo: inputs.geo };
  const blocked = blockingKillswitch(
    hot.killswitches,
    { storefrontId: resolution.storefrontId, channel: client.channel },
    fresh,
  );
  if (blocked) throw killswitchProblem(blocked);
  return edge;
}

/**
 * {@link resolveEdge} for a warm isolate: when the routing table, the storefront's snapshot and
 * the tenant's hot config are all in memory, the context without a promise; undefined when
 * something must be loaded first (then call `resolveEdge`). Throws the same problems.
 */
export function resolveEdgeSync(
  req: Request,
  headers: Headers,
  env: Env,
  ctx: ExecutionContext,
  prefix: string | undefined,
  target: RequestTarget,
): EdgeContext | undefined {
  const table = edgeConfig.cachedRoutingTable(env.CONFIG_KV, ctx);
  if (!table) return undefined;
  const inputs = edgeInputs(req, headers, env, target);
  const resolution = resolveIn(table, inputs, prefix);
  const tenant = tenantOf(table, resolution, inputs.host);
  const snapshot = edgeConfig.cachedSnapshot(resolution.storefrontId, tenant.version);
  const signal = snapshot && hotConfig.peek(env.TENANT_CONFIG, resolution.tenantId, ctx);
  if (!snapshot || !signal) return undefined;
  return edgeContext(headers, inputs, resolution, tenant, snapshot, false, signal);
}

/**
 * Resolves the storefront of a request, loads its snapshot (in-isolate cache, KV when cold)
 * and the tenant's hot config, and refuses the request if a tenant, storefront or channel
 * killswitch is on. `prefix` is the path segment the request came in under, if any.
 */
export async function resolveEdge(
  req: Request,
  env: Env,
  ctx: ExecutionContext,
  prefix?: string,
  target: RequestTarget = requestTarget(req.url),
): Promise<EdgeContext> {
  const headers = req.headers;
  const inputs = edgeInputs(req, headers, env, target);
  const table =
    edgeConfig.cachedRoutingTable(env.CONFIG_KV, ctx) ??
    (await edgeConfig.routingTable(env.CONFIG_KV, ctx));
  const resolution = resolveIn(table, inputs, prefix);
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

/** Refuses the request when a killswitch for `feature` (catalog, flags, checkout…) is on. */
export function assertFeature(edge: EdgeContext, feature: string): void {
  const blocked = blockingKillswitch(
    edge.hot.killswitches,
    { storefrontId: edge.resolution.storefrontId, channel: edge.client.channel, feature },
    edge.fresh,
  );
  if (blocked?.scope === 'feature') throw killswitchProblem(blocked);
}

const unauthenticated = (detail: string) =>
  new ApiError('unauthenticated', detail, {
    headers: { 'www-authenticate': 'Bearer realm="azotte-storefront"' },
  });

/**
 * SHA-256 of recently presented keys, so a busy key is hashed once per isolate, not once per
 * request. Bounded; entries are keys that were already in this isolate's memory anyway.
 */
const keyHashes = new Map<string, string>();

async function hashOf(key: string): Promise<string> {
  let hash = keyHashes.get(key);
  if (hash === undefined) {
    hash = await hashApiKey(key);
    if (keyHashes.size >= 1024) keyHashes.clear();
    keyHashes.set(key, hash);
  }
  return hash;
}

/** The key from `Authorization: Bearer <key>` or `X-Api-Key`. */
function presentedKey(headers: Headers): string | undefined {
  const auth = headers.get('authorization');
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  return headers.get('x-api-key')?.trim() ?? undefined;
}

/**
 * Storefront API key check, in Unkey's order: well-formed → exists (among this storefront's
 * active keys, so another storefront's or tenant's key simply does not exist here) → not
 * expired → allowed kind → allowed channel (the storefront's, never a client header). The rate
 * limit comes after, in the caller.
 */
export async function authenticateKey(
  edge: EdgeContext,
  headers: Headers,
  allowed: 'publishable' | 'secret',
): Promise<EdgeApiKey> {
  const raw = presentedKey(headers);
  if (!raw) throw missingKey();
  // A key hashed before in this isolate was well-formed then; skip the format check.
  let hash = keyHashes.get(raw);
  if (hash === undefined) {
    const parsed = parseApiKey(raw);
    if (!parsed.ok) {
      throw unauthenticated(`The API key is malformed (${parsed.reason.replace('_', ' ')}).`);
    }
    hash = await hashOf(parsed.key);
  }
  return checkKey(edge, hash, allowed);
}

/**
 * {@link authenticateKey} without a promise when the presented key was hashed before in this
 * isolate (the usual case); undefined when it must be hashed first (then call the async one).
 */
export function authenticateKeySync(
  edge: EdgeContext,
  headers: Headers,
  allowed: 'publishable' | 'secret',
): EdgeApiKey | undefined {
  const raw = presentedKey(headers);
  if (!raw) throw missingKey();
  const hash = keyHashes.get(raw);
  return hash === undefined ? undefined : checkKey(edge, hash, allowed);
}

const missingKey = () =>
  unauthenticated(
    'This endpoint needs the storefront’s API key: `Authorization: Bearer pk_live_…` (or `X-Api-Key`).',
  );

function checkKey(edge: EdgeContext, hash: string, allowed: 'publishable' | 'secret'): EdgeApiKey {
  const key = edge.hot.apiKeys.find((k) => k.hash === hash);
  if (!key) {
    throw unauthenticated(
      'The API key is not valid for this storefront (unknown, revoked or another storefront’s).',
    );
  }
  if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now()) {
    throw unauthenticated('The API key has expired. Rotate it in the console.');
  }
  if (allowed === 'secret' && key.kind !== 'secret') {
    throw new ApiError(
      'forbidden',
      'This endpoint needs a secret key (sk_live_…); publishable keys cannot call it.',
    );
  }
  // The storefront's own channel, from its published config: `X-Client-Channel` and the user
  // agent are the client's word and may choose the response shape, never widen a key.
  const channel = edge.snapshot.storefront.channel;
  if (key.channels.length > 0 && !key.channels.includes(channel)) {
    throw new ApiError('forbidden', `This API key is not allowed on the ${channel} channel.`);
  }
  return key;
}
