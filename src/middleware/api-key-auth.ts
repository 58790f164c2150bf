import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { sha256Hex } from '../lib/crypto';
import { parseApiKey } from '../security/api-keys';
import { apiKeyLimits, appendRateLimitHeaders, enforceRateLimits } from './rate-limit';

const unauthenticated = (detail: string) =>
  new ApiError('unauthenticated', detail, {
    headers: { 'www-authenticate': 'Bearer realm="azotte-storefront"' },
  });

/** The key from `Authorization: Bearer <key>` or `X-Api-Key`. */
function presentedKey(headers: Headers): string | undefined {
  const auth = headers.get('authorization');
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  return headers.get('x-api-key')?.trim() ?? undefined;
}

/**
 * Storefront API key check, in Unkey's order: well-formed → exists (among this storefront's
 * active keys, so another storefront's or tenant's key simply does not exist here) → not
 * expired → allowed kind → allowed channel → rate limit (per key and per client IP, see
 * ./rate-limit.ts). Runs after `storefrontContext`; no Postgres.
 */
export function apiKeyAuth(allowed: 'publishable' | 'secret') {
  return createMiddleware<AppEnv>(async (c, next) => {
    const raw = presentedKey(c.req.raw.headers);
    if (!raw) {
      throw unauthenticated(
        'This endpoint needs the storefront’s API key: `Authorization: Bearer pk_live_…` (or `X-Api-Key`).',
      );
    }
    const parsed = parseApiKey(raw);
    if (!parsed.ok)
      throw unauthenticated(`The API key is malformed (${parsed.reason.replace('_', ' ')}).`);
    const edge = c.get('edge');
    const hash = await sha256Hex(parsed.key);
    const key = edge.hot.apiKeys.find((k) => k.hash === hash);
    if (!key)
      throw unauthenticated(
        'The API key is not valid for this storefront (unknown, revoked or another storefront’s).',
      );
    if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now()) {
      throw unauthenticated('The API key has expired. Rotate it in the console.');
    }
    if (allowed === 'secret' && key.kind !== 'secret') {
      throw new ApiError(
        'forbidden',
        'This endpoint needs a secret key (sk_live_…); publishable keys cannot call it.',
      );
    }
    if (key.channels.length > 0 && !key.channels.includes(edge.client.channel)) {
      throw new ApiError(
        'forbidden',
        `This API key is not allowed on the ${edge.client.channel} channel.`,
      );
    }
    c.set('apiKey', key);
    // Last: only a key that may make this call counts against its limits (and its IP's).
    const rateLimit = await enforceRateLimits(c, apiKeyLimits(c, key));
    await next();
    appendRateLimitHeaders(c, rateLimit);
  });
}
