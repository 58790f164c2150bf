import { createMiddleware } from 'hono/factory';
import { detectClient, isChannelHeaderValid } from '../edge/channel';
import { edgeConfig } from '../edge/config-store';
import { requestGeo } from '../edge/geo';
import { hotConfig } from '../edge/hot-config';
import { blockingKillswitch } from '../edge/killswitch';
import { resolveStorefront } from '../edge/resolve';
import type { KillswitchView } from '../edge/snapshot';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { settings } from '../settings';

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

/**
 * Resolves the storefront of a storefront-API request, loads its published snapshot from the
 * in-isolate cache (KV on a cold isolate) and the tenant's hot config (flags, killswitches),
 * and refuses the request if a tenant, storefront or channel killswitch is on.
 * Never touches Postgres.
 */
export const storefrontContext = createMiddleware<AppEnv>(async (c, next) => {
  const req = c.req.raw;
  const hostHeader = req.headers.get('host') ?? '';
  if (hostHeader.length > MAX_HOST + 6) {
    throw new ApiError(
      'header_too_large',
      `The Host header may be at most ${MAX_HOST} characters.`,
    );
  }
  const url = new URL(req.url);
  const host = url.hostname.replace(/\.$/, '');

  const sfHeader = req.headers.get('x-storefront');
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
  if (!isChannelHeaderValid(req.headers.get('x-client-channel'))) {
    throw new ApiError(
      'malformed_header',
      'X-Client-Channel must be one of web, mobile, partner, ott.',
      {
        errors: [{ path: 'headers.x-client-channel', message: 'unknown channel' }],
      },
    );
  }
  const geo = requestGeo(req, settings(c.env).devGeoHeaders);

  const table = await edgeConfig.routingTable(c.env.CONFIG_KV, c.executionCtx);
  const resolution = resolveStorefront(table, {
    host,
    path: url.pathname,
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
  const prefixParam = c.req.param('sfPrefix');
  if (prefixParam !== undefined && resolution.pathPrefix !== `/${prefixParam}`) {
    throw new ApiError('not_found', `No storefront is served under /${prefixParam} on ${host}.`);
  }
  const tenant = table.tenants[resolution.tenantId];
  if (!tenant) throw new ApiError('unknown_host', `No storefront is configured for "${host}".`);
  const [{ snapshot, stale }, signal] = await Promise.all([
    edgeConfig.snapshot(c.env.CONFIG_KV, resolution.storefrontId, tenant.version),
    hotConfig.get(c.env.TENANT_CONFIG, resolution.tenantId, c.executionCtx),
  ]);
  const newer =
    signal.config && signal.config.version >= snapshot.version
      ? signal.config.storefronts[resolution.storefrontId]
      : undefined;
  const hot = newer ?? {
    flags: snapshot.flags,
    killswitches: snapshot.killswitches,
    segments: snapshot.segments,
    apiKeys: snapshot.apiKeys,
  };
  const fresh = signal.fresh && !stale;
  const client = detectClient(req.headers, snapshot.storefront.channel);
  c.set('edge', { resolution, tenant, snapshot, hot, fresh, client });

  const blocked = blockingKillswitch(
    hot.killswitches,
    { storefrontId: resolution.storefrontId, channel: client.channel },
    fresh,
  );
  if (blocked) throw killswitchProblem(blocked);
  await next();
});

/** Refuses the request when a killswitch for `feature` (catalog, flags, checkout…) is on. */
export function featureGuard(feature: string) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const edge = c.get('edge');
    const blocked = blockingKillswitch(
      edge.hot.killswitches.filter((k) => k.scope === 'feature'),
      { storefrontId: edge.resolution.storefrontId, channel: edge.client.channel, feature },
      edge.fresh,
    );
    if (blocked) throw killswitchProblem(blocked);
    await next();
  });
}
