/**
 * The RPC contract of the rate limiter object (durable-objects/rate-limiter.ts): one per limited
 * subject (`key:<apiKeyId>`, `ip:<storefrontId>:<ip>`, `cus:<storefrontId>:<customerId>`). Every
 * call carries the policy (`limit` units per `windowMs`), since the edge holds the config.
 */
import type { RateLimitDecision } from '../security/sliding-window';

/** Units of a lease handed back: `unused` of them were never spent. */
export interface LeaseReturn {
  leaseId: string;
  unused: number;
}

/** What {@link RateLimiterContract.lease} answers. */
export interface LeaseGrant {
  /** Units granted (0 when nothing remains). */
  granted: number;
  /** Pass back in a {@link LeaseReturn}; `null` when nothing was granted. */
  leaseId: string | null;
  /**
   * How long from the call the lease may be spent from. A duration, not a time, so the caller
   * measures it on its own clock from before it sent the call (which can only be earlier).
   */
  ttlMs: number;
  /** Units nobody holds after this grant. */
  remaining: number;
  /** Milliseconds until the oldest held unit frees up. */
  resetMs: number;
  /** When nothing was granted: whole seconds until a unit could be (at least 1); else 0. */
  retryAfterSeconds: number;
  /** Units freed by the returns that came with the call. */
  freed: number;
}

/** What {@link RateLimiterContract.check} answers. */
export type CheckResult = RateLimitDecision;

export interface RateLimiterContract extends Rpc.DurableObjectBranded {
  /** Takes one unit now if the window has room. */
  check(limit: number, windowMs: number): Promise<CheckResult>;
  /**
   * Grants up to `wanted` units to spend within the lease's `ttlMs`; `returns` closes earlier
   * leases of the caller in the same round trip.
   */
  lease(
    limit: number,
    windowMs: number,
    wanted: number,
    returns?: readonly LeaseReturn[],
  ): Promise<LeaseGrant>;
  /** Hands back leases: their unused units are free at once. */
  release(returns: readonly LeaseReturn[]): Promise<{ freed: number }>;
}
