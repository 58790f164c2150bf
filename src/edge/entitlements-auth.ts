/**
 * The pipeline's authentication step for entitlement tokens (`Authorization: Bearer
 * <entitlements+jwt>`, src/security/entitlement-tokens.ts): verified against the tenant's JWKS
 * in the published snapshot like a customer token, then checked against the edge's revocation
 * list (src/edge/revocations.ts). No Postgres, no object call once the isolate has the tenant's
 * revocations.
 *
 * A token verified here is kept (by its text, until it expires; at most 4,096 per isolate in the
 * two-generation LRU), so a client that checks often with the same token pays the signature
 * check once; what may change under it — the revocations and the time — is checked on every
 * request.
 */
import type { EdgeContext, Env } from '../env';
import { ApiError } from '../errors';
import {
  type EntitlementsTokenClaims,
  verifyEntitlementsToken,
} from '../security/entitlement-tokens';
import type { TokenFailure } from '../security/jwt-common';
import { customerTokenIssuer } from '../services/customers/issuer';
import { Lru } from './lru';
import { isRevoked, revocations } from './revocations';

const REALM = 'azotte-entitlements';
const CLOCK_TOLERANCE_SECONDS = 30;

const DESCRIPTIONS: Record<TokenFailure, string> = {
  malformed: 'The entitlements token is malformed.',
  alg_not_allowed: 'The entitlements token uses an algorithm that is not accepted.',
  unknown_kid: 'The entitlements token was signed with a key this storefront does not know.',
  bad_signature: 'The entitlements token signature is invalid.',
  expired: 'The entitlements token has expired: get a new one (GET /v1/entitlements).',
  not_yet_valid: 'The entitlements token is not valid yet.',
  wrong_audience: 'The entitlements token was issued for another storefront.',
  wrong_issuer: 'The entitlements token was issued by another tenant.',
  missing_claim: 'The entitlements token lacks a required claim (or is another kind of token).',
};

function invalid(
  description: string,
  type: 'unauthenticated' | 'token_revoked' = 'unauthenticated',
) {
  return new ApiError(type, description, {
    headers: {
      'www-authenticate': `Bearer realm="${REALM}", error="invalid_token", error_description="${description}"`,
    },
  });
}

/** What a verified token establishes for the request. */
export interface EntitlementsPrincipal {
  claims: EntitlementsTokenClaims;
  customerId: string;
  mode: 'test' | 'live';
  /** The token path's answers for this token, by entitlement key (src/edge/fast-path.ts). */
  answers?: Map<string, { body: string; until: number }>;
}

const verified = new Lru<string, { principal: EntitlementsPrincipal; kids: unknown }>(4_096);

function bearer(headers: Headers): string {
  const auth = headers.get('authorization');
  if (!auth) {
    throw new ApiError(
      'unauthenticated',
      'This endpoint needs an entitlements token: `Authorization: Bearer <token>` (the `token` of GET /v1/entitlements).',
      { headers: { 'www-authenticate': `Bearer realm="${REALM}"` } },
    );
  }
  if (auth.length < 8 || !/^Bearer /i.test(auth)) {
    throw invalid('Use `Authorization: Bearer <entitlements token>`.');
  }
  return auth.slice(7).trim();
}

function admit(
  edge: EdgeContext,
  env: Env,
  ctx: ExecutionContext,
  p: EntitlementsPrincipal,
): EntitlementsPrincipal | Promise<EntitlementsPrincipal> {
  const nowS = Math.floor(Date.now() / 1000);
  if (p.claims.exp + CLOCK_TOLERANCE_SECONDS <= nowS) throw invalid(DESCRIPTIONS.expired);
  const check = (list: Parameters<typeof isRevoked>[0]) => {
    const who = {
      storefrontId: edge.resolution.storefrontId,
      mode: p.mode,
      customerId: p.customerId,
    };
    if (isRevoked(list, who, p.claims)) {
      throw invalid(
        'The entitlements token was revoked (the entitlements of its customer changed): get a new one (GET /v1/entitlements).',
        'token_revoked',
      );
    }
    return p;
  };
  const list = revocations.get(env.TENANT_CONFIG, edge.resolution.tenantId, ctx);
  return list instanceof Promise ? list.then(check) : check(list);
}

/**
 * The principal of the request's entitlements token: verified (or found verified in this
 * isolate with the same JWKS), for this storefront and tenant, not expired, not revoked. Every
 * failure is a 401 problem with a `WWW-Authenticate` challenge (`token_revoked` for a revoked
 * one); the token is never echoed.
 */
export function authenticateEntitlementsToken(
  edge: EdgeContext,
  headers: Headers,
  env: Env,
  ctx: ExecutionContext,
): EntitlementsPrincipal | Promise<EntitlementsPrincipal> {
  const token = bearer(headers);
  const storefrontId = edge.resolution.storefrontId;
  const jwks = edge.snapshot.jwks;
  const hit = verified.get(token);
  // The same token checked here before, against the same published keys and storefront.
  if (hit && hit.kids === jwks && hit.principal.claims.aud === storefrontId) {
    return admit(edge, env, ctx, hit.principal);
  }
  return verifyEntitlementsToken(token, {
    jwks: { keys: jwks },
    issuer: customerTokenIssuer(edge.snapshot.tenant.slug),
    audience: storefrontId,
    now: Date.now(),
    clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
  }).then((v) => {
    if (!v.ok) throw invalid(DESCRIPTIONS[v.reason]);
    if (v.claims.tid !== edge.snapshot.tenant.id) throw invalid(DESCRIPTIONS.wrong_issuer);
    const principal: EntitlementsPrincipal = {
      claims: { ...v.claims, aud: storefrontId },
      customerId: v.claims.sub,
      mode: v.claims.mode ?? 'live',
    };
    verified.set(token, { principal, kids: jwks });
    return admit(edge, env, ctx, principal);
  });
}
