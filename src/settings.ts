import type { Env } from './env';

export interface Settings {
  environment: 'development' | 'test' | 'production';
  devGeoHeaders: boolean;
  /** Default limits of the storefront API per minute (see src/middleware/rate-limit.ts). */
  rateLimits: RateLimitDefaults;
}

export interface RateLimitDefaults {
  /** Per publishable API key that has no `rateLimit` of its own. */
  keyPerMinute: number;
  /**
   * Per secret API key that has no `rateLimit` of its own: a tenant's backend, which is not
   * also held to the per-address limit (100 requests per second, as Stripe allows).
   */
  secretKeyPerMinute: number;
  /** Per client IP and storefront. */
  ipPerMinute: number;
  /** Per signed-in customer and storefront. */
  customerPerMinute: number;
}

/** A positive integer from a var, else the default. */
function perMinute(value: string | undefined, fallback: number): number {
  const n = value === undefined ? Number.NaN : Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

const cache = new WeakMap<object, Settings>();

/** Parsed once per isolate (per env object), not per request. */
export function settings(env: Env): Settings {
  let s = cache.get(env);
  if (!s) {
    const environment =
      env.ENVIRONMENT === 'production' || env.ENVIRONMENT === 'test'
        ? env.ENVIRONMENT
        : 'development';
    s = {
      environment,
      // Never honoured in production, whatever the var says.
      devGeoHeaders: environment !== 'production' && env.DEV_GEO_HEADERS === 'true',
      rateLimits: {
        keyPerMinute: perMinute(env.RATE_LIMIT_KEY_PER_MINUTE, 600),
        secretKeyPerMinute: perMinute(env.RATE_LIMIT_SECRET_KEY_PER_MINUTE, 6000),
        ipPerMinute: perMinute(env.RATE_LIMIT_IP_PER_MINUTE, 1200),
        customerPerMinute: perMinute(env.RATE_LIMIT_CUSTOMER_PER_MINUTE, 300),
      },
    };
    cache.set(env, s);
  }
  return s;
}
