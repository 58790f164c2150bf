/**
 * Signed entitlement tokens: a short-lived JWT (`typ: entitlements+jwt`) listing a customer's
 * active entitlements in one storefront, signed with the tenant's customer-token key (the same
 * JWKS), so edge routes, the embedded widget and TV apps can decide access without a lookup.
 *
 * The `typ` differs from a customer token's (`customer+jwt`): jose checks it on verification,
 * so neither kind is ever accepted as the other. Claims: the registered ones of a customer token
 * (`iss`, `aud` = storefront id, `sub` = customer id, `tid`, `iat`, `exp`, `jti`, `mode` when
 * issued in test mode), `ver` (the customer's entitlements version: it grows with every change,
 * and a revocation names the first version still good) and `entitlements` (the active ones).
 */
import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import type { EntitlementType } from '../domain/entitlements';
import {
  type CustomerTokenClaims,
  type SigningKey,
  signTenantJwt,
  type TokenFailure,
  verifyTenantJwt,
} from './customer-tokens';

export const ENTITLEMENTS_TOKEN_TYPE = 'entitlements+jwt';

/**
 * How long an entitlements token lives. It is the bound on a stale token's life for a verifier
 * that never looks anything up (a TV app offline); the edge refuses a revoked one within about
 * a second (src/edge/revocations.ts).
 */
export const ENTITLEMENTS_TOKEN_TTL_SECONDS = 300;

/** One active entitlement as the token carries it (times are unix seconds). */
export interface TokenEntitlement {
  key: string;
  type: EntitlementType;
  billingIssue: boolean;
  /** When access ends unless something renews it (cancel at period end, the dunning grace
   * period, a complimentary grant's expiry); null while it renews on its own. */
  validUntil: number | null;
  quota?: { limit: number; resetsAt: number };
  slots?: { count: number };
  tier?: { level: string; detail: string | null };
  enabled?: boolean;
}

const TokenEntitlementSchema = z.object({
  key: z.string().min(1).max(64),
  type: z.enum(['quota', 'feature', 'slots', 'tier']),
  billingIssue: z.boolean(),
  validUntil: z.number().int().nullable(),
  quota: z.object({ limit: z.number().int(), resetsAt: z.number().int() }).optional(),
  slots: z.object({ count: z.number().int() }).optional(),
  tier: z.object({ level: z.string().max(64), detail: z.string().max(200).nullable() }).optional(),
  enabled: z.boolean().optional(),
});

const PayloadSchema = z.object({
  ver: z.number().int().nonnegative(),
  entitlements: z.array(TokenEntitlementSchema).max(256),
});

export interface EntitlementsTokenInput {
  issuer: string;
  storefrontId: string;
  customerId: string;
  tenantId: string;
  mode: 'test' | 'live';
  version: number;
  entitlements: readonly TokenEntitlement[];
  /** Epoch milliseconds. */
  now: number;
  ttlSeconds?: number;
}

export function signEntitlementsToken(
  key: Pick<SigningKey, 'privateJwk' | 'kid' | 'alg'>,
  input: EntitlementsTokenInput,
): Promise<string> {
  return signTenantJwt(
    key,
    {
      issuer: input.issuer,
      audience: input.storefrontId,
      subject: input.customerId,
      tenantId: input.tenantId,
      ttlSeconds: input.ttlSeconds ?? ENTITLEMENTS_TOKEN_TTL_SECONDS,
      now: input.now,
      mode: input.mode,
    },
    ENTITLEMENTS_TOKEN_TYPE,
    { ver: input.version, entitlements: input.entitlements },
  );
}

export interface EntitlementsTokenClaims extends CustomerTokenClaims {
  ver: number;
  entitlements: TokenEntitlement[];
}

/**
 * Verifies an entitlements token like a customer token (pinned algorithms, `kid` only from
 * `jwks`, `iss`, `aud`, times), with its own `typ`, and checks the shape of its own claims.
 * Never throws.
 */
export async function verifyEntitlementsToken(
  token: unknown,
  options: {
    jwks: JSONWebKeySet;
    issuer: string;
    audience: string;
    now: number;
    clockToleranceSeconds?: number;
  },
): Promise<{ ok: true; claims: EntitlementsTokenClaims } | { ok: false; reason: TokenFailure }> {
  const verified = await verifyTenantJwt(token, options, ENTITLEMENTS_TOKEN_TYPE);
  if (!verified.ok) return verified;
  const own = PayloadSchema.safeParse(verified.payload);
  if (!own.success) return { ok: false, reason: 'malformed' };
  return { ok: true, claims: { ...verified.claims, ...own.data } };
}
