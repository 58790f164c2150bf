import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { forgetTenantViews } from '../edge/entitlement-views';
import { type RoutePolicy, runPipeline } from '../edge/pipeline';
import { requestTarget } from '../edge/resolve-edge';
import type { AppEnv } from '../env';

/**
 * A storefront route's middleware: runs the request pipeline (src/edge/pipeline.ts) with the
 * route's policy, the same steps the fast path runs, and hands the route what they established
 * (`edge`, and `apiKey` or `customer`). The `RateLimit` headers go on the route's response.
 */
export function storefront(policy: RoutePolicy) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const req = c.req.raw;
    const s = await runPipeline(
      req,
      c.env,
      c.executionCtx,
      requestTarget(req.url),
      c.req.param('sfPrefix'),
      policy,
    );
    c.set('edge', s.edge);
    if (s.apiKey) c.set('apiKey', s.apiKey);
    if (s.customer) c.set('customer', s.customer);
    await next();
    if (s.rateLimit) appendRateLimitHeaders(c, s.rateLimit);
    // A write may change what a customer of the tenant holds (a cancel, a refund, a consume, a
    // test clock's advance): the entitlement views this isolate holds for the tenant are not
    // answered from again (its own writes are seen at once; other isolates' within a revocation).
    if (req.method !== 'GET' && req.method !== 'HEAD')
      forgetTenantViews(s.edge.resolution.tenantId);
  });
}

/** Adds the pipeline's `RateLimit` headers to the response, after those already set. */
function appendRateLimitHeaders(c: Context<AppEnv>, headers: Record<string, string>) {
  for (const [name, value] of Object.entries(headers)) {
    if (name !== 'Retry-After') c.header(name, value, { append: true });
  }
}
