import { createMiddleware } from 'hono/factory';
import { assertFeature, resolveEdge } from '../edge/pipeline';
import type { AppEnv } from '../env';

/**
 * Resolves the storefront of a storefront-API request and loads its config (see
 * `resolveEdge`); refuses it when a tenant, storefront or channel killswitch is on.
 */
export const storefrontContext = createMiddleware<AppEnv>(async (c, next) => {
  c.set('edge', await resolveEdge(c.req.raw, c.env, c.executionCtx, c.req.param('sfPrefix')));
  await next();
});

/** Refuses the request when a killswitch for `feature` (catalog, flags, checkout…) is on. */
export function featureGuard(feature: string) {
  return createMiddleware<AppEnv>(async (c, next) => {
    assertFeature(c.get('edge'), feature);
    await next();
  });
}
