import type {
  CheckResult,
  LeaseGrant,
  LeaseReturn,
  RateLimiterContract,
} from '../contracts/rate-limiter';

/** `limit` units in any window of `windowMs`. */
export interface RateLimitPolicy {
  limit: number;
  windowMs: number;
}

export interface RateLimitResult {
  allowed: boolean;
  limit: number;
  /**
   * Units the subject can still spend now, as this isolate knows it: the object's last answer
   * plus what this isolate holds. Other isolates' unspent leases are not in it.
   */
  remaining: number;
  /** Seconds until held units start to free up. */
  resetSeconds: number;
  /** When refused: whole seconds until a unit could be had (at least 1). Otherwise 0. */
  retryAfterSeconds: number;
}

export interface RateLimitTicket extends RateLimitResult {
  /**
   * Gives the unit back when the request does not go ahead after all (another limit refused
   * it). Only while its lease is still held here; otherwise the unit simply stays spent.
   */
  refund(): void;
}

/** The counter behind the client: the subject's Durable Object in production. */
export interface RateLimitBackend {
  check(subject: string, limit: number, windowMs: number): Promise<CheckResult>;
  lease(
    subject: string,
    limit: number,
    windowMs: number,
    wanted: number,
    returns: LeaseReturn[],
  ): Promise<LeaseGrant>;
  release(subject: string, returns: LeaseReturn[]): Promise<unknown>;
}

interface Waiter {
  waitUntil(p: Promise<unknown>): void;
}

export interface LeaseClientOptions {
  now: () => number;
  /**
   * Resolves after `ms`. Not cancellable on purpose: the wait belongs to the request that took
   * the lease (its `waitUntil`), and a promise of one request must not be settled by another.
   */
  sleep: (ms: number) => Promise<void>;
  /**
   * A lease is spent from until this long before its ttl runs out (measured from before the
   * lease was asked for), then handed back, so the return reaches the object while the lease
   * is still open there and clock drift cannot stretch a lease past the object's expiry.
   */
  marginMs: number;
  /** A lease nobody spends from for this long is handed back before its deadline. */
  idleReturnMs: number;
  /** How often the request that took a lease looks whether it has ended. */
  pollMs: number;
  /** The most units an isolate asks for at once (the object also caps it to a share). */
  maxBlock: number;
  /** Demand is counted over periods this long (about a lease's lifetime). */
  demandPeriodMs: number;
  /**
   * How long a request that found no units waits for a lease call of another request of this
   * isolate to come back before asking the object itself.
   */
  leaseWaitMs: number;
  /** A refusal is answered locally for at most this long (bounds the object's load in a flood). */
  denyCacheMs: number;
  /** After the object failed to answer, requests pass without it for this long (fail open). */
  failOpenMs: number;
  /** Idle subjects are forgotten above this many. */
  maxSubjects: number;
}

interface Lease {
  id: string;
  granted: number;
  left: number;
  /** Local time the lease stops being spendable. */
  deadline: number;
  lastSpentAt: number;
  open: boolean;
}

interface Subject {
  key: string;
  backend: RateLimitBackend;
  policy: RateLimitPolicy;
  leases: Lease[];
  /** Closed leases not yet reported to the object. */
  returns: LeaseReturn[];
  /**
   * A lease request of this isolate is under way. A flag, never a shared promise: a request
   * must not await I/O that another request started (Workers forbid it), so others poll.
   */
  leasing: boolean;
  lastGranted: number;
  /** Refusals are answered locally until then. */
  deniedUntil: number;
  /** When the object said a unit frees up. */
  retryAt: number;
  failOpenUntil: number;
  /** The object's last `remaining`, and when it said the oldest held unit frees up. */
  remainingAtObject: number;
  resetAt: number;
  periodStart: number;
  hits: number;
  lastHits: number;
}

/** A subject with units held by this isolate (see {@link LeaseClient.heldSubject}). */
export type HeldSubject = { readonly __held: unique symbol };

/** What {@link LeaseClient.spendHeld} reports. */
export interface HeldResult {
  remaining: number;
  resetSeconds: number;
}

/** A lease that can pay for a unit at `now`. */
function spendable(lease: Lease, now: number): boolean {
  return lease.left > 0 && now < lease.deadline;
}

/** Attempts to get a unit through leases before falling back to one exact `check`. */
const LEASE_ATTEMPTS = 4;

/**
 * The edge side of the exact rate limiter: per isolate, per subject, a small block of units
 * leased from the subject's Durable Object and spent locally.
 *
 * - The block asked for is the isolate's demand over a lease's lifetime (takes counted per
 *   `demandPeriodMs`), so an idle isolate does not sit on units; the object grants at most a
 *   quarter of what remains, down to one unit near exhaustion. An isolate seeing one request
 *   at a time takes exact single units (`check`) and holds nothing.
 * - When a lease runs low the next one is fetched in the background (with the spent lease's
 *   return in the same call), so a busy subject never waits for the object.
 * - Unused units go back when a lease ends: when it is exhausted, when nobody has spent from it
 *   for a second, or at its deadline (watched from the taking request's `waitUntil`).
 *
 * Nothing is over-granted: every unit spent was granted by the object and is spent before the
 * lease's deadline, which is earlier than the object's own expiry of it (see
 * src/security/sliding-window.ts for why the object's accounting is exact).
 */
export class LeaseClient {
  private readonly subjects = new Map<string, Subject>();

  constructor(private readonly o: LeaseClientOptions) {}

  /** Takes one unit for `key` under `policy`. */
  async take(
    backend: RateLimitBackend,
    key: string,
    policy: RateLimitPolicy,
    waiter: Waiter,
  ): Promise<RateLimitTicket> {
    const s = this.subject(backend, key, policy);
    let now = this.o.now();
    const waitUntil = now + this.o.leaseWaitMs;
    this.countHit(s, now);
    for (let attempt = 0; ; attempt++) {
      this.expire(s, now);
      const lease = this.spend(s, now);
      if (lease) {
        this.afterSpend(s, now, waiter);
        return this.allowed(s, now, lease);
      }
      if (now < s.deniedUntil || now < s.failOpenUntil) {
        this.flushReturns(s, waiter);
        return now < s.deniedUntil ? this.refused(s, now) : this.allowed(s, now);
      }
      if (s.leasing && attempt < LEASE_ATTEMPTS && now < waitUntil) {
        await this.waitForLease(s, waitUntil);
      } else {
        const wanted = this.wanted(s, now);
        // One request at a time, a lease call that does not come back, or other takes of
        // this isolate keep draining the leases: one exact unit of our own.
        if (wanted <= 1 || s.leasing || attempt >= LEASE_ATTEMPTS) {
          this.flushReturns(s, waiter);
          return this.checkOnce(s, now);
        }
        await this.renew(s, wanted, waiter);
      }
      now = this.o.now();
    }
  }

  /**
   * {@link take} when this isolate already holds units for `key`: synchronous, no promise and
   * no round trip. Undefined when the slow path is needed (then call `take`, which counts the
   * hit; this one has not).
   */
  takeLocal(key: string, policy: RateLimitPolicy, waiter: Waiter): RateLimitTicket | undefined {
    const s = this.known(key, policy);
    if (!s) return undefined;
    const now = this.o.now();
    this.expire(s, now);
    const lease = this.spend(s, now);
    if (!lease) return undefined;
    this.countHit(s, now);
    this.afterSpend(s, now, waiter);
    return this.allowed(s, now, lease);
  }

  /** This client's clock. */
  now(): number {
    return this.o.now();
  }

  /**
   * The subject of `key` when a lease this isolate holds can pay for one unit right now, else
   * undefined. Pair with {@link spendHeld} in the same synchronous turn: checking every limit
   * of a request first and then spending lets a request take all its units or none, without
   * refunds.
   */
  heldSubject(key: string, policy: RateLimitPolicy, now: number): HeldSubject | undefined {
    const s = this.known(key, policy);
    if (!s) return undefined;
    this.expire(s, now);
    for (const lease of s.leases) if (spendable(lease, now)) return s as unknown as HeldSubject;
    return undefined;
  }

  /** The subject of `key` if this isolate tracks it under the same policy. */
  private known(key: string, policy: RateLimitPolicy): Subject | undefined {
    const s = this.subjects.get(key);
    if (!s || s.policy.limit !== policy.limit || s.policy.windowMs !== policy.windowMs) {
      return undefined;
    }
    return s;
  }

  /**
   * Spends one unit of a subject {@link heldSubject} just returned, and returns what the
   * `RateLimit` header reports for it: the units remaining and the seconds until held ones
   * start to free up (written into `out`, so the hot path allocates nothing).
   */
  spendHeld(held: HeldSubject, now: number, waiter: Waiter, out: HeldResult): void {
    const s = held as unknown as Subject;
    if (!this.spend(s, now)) throw new Error('spendHeld without a held unit');
    this.countHit(s, now);
    this.afterSpend(s, now, waiter);
    out.remaining = Math.max(0, s.remainingAtObject) + this.localLeft(s);
    out.resetSeconds = Math.ceil(Math.max(0, s.resetAt - now) / 1000);
  }

  /** Forget everything (tests: a cold isolate). Open leases run out at the objects. */
  reset(): void {
    this.subjects.clear();
  }

  private subject(backend: RateLimitBackend, key: string, policy: RateLimitPolicy): Subject {
    let s = this.subjects.get(key);
    if (!s) {
      if (this.subjects.size >= this.o.maxSubjects) this.evictIdle();
      s = {
        key,
        backend,
        policy,
        leases: [],
        returns: [],
        leasing: false,
        lastGranted: 0,
        deniedUntil: 0,
        retryAt: 0,
        failOpenUntil: 0,
        remainingAtObject: policy.limit,
        resetAt: 0,
        periodStart: this.o.now(),
        hits: 0,
        lastHits: 0,
      };
      this.subjects.set(key, s);
    }
    if (s.policy.limit !== policy.limit || s.policy.windowMs !== policy.windowMs) {
      // Units already leased stay held at the object, which applies the new policy to them.
      s.policy = policy;
      s.deniedUntil = 0;
    }
    s.backend = backend;
    return s;
  }

  private evictIdle(): void {
    const now = this.o.now();
    for (const [key, s] of this.subjects) {
      if (this.subjects.size < this.o.maxSubjects) return;
      if (this.idle(s, now)) this.subjects.delete(key);
    }
  }

  private idle(s: Subject, now: number): boolean {
    return s.leases.length === 0 && !s.leasing && s.returns.length === 0 && now >= s.deniedUntil;
  }

  private countHit(s: Subject, now: number): void {
    this.rollPeriod(s, now);
    s.hits++;
  }

  private rollPeriod(s: Subject, now: number): void {
    const elapsed = now - s.periodStart;
    if (elapsed < this.o.demandPeriodMs) return;
    s.lastHits = elapsed < 2 * this.o.demandPeriodMs ? s.hits : 0;
    s.hits = 0;
    s.periodStart = now;
  }

  /** Units to ask for: the takes seen over about one lease lifetime. */
  private wanted(s: Subject, now: number): number {
    this.rollPeriod(s, now);
    const demand = Math.max(s.hits, s.lastHits);
    return Math.max(1, Math.min(demand, this.o.maxBlock, s.policy.limit));
  }

  private localLeft(s: Subject): number {
    let left = 0;
    for (const l of s.leases) left += l.left;
    return left;
  }

  /** Closes leases past their deadline; their unused units wait in `returns`. */
  private expire(s: Subject, now: number): void {
    // Backwards, so closing (which replaces s.leases) never skips one; no copy on the hot path.
    const leases = s.leases;
    for (let i = leases.length - 1; i >= 0; i--) {
      const lease = leases[i] as Lease;
      if (now >= lease.deadline) this.close(s, lease);
    }
  }

  private close(s: Subject, lease: Lease): void {
    if (!lease.open) return;
    lease.open = false;
    s.leases = s.leases.filter((l) => l !== lease);
    s.returns.push({ leaseId: lease.id, unused: lease.left });
  }

  private spend(s: Subject, now: number): Lease | undefined {
    for (const lease of s.leases) {
      if (!spendable(lease, now)) continue;
      lease.left--;
      lease.lastSpentAt = now;
      if (lease.left === 0) this.close(s, lease);
      return lease;
    }
    return undefined;
  }

  /** Fetches the next lease in the background when this one runs low; else returns units. */
  private afterSpend(s: Subject, now: number, waiter: Waiter): void {
    if (s.leasing) return; // its completion flushes the returns
    const wanted = this.wanted(s, now);
    const lowWater = Math.floor(s.lastGranted / 4);
    if (
      wanted >= 2 &&
      this.localLeft(s) <= lowWater &&
      now >= s.deniedUntil &&
      now >= s.failOpenUntil
    ) {
      waiter.waitUntil(this.renew(s, wanted, waiter));
    } else {
      this.flushReturns(s, waiter);
    }
  }

  /** Asks the object for a lease (handing back closed ones in the same call). Never rejects. */
  private async renew(s: Subject, wanted: number, waiter: Waiter): Promise<void> {
    const returns = s.returns.splice(0);
    const sentAt = this.o.now();
    s.leasing = true;
    try {
      const g = await s.backend.lease(s.key, s.policy.limit, s.policy.windowMs, wanted, returns);
      this.observe(s, sentAt, g.remaining, g.resetMs);
      if (g.granted > 0 && g.leaseId !== null) {
        s.lastGranted = g.granted;
        const lease: Lease = {
          id: g.leaseId,
          granted: g.granted,
          left: g.granted,
          deadline: sentAt + g.ttlMs - this.o.marginMs,
          lastSpentAt: sentAt,
          open: true,
        };
        s.leases.push(lease);
        this.scheduleExpiry(s, lease, waiter);
      } else {
        this.deny(s, sentAt, g.retryAfterSeconds);
      }
    } catch (err) {
      this.failOpen(s, err);
    } finally {
      s.leasing = false;
      this.flushReturns(s, waiter);
    }
  }

  /** Waits (on this request's own timers) until the isolate's lease call is back. */
  private async waitForLease(s: Subject, until: number): Promise<void> {
    for (let i = 0; s.leasing && this.o.now() < until; i++) {
      await this.o.sleep(Math.min(2 ** i, 16));
    }
  }

  private scheduleExpiry(s: Subject, lease: Lease, waiter: Waiter): void {
    waiter.waitUntil(this.watch(s, lease, waiter));
  }

  /**
   * Ends the lease at its deadline, or earlier once nobody has spent from it for
   * `idleReturnMs`, and hands back what is left. Runs in the `waitUntil` of the request that
   * took the lease, on that request's own timers, polling shared state only (any request of
   * the isolate may close the lease meanwhile), so it finishes soon after the lease does.
   */
  private async watch(s: Subject, lease: Lease, waiter: Waiter): Promise<void> {
    while (lease.open) {
      const now = this.o.now();
      const end = Math.min(lease.deadline, lease.lastSpentAt + this.o.idleReturnMs);
      if (now >= end) {
        this.close(s, lease);
        break;
      }
      await this.o.sleep(Math.min(end - now, this.o.pollMs));
    }
    await this.flushReturns(s, waiter);
    if (this.idle(s, this.o.now()) && this.subjects.get(s.key) === s) this.subjects.delete(s.key);
  }

  /** Reports closed leases to the object in the background (unless a call is on its way). */
  private flushReturns(s: Subject, waiter: Waiter): Promise<unknown> | undefined {
    if (s.leasing || s.returns.length === 0) return undefined;
    const returns = s.returns.splice(0);
    const sent = s.backend.release(s.key, returns).catch((err: unknown) => {
      // The units count as spent until the lease expires at the object: safe, just stricter.
      logError(s.key, 'release', err);
    });
    waiter.waitUntil(sent);
    return sent;
  }

  /** One exact unit, no lease (an isolate that sees one request at a time). */
  private async checkOnce(s: Subject, now: number): Promise<RateLimitTicket> {
    try {
      const d = await s.backend.check(s.key, s.policy.limit, s.policy.windowMs);
      this.observe(s, now, d.remaining, d.resetMs);
      if (d.allowed) return this.allowed(s, this.o.now());
      this.deny(s, now, d.retryAfterSeconds);
      return this.refused(s, this.o.now());
    } catch (err) {
      this.failOpen(s, err);
      return this.allowed(s, now);
    }
  }

  private observe(s: Subject, at: number, remaining: number, resetMs: number): void {
    s.remainingAtObject = remaining;
    s.resetAt = at + resetMs;
  }

  private deny(s: Subject, at: number, retryAfterSeconds: number): void {
    const retryMs = Math.max(1, retryAfterSeconds) * 1000;
    s.retryAt = at + retryMs;
    s.deniedUntil = at + Math.min(retryMs, this.o.denyCacheMs);
  }

  private failOpen(s: Subject, err: unknown): void {
    logError(s.key, 'lease', err);
    s.failOpenUntil = this.o.now() + this.o.failOpenMs;
  }

  private allowed(s: Subject, now: number, lease?: Lease): RateLimitTicket {
    return new Ticket(
      true,
      s.policy.limit,
      Math.max(0, s.remainingAtObject) + this.localLeft(s),
      Math.ceil(Math.max(0, s.resetAt - now) / 1000),
      0,
      lease ? this : undefined,
      s,
      lease,
    );
  }

  /** Gives a unit back to `lease` (or to its pending return once it has closed). @internal */
  refundTo(s: Subject, lease: Lease): void {
    if (lease.open && this.o.now() < lease.deadline) {
      lease.left++;
      return;
    }
    const pending = s.returns.find((r) => r.leaseId === lease.id);
    if (pending) pending.unused++;
  }

  private refused(s: Subject, now: number): RateLimitTicket {
    const retryAfterSeconds = Math.max(1, Math.ceil((s.retryAt - now) / 1000));
    return new Ticket(
      false,
      s.policy.limit,
      0,
      Math.max(retryAfterSeconds, Math.ceil(Math.max(0, s.resetAt - now) / 1000)),
      retryAfterSeconds,
    );
  }
}

/** A take's outcome: one object with the refund on its prototype (no closure per take). */
class Ticket implements RateLimitTicket {
  constructor(
    readonly allowed: boolean,
    readonly limit: number,
    readonly remaining: number,
    readonly resetSeconds: number,
    readonly retryAfterSeconds: number,
    private readonly client?: LeaseClient,
    private readonly subject?: Subject,
    private readonly lease?: Lease,
  ) {}

  refund(): void {
    if (this.client && this.subject && this.lease) this.client.refundTo(this.subject, this.lease);
  }
}

function logError(subject: string, op: string, err: unknown): void {
  console.error(
    JSON.stringify({ level: 'error', component: 'rate-limit', op, subject, error: String(err) }),
  );
}

const backends = new WeakMap<object, RateLimitBackend>();

/** The counter as the subjects' Durable Objects (one object per subject name). */
export function durableObjectBackend(
  ns: DurableObjectNamespace<RateLimiterContract>,
): RateLimitBackend {
  let backend = backends.get(ns);
  if (!backend) {
    const stub = (subject: string) => ns.get(ns.idFromName(subject));
    backend = {
      check: (subject, limit, windowMs) => stub(subject).check(limit, windowMs),
      lease: (subject, limit, windowMs, wanted, returns) =>
        stub(subject).lease(limit, windowMs, wanted, returns),
      release: (subject, returns) => stub(subject).release(returns),
    };
    backends.set(ns, backend);
  }
  return backend;
}

/** This isolate's lease client. */
export const rateLimiter = new LeaseClient({
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  marginMs: 500,
  idleReturnMs: 1_000,
  pollMs: 250,
  maxBlock: 10_000,
  demandPeriodMs: 5_000,
  leaseWaitMs: 1_000,
  denyCacheMs: 1_000,
  failOpenMs: 1_000,
  maxSubjects: 10_000,
});
