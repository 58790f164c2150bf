/**
 * Exact sliding-window rate limiting, meant to live inside one Durable Object per limited key.
 *
 * The log keeps one entry per distinct moment units were taken, with a count, so it never holds
 * more than `limit` entries however many requests arrive: only units still inside the window are
 * kept, and there are at most `limit` of those. A request is allowed iff fewer than `limit` units
 * were taken in the last `windowMs` — no fixed-window boundary burst and no approximation.
 *
 * Leases let a worker take several units in one round trip and spend them locally. A leased unit
 * may be spent at any moment until it is released or the lease expires, so the log has to treat
 * it as taken at the latest such moment: a lease is recorded at its expiry time, and a release
 * re-records the units that were used at the release time. Each unit is therefore held from the
 * grant until `windowMs` after the last moment it could have been spent, which is what keeps
 * every window of the *actual* spending at or under `limit` (see the property test).
 */
import { randomBytes, toBase64Url } from './encoding';

export interface SlidingWindowOptions {
  /** Units allowed in any window of `windowMs`. */
  limit: number;
  windowMs: number;
  /**
   * How long a lease may be spent from before it must be released (default 5 s, at most
   * `windowMs`). Units of an unreleased lease count as spent at its expiry.
   */
  leaseTtlMs?: number;
  /**
   * A lease gets at most `max(1, floor(remaining / leaseShareDivisor))` units (default 4), so
   * concurrent leasers share what is left and the last units go out one at a time.
   */
  leaseShareDivisor?: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Units still available now, after this decision. */
  remaining: number;
  /** Milliseconds until the oldest held unit frees up (0 when nothing is held). */
  resetMs: number;
  /** When refused: whole seconds until the request could succeed (at least 1). Otherwise 0. */
  retryAfterSeconds: number;
}

export interface LeaseDecision extends RateLimitDecision {
  /** Units granted (0 when refused). */
  granted: number;
  /** Pass to {@link SlidingWindowLog.release}; `null` when nothing was granted. */
  leaseId: string | null;
  /** Epoch ms after which the lease must not be spent from and cannot be released. */
  expiresAt: number;
}

interface Entry {
  /** Units are held while `now < at + windowMs`. For an open lease, `at` is its expiry. */
  at: number;
  count: number;
  lease?: string;
}

/** What {@link SlidingWindowLog.toJSON} returns, for Durable Object storage. */
export interface SlidingWindowState {
  entries: Entry[];
  lastNow: number;
}

const DEFAULT_LEASE_TTL_MS = 5_000;
const DEFAULT_SHARE_DIVISOR = 4;

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer`);
  }
  return value;
}

/** An exact sliding-window log with leases. Not thread-safe: one instance per Durable Object. */
export class SlidingWindowLog {
  readonly limit: number;
  readonly windowMs: number;
  readonly leaseTtlMs: number;
  readonly leaseShareDivisor: number;
  private entries: Entry[] = [];
  private held = 0;
  private lastNow = Number.NEGATIVE_INFINITY;

  constructor(options: SlidingWindowOptions, state?: SlidingWindowState) {
    this.limit = positiveInteger('limit', options.limit);
    this.windowMs = positiveInteger('windowMs', options.windowMs);
    this.leaseTtlMs = Math.min(
      positiveInteger('leaseTtlMs', options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS),
      this.windowMs,
    );
    this.leaseShareDivisor = positiveInteger(
      'leaseShareDivisor',
      options.leaseShareDivisor ?? DEFAULT_SHARE_DIVISOR,
    );
    if (state) {
      this.entries = state.entries
        .filter((e) => Number.isFinite(e.at) && Number.isSafeInteger(e.count) && e.count > 0)
        .map((e) => ({ ...e }))
        .sort((a, b) => a.at - b.at);
      this.held = this.entries.reduce((sum, e) => sum + e.count, 0);
      // A log that never saw a request serializes -Infinity as null.
      this.lastNow = Number.isFinite(state.lastNow) ? state.lastNow : Number.NEGATIVE_INFINITY;
    }
  }

  /** Takes `cost` units if all of them are available; otherwise takes none. */
  consume(now: number, cost = 1): RateLimitDecision {
    positiveInteger('cost', cost);
    if (cost > this.limit)
      throw new RangeError('cost exceeds the limit and could never be allowed');
    const t = this.advance(now);
    if (this.held + cost > this.limit) return this.decision(t, false, cost);
    this.insert({ at: t, count: cost });
    return this.decision(t, true, cost);
  }

  /** The current state without taking anything. */
  peek(now: number): RateLimitDecision {
    const t = this.advance(now);
    return this.decision(t, this.held < this.limit, 1);
  }

  /**
   * Grants up to `wanted` units at once: `min(wanted, max(1, floor(remaining / divisor)))`, or
   * none when nothing remains. Spend them before `expiresAt`, then {@link release} what is left.
   */
  lease(now: number, wanted: number): LeaseDecision {
    positiveInteger('wanted', wanted);
    const t = this.advance(now);
    const remaining = this.limit - this.held;
    const granted =
      remaining > 0
        ? Math.min(wanted, Math.max(1, Math.floor(remaining / this.leaseShareDivisor)))
        : 0;
    const expiresAt = t + this.leaseTtlMs;
    if (granted === 0) return { ...this.decision(t, false, 1), granted, leaseId: null, expiresAt };
    const leaseId = toBase64Url(randomBytes(12));
    this.insert({ at: expiresAt, count: granted, lease: leaseId });
    return { ...this.decision(t, true, 1), granted, leaseId, expiresAt };
  }

  /**
   * Returns `unused` units of an open lease and closes it. The units that were used stay held
   * for a full window from now, since they may have been spent just before this call. Unknown,
   * already released or expired leases return nothing. Returns the number of units freed.
   */
  release(now: number, leaseId: string, unused: number): number {
    if (!Number.isSafeInteger(unused) || unused < 0) {
      throw new RangeError('unused must be a non-negative integer');
    }
    const t = this.advance(now);
    const index = this.entries.findIndex((e) => e.lease === leaseId);
    const entry = this.entries[index];
    if (!entry) return 0;
    const freed = Math.min(unused, entry.count);
    const used = entry.count - freed;
    this.entries.splice(index, 1);
    this.held -= entry.count;
    if (used > 0) this.insert({ at: t, count: used });
    return freed;
  }

  /** Plain data for storage; restore with `new SlidingWindowLog(options, state)`. */
  toJSON(): SlidingWindowState {
    return { entries: this.entries.map((e) => ({ ...e })), lastNow: this.lastNow };
  }

  /**
   * Drops what has left the window and closes expired leases. Time never runs backwards here:
   * an earlier `now` (clock step) is treated as the latest seen, which can only be stricter.
   */
  private advance(now: number): number {
    if (!Number.isFinite(now)) throw new RangeError('now must be epoch milliseconds');
    const t = Math.max(now, this.lastNow);
    this.lastNow = t;
    let drop = 0;
    while (drop < this.entries.length && (this.entries[drop] as Entry).at + this.windowMs <= t) {
      this.held -= (this.entries[drop] as Entry).count;
      drop++;
    }
    if (drop > 0) this.entries.splice(0, drop);
    for (const entry of this.entries) {
      if (entry.at > t) break;
      // Past its expiry a lease is just spent units; forget its id so it cannot be released.
      if (entry.lease !== undefined) delete entry.lease;
    }
    return t;
  }

  /** Inserts in `at` order, merging with an equal-time plain entry to keep the log short. */
  private insert(entry: Entry): void {
    this.held += entry.count;
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid] as Entry).at <= entry.at) lo = mid + 1;
      else hi = mid;
    }
    const before = this.entries[lo - 1];
    if (
      entry.lease === undefined &&
      before &&
      before.at === entry.at &&
      before.lease === undefined
    ) {
      before.count += entry.count;
      return;
    }
    this.entries.splice(lo, 0, entry);
  }

  private decision(t: number, allowed: boolean, cost: number): RateLimitDecision {
    const first = this.entries[0];
    const resetMs = first ? Math.max(0, first.at + this.windowMs - t) : 0;
    return {
      allowed,
      remaining: this.limit - this.held,
      resetMs,
      retryAfterSeconds: allowed
        ? 0
        : Math.max(1, Math.ceil(this.msUntilAvailable(t, cost) / 1000)),
    };
  }

  /** How long until `cost` more units fit, assuming nothing is released meanwhile. */
  private msUntilAvailable(t: number, cost: number): number {
    let held = this.held;
    for (const entry of this.entries) {
      if (held + cost <= this.limit) break;
      held -= entry.count;
      if (held + cost <= this.limit) return Math.max(0, entry.at + this.windowMs - t);
    }
    return 0;
  }
}

export interface RateLimitHeaderInput {
  /** Quota units per window. */
  limit: number;
  remaining: number;
  /** Seconds until quota frees up. */
  resetSeconds: number;
  windowSeconds: number;
  /** Policy name, printable ASCII (default `default`). */
  policyName?: string;
  /** Set on 429 responses to add `Retry-After`. */
  retryAfterSeconds?: number;
}

/** A structured-field string (`"name"`); the name must be printable ASCII. */
export function sfString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new TypeError('policyName must be printable ASCII');
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function sfInteger(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.min(999_999_999_999_999, Math.max(0, Math.ceil(value)));
}

/**
 * One `RateLimit` list member, `<name>;r=<remaining>;t=<reset>`, for a name already written
 * as a structured-field string (see {@link sfString}).
 */
export function rateLimitMember(name: string, remaining: number, resetSeconds: number): string {
  return `${name};r=${sfInteger(remaining)};t=${sfInteger(resetSeconds)}`;
}

/**
 * `RateLimit` and `RateLimit-Policy` headers as in draft-ietf-httpapi-ratelimit-headers
 * (`RateLimit: "default";r=<remaining>;t=<reset>`, `RateLimit-Policy: "default";q=<limit>;w=<window>`)
 * plus `Retry-After` when `retryAfterSeconds` is given. Values are rounded up to whole,
 * non-negative seconds so a client waiting `t` seconds never comes back early.
 */
export function rateLimitHeaders(input: RateLimitHeaderInput): Record<string, string> {
  const name = sfString(input.policyName ?? 'default');
  const headers: Record<string, string> = {
    RateLimit: rateLimitMember(name, input.remaining, input.resetSeconds),
    'RateLimit-Policy': `${name};q=${sfInteger(input.limit)};w=${sfInteger(input.windowSeconds)}`,
  };
  if (input.retryAfterSeconds !== undefined && input.retryAfterSeconds > 0) {
    headers['Retry-After'] = String(sfInteger(input.retryAfterSeconds));
  }
  return headers;
}
