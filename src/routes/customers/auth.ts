import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv, CustomerPrincipal } from '../../env';
import { ApiError } from '../../errors';
import {
  appendRateLimitHeaders,
  customerLimits,
  enforceRateLimits,
  type RateLimitCheck,
} from '../../middleware/rate-limit';
import { type TokenFailure, verifyCustomerToken } from '../../security/customer-tokens';
import { customerTokenIssuer } from '../../services/customers/issuer';

const REALM = 'azotte-customer';

/** Clock skew allowed between the issuing and the verifying location. */
const CLOCK_TOLERANCE_SECONDS = 30;

/** What a client is told for each failure: enough to fix its own mistake, nothing about keys. */
const DESCRIPTIONS: Record<TokenFailure, string> = {
  malformed: 'The access token is malformed.',
  alg_not_allowed: 'The access token uses an algorithm that is not accepted.',
  unknown_kid: 'The access token was signed with a key this storefront does not know.',
  bad_signature: 'The access token signature is invalid.',
  expired: 'The access token has expired.',
  not_yet_valid: 'The access token is not valid yet.',
  wrong_audience: 'The access token was issued for another storefront.',
  wrong_issuer: 'The access token was issued by another tenant.',
  missing_claim: 'The access token lacks a required claim.',
};

/** RFC 6750 §3: the challenge, with `error` only when a token was presented. */
function challenge(description?: string): string {
  if (!description) return `Bearer realm="${REALM}"`;
  return `Bearer realm="${REALM}", error="invalid_token", error_description="${description}"`;
}

function invalidToken(description: string): ApiError {
  return new ApiError('unauthenticated', description, {
    headers: { 'www-authenticate': challenge(description) },
  });
}

export interface CustomerAuthOptions {
  /**
   * The limits a request is counted against once its token is verified. Default: the
   * customer's (300/min) and the client address's ({@link customerLimits}). This is the hook
   * for metering routes (usage reports), which are bounded by the customer's quota instead:
   * they pass the limits they still want (e.g. only the address's) and check the quota in the
   * route.
   */
  limits?: (c: Context<AppEnv>, customer: CustomerPrincipal) => readonly RateLimitCheck[];
}

/**
 * Customer authentication at the edge: `Authorization: Bearer <customer token>`, verified
 * against the tenant's JWKS in the published snapshot (no Postgres). The algorithm is pinned to
 * the tenant's key types, `iss` must be the tenant's issuer, `aud` the resolved storefront, and
 * `exp`/`nbf`/`iat` must hold. Every failure is a 401 problem with a `WWW-Authenticate`
 * challenge; the token is never echoed or logged. Then the rate limits (see
 * {@link CustomerAuthOptions.limits}): a 429 with `Retry-After` when one refuses, else the
 * `RateLimit` headers on the response. Runs after `storefrontContext`.
 */
export function customerAuthWith(options: CustomerAuthOptions = {}) {
  const limitsOf = options.limits ?? ((c, customer) => customerLimits(c, customer.customerId));
  return createMiddleware<AppEnv>(async (c, next) => {
    const customer = await verifiedCustomer(c);
    c.set('customer', customer);
    // After verification: only a customer who may make this call counts against the limits.
    const checks = limitsOf(c, customer);
    const rateLimit = checks.length > 0 ? await enforceRateLimits(c, checks) : undefined;
    await next();
    if (rateLimit) appendRateLimitHeaders(c, rateLimit);
  });
}

/** {@link customerAuthWith} with the default limits: for every customer-token route. */
export const customerAuth = customerAuthWith();

/** The customer of the request's token; throws the 401. */
async function verifiedCustomer(c: Context<AppEnv>): Promise<CustomerPrincipal> {
  const auth = c.req.header('authorization');
  if (!auth) {
    throw new ApiError(
      'unauthenticated',
      'This endpoint needs a customer access token: `Authorization: Bearer <token>`.',
      { headers: { 'www-authenticate': challenge() } },
    );
  }
  if (!/^Bearer /i.test(auth)) {
    throw invalidToken('Use `Authorization: Bearer <customer access token>`.');
  }
  const edge = c.get('edge');
  const storefrontId = edge.resolution.storefrontId;
  const verified = await verifyCustomerToken(auth.slice(7).trim(), {
    jwks: { keys: edge.snapshot.jwks },
    issuer: customerTokenIssuer(edge.snapshot.tenant.slug),
    audience: storefrontId,
    now: Date.now(),
    clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
  });
  if (!verified.ok) throw invalidToken(DESCRIPTIONS[verified.reason]);
  const { claims } = verified;
  // The issuer already names the tenant; the tenant claim must agree with it.
  if (claims.tid !== edge.snapshot.tenant.id) throw invalidToken(DESCRIPTIONS.wrong_issuer);
  return {
    customerId: claims.sub,
    storefrontId,
    tenantId: claims.tid,
    expiresAt: new Date(claims.exp * 1000).toISOString(),
  };
}
