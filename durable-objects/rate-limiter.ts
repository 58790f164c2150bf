import type {
  CheckResult,
  LeaseGrant,
  LeaseReturn,
  RateLimiterContract,
} from '../src/contracts/rate-limiter';
import { SlidingWindowLog, type SlidingWindowState } from '../src/security/sliding-window';
import { StatefulDurableObject } from './base';

interface Saved {
  limit: number;
  windowMs: number;
  state: SlidingWindowState;
}

const STATE_KEY = 'window';
/** How long an isolate may spend a lease before it must hand the rest back. */
const LEASE_TTL_MS = 5_000;
const MAX_LIMIT = 1_000_000_000;
const MAX_WINDOW_MS = 86_400_000;

function policyInteger(name: string, value: number, max: number): number {
  if (!Number.isSafeInteger(value) || value <= 0 || value > max) {
    throw new RangeError(`${name} must be an integer in 1..${max}`);
  }
  return value;
}

/**
 * One object per limited subject (`key:<apiKeyId>`, `ip:<storefrontId>:<ip>`,
 * `cus:<storefrontId>:<customerId>`), so a hot key never queues behind a tenant's other
 * traffic. It holds an exact sliding-window log (src/security/sliding-window.ts) and hands
 * out units one at a time (`check`) or in leases that edge isolates spend locally
 * (src/edge/rate-limit.ts). The caller passes the policy with every call, since the edge
 * holds the config; a changed policy applies to the units already held.
 *
 * The log is written to SQLite after every change, so a restart (eviction, deploy) does not
 * reset a window, and deleted by an alarm once nothing is held, so one-off subjects (an IP
 * seen once) do not keep storage forever. The alarm follows the base's re-arm pattern: armed
 * for when the last held unit frees up, re-armed by the handler while units are still held.
 */
export class RateLimiterDurableObject extends StatefulDurableObject implements RateLimiterContract {
  // No migrations and nothing to load up front (the log is read from storage synchronously when
  // first needed), so its calls, on every request's path, skip `ready()`.
  private log: SlidingWindowLog | undefined;

  /** Takes one unit now if the window has room. */
  async check(limit: number, windowMs: number): Promise<CheckResult> {
    const log = this.window(limit, windowMs);
    const decision = log.consume(Date.now(), 1);
    if (decision.allowed) await this.save(log);
    return decision;
  }

  /**
   * Grants up to `wanted` units to spend within `ttlMs`: a share of what remains (a quarter),
   * down to a single unit near exhaustion, never more than remains. `returns` closes earlier
   * leases of the caller in the same round trip.
   */
  async lease(
    limit: number,
    windowMs: number,
    wanted: number,
    returns: readonly LeaseReturn[] = [],
  ): Promise<LeaseGrant> {
    const log = this.window(limit, windowMs);
    const now = Date.now();
    const freed = this.applyReturns(log, now, returns);
    const d = log.lease(now, Math.min(policyInteger('wanted', wanted, MAX_LIMIT), log.limit));
    if (d.granted > 0 || returns.length > 0) await this.save(log);
    return {
      granted: d.granted,
      leaseId: d.leaseId,
      ttlMs: log.leaseTtlMs,
      remaining: d.remaining,
      resetMs: d.resetMs,
      retryAfterSeconds: d.retryAfterSeconds,
      freed,
    };
  }

  /**
   * Hands back leases: the unused units are free at once, the used ones stay held for a
   * window from now. Unknown or expired leases free nothing (their units count as spent).
   */
  async release(returns: readonly LeaseReturn[]): Promise<{ freed: number }> {
    const log = this.log ?? this.restore();
    if (!log) return { freed: 0 };
    const freed = this.applyReturns(log, Date.now(), returns);
    if (returns.length > 0) await this.save(log);
    return { freed };
  }

  /** Once nothing is held any more, forgets the subject (storage and alarm). */
  protected override async onAlarm(): Promise<void> {
    const log = this.log ?? this.restore();
    if (!log) return;
    log.peek(Date.now());
    const end = heldUntil(log);
    if (end === null) {
      this.log = undefined;
      await this.forget();
      return;
    }
    await this.armAlarm(end);
  }

  private applyReturns(log: SlidingWindowLog, now: number, returns: readonly LeaseReturn[]) {
    let freed = 0;
    for (const r of returns.slice(0, 64)) {
      if (typeof r.leaseId !== 'string') continue;
      freed += log.release(now, r.leaseId, Math.max(0, Math.floor(r.unused)));
    }
    return freed;
  }

  /** The log for this policy: this instance's, else the stored one, else a fresh one. */
  private window(limit: number, windowMs: number): SlidingWindowLog {
    policyInteger('limit', limit, MAX_LIMIT);
    policyInteger('windowMs', windowMs, MAX_WINDOW_MS);
    const current = this.log ?? this.restore();
    if (current && current.limit === limit && current.windowMs === windowMs) return current;
    this.log = new SlidingWindowLog(
      { limit, windowMs, leaseTtlMs: Math.min(LEASE_TTL_MS, windowMs) },
      current?.toJSON(),
    );
    return this.log;
  }

  private restore(): SlidingWindowLog | undefined {
    const saved = this.ctx.storage.kv.get<Saved>(STATE_KEY);
    if (!saved) return undefined;
    this.log = new SlidingWindowLog(
      {
        limit: saved.limit,
        windowMs: saved.windowMs,
        leaseTtlMs: Math.min(LEASE_TTL_MS, saved.windowMs),
      },
      saved.state,
    );
    return this.log;
  }

  private async save(log: SlidingWindowLog): Promise<void> {
    const saved: Saved = { limit: log.limit, windowMs: log.windowMs, state: log.toJSON() };
    this.ctx.storage.kv.put(STATE_KEY, saved);
    // An alarm already set (for an earlier unit) stays: when it fires it re-arms for whatever
    // is still held.
    await this.armAlarm(heldUntil(log));
  }
}

/** When the last held unit frees up, or null when nothing is held. */
function heldUntil(log: SlidingWindowLog): number | null {
  const { entries } = log.toJSON();
  const last = entries[entries.length - 1];
  return last ? last.at + log.windowMs : null;
}
