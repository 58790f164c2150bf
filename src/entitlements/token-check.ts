/**
 * The token path of an entitlement check (`GET /v1/entitlements/check?key=…` with an
 * entitlements token): decided from the token's own claims, at the edge, with no lookup. Pure.
 */
import type { EntitlementsTokenClaims, TokenEntitlement } from '../security/entitlement-tokens';

/** An entitlement as the token path shows it (times as ISO strings). */
export interface TokenEntitlementView {
  key: string;
  type: TokenEntitlement['type'];
  billingIssue: boolean;
  validUntil: string | null;
  quota?: { limit: number; resetsAt: string };
  slots?: { count: number };
  tier?: { level: string; detail: string | null };
  enabled?: boolean;
}

export interface TokenCheck {
  allowed: boolean;
  /** active, active_billing_issue, not_granted, expired, disabled, none. */
  reason: string;
  customerId: string;
  /** The mode of the key that issued it: a test-mode token grants test-mode access only. */
  mode: 'test' | 'live';
  entitlement: TokenEntitlementView | null;
  source: 'token';
  tokenVersion: number;
  tokenExpiresAt: string;
}

const iso = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString();

export function tokenEntitlementView(e: TokenEntitlement): TokenEntitlementView {
  const v: TokenEntitlementView = {
    key: e.key,
    type: e.type,
    billingIssue: e.billingIssue,
    validUntil: e.validUntil === null ? null : iso(e.validUntil),
  };
  if (e.quota) v.quota = { limit: e.quota.limit, resetsAt: iso(e.quota.resetsAt) };
  if (e.slots) v.slots = e.slots;
  if (e.tier) v.tier = e.tier;
  if (e.enabled !== undefined) v.enabled = e.enabled;
  return v;
}

/**
 * Whether the token lets its customer use `key` at `nowSeconds`. The token lists only what was
 * active when it was signed: a key it does not list is `not_granted`; one whose `validUntil`
 * has passed is `expired`. For a quota it says the quota is granted — how much is left only a
 * consume (or the server check) knows.
 */
export function checkToken(
  claims: EntitlementsTokenClaims,
  key: string,
  nowSeconds: number,
): TokenCheck {
  const e = claims.entitlements.find((x) => x.key === key);
  const base = {
    customerId: claims.sub,
    mode: claims.mode === 'test' ? ('test' as const) : ('live' as const),
    source: 'token' as const,
    tokenVersion: claims.ver,
    tokenExpiresAt: iso(claims.exp),
  };
  if (!e) return { ...base, allowed: false, reason: 'not_granted', entitlement: null };
  const entitlement = tokenEntitlementView(e);
  let reason = e.billingIssue ? 'active_billing_issue' : 'active';
  if (e.validUntil !== null && nowSeconds >= e.validUntil) reason = 'expired';
  else if (e.type === 'feature' && e.enabled !== true) reason = 'disabled';
  else if (e.type === 'slots' && (e.slots?.count ?? 0) === 0) reason = 'none';
  const allowed = reason === 'active' || reason === 'active_billing_issue';
  return { ...base, allowed, reason, entitlement };
}
