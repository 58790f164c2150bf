import type { CustomerPrincipal, EdgeContext } from '../env';
import { ApiError } from '../errors';
import { type TokenFailure, verifyCustomerToken } from '../security/customer-tokens';
import { customerTokenIssuer } from '../services/customers/issuer';

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

/**
 * The pipeline's authentication step for customer tokens (src/edge/pipeline.ts):
 * `Authorization: Bearer <customer token>`, verified against the tenant's JWKS in the published
 * snapshot (no Postgres). The algorithm is pinned to the tenant's key types, `iss` must be the
 * tenant's issuer, `aud` the resolved storefront, and `exp`/`nbf`/`iat` must hold. Every failure
 * is a 401 problem with a `WWW-Authenticate` challenge; the token is never echoed or logged.
 */
export async function authenticateCustomer(
  edge: EdgeContext,
  headers: Headers,
): Promise<CustomerPrincipal> {
  const auth = headers.get('authorization');
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
    mode: claims.mode ?? 'live',
    expiresAt: new Date(claims.exp * 1000).toISOString(),
  };
}
