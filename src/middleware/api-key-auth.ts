import { createMiddleware } from 'hono/factory';
import { authenticateKey } from '../edge/pipeline';
import type { AppEnv } from '../env';
import { apiKeyLimits, appendRateLimitHeaders, enforceRateLimits } from './rate-limit';

/**
 * Storefront API key check (see `authenticateKey`: well-formed → exists in this storefront →
 * not expired → kind → channel), then the rate limits per key and, for a publishable key, per
 * client IP (see
 * ./rate-limit.ts). Runs after `storefrontContext`; no Postgres.
 */
export function apiKeyAuth(allowed: 'publishable' | 'secret') {
  return createMiddleware<AppEnv>(async (c, next) => {
    const key = await authenticateKey(c.get('edge'), c.req.raw.headers, allowed);
    c.set('apiKey', key);
    // Last: only a key that may make this call counts against its limits (and its IP's).
    const rateLimit = await enforceRateLimits(c, apiKeyLimits(c, key));
    await next();
    appendRateLimitHeaders(c, rateLimit);
  });
}
