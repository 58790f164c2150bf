import { createMiddleware } from 'hono/factory';
import { edgeConfig } from '../edge/config-store';
import { requestGeo } from '../edge/geo';
import { resolveStorefront } from '../edge/resolve';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { settings } from '../settings';

const MAX_HOST = 253;
const MAX_STOREFRONT_HEADER = 64;
const STOREFRONT_REF_RE = /^(?:[a-z0-9][a-z0-9-]{0,62}|sf_[0-9A-Z]{26})$/;

/**
 * Resolves the storefront of a storefront-API request and loads its published snapshot from
 * the in-isolate cache (KV on a cold isolate). Never touches Postgres.
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
  const host = new URL(req.url).hostname.replace(/\.$/, '');

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
  const geo = requestGeo(req, settings(c.env).devGeoHeaders);

  const table = await edgeConfig.routingTable(c.env.CONFIG_KV, c.executionCtx);
  const resolution = resolveStorefront(table, {
    host,
    path: new URL(req.url).pathname,
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
  const { snapshot, stale } = await edgeConfig.snapshot(
    c.env.CONFIG_KV,
    resolution.storefrontId,
    tenant.version,
  );
  c.set('edge', { resolution, tenant, snapshot, stale });
  await next();
});
