/**
 * Metering at the edge: an isolate that consumes a customer's quota often spends from a lease —
 * units the customer's object set aside for it (src/contracts/customer-entitlements.ts
 * `leaseConsume`) — without a call per consume, the way the rate limiter spends its leases.
 *
 * Exact, never over: a lease's units are counted as used in the object from the moment they are
 * set aside until the isolate hands the lease back (with what it spent; the rest returns), so
 * the object never grants a unit twice. A lease lives a second (never past the quota's window)
 * and is at most an eighth of what is left, so near the end of a quota little sits in leases,
 * and its size adapts: it doubles (to 1,000) while the isolate uses one up before it expires and
 * halves when one expires half unused. A lease not handed back (the isolate gone) stays spent.
 *
 * Only one lease request per customer and key is in flight in an isolate; consumes arriving
 * meanwhile are plain consumes of the object (exact). A consume with an Idempotency-Key never
 * takes this path (the object keeps the key with its answer). `remaining` is exact while one
 * isolate meters the customer; with several, each knows its own lease only.
 */
import {
  type ConsumeResult,
  type CustomerEntitlementsContract,
  entitlementsObjectName,
  type QuotaLease,
} from '../contracts/customer-entitlements';
import type { Env } from '../env';
import type { CheckSubject } from './entitlement-views';

interface Held {
  lease: QuotaLease;
  spent: number;
  /** What the object said was left outside this lease when it granted it. */
  remainingOutside: number;
  usedOutside: number;
  resetsAt: string;
  limit: number;
}

const held = new Map<string, Held>();
/** Object name → the ids (`name\nkey`) of the leases held for it. */
const keysOf = new Map<string, Set<string>>();
const renewing = new Set<string>();
const sizes = new Map<string, number>();
const MAX_HELD = 10_000;
const FIRST_LEASE = 16;
const MAX_LEASE = 1_000;

function stubOf(env: Env, name: string): DurableObjectStub<CustomerEntitlementsContract> {
  const ns = env.CUSTOMER_ENTITLEMENTS;
  return ns.get(ns.idFromName(name));
}

/** The next lease size after `previous` ended (used up, or expired with `spent` of it). */
function nextSize(id: string, previous: Held | undefined): number {
  const size = sizes.get(id) ?? FIRST_LEASE;
  if (!previous) return size;
  const usedUp = previous.spent >= previous.lease.units;
  const next = usedUp
    ? Math.min(MAX_LEASE, size * 2)
    : previous.spent * 2 < previous.lease.units
      ? Math.max(FIRST_LEASE, Math.floor(size / 2))
      : size;
  if (sizes.size >= MAX_HELD) sizes.clear();
  sizes.set(id, next);
  return next;
}

/** Hands `h` back when it expires, unless a renewal handed it back first. */
async function settleAtExpiry(env: Env, name: string, id: string, h: Held): Promise<void> {
  const wait = h.lease.expiresAt - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  if (held.get(id) !== h) return;
  held.delete(id);
  await stubOf(env, name).settleLeases([{ leaseId: h.lease.id, spent: h.spent }]);
}

/**
 * Consumes `quantity` of `key` for the customer whose object is `name`: from this isolate's
 * lease, or through the object.
 */
export function consumeAtEdge(
  env: Env,
  ctx: ExecutionContext,
  name: string,
  key: string,
  quantity: number,
): ConsumeResult | Promise<ConsumeResult> {
  const id = `${name}\n${key}`;
  const h = held.get(id);
  const now = Date.now();
  if (h && now < h.lease.expiresAt && h.lease.units - h.spent >= quantity) {
    h.spent += quantity;
    return {
      ok: true,
      remaining: h.remainingOutside + (h.lease.units - h.spent),
      resetsAt: h.resetsAt,
      used: h.usedOutside + h.spent,
      limit: h.limit,
    };
  }
  const stub = stubOf(env, name);
  if (renewing.has(id)) {
    // A lease request is on its way: this one asks the object as it is. Should the object be
    // out while the lease that arrives meanwhile has units, they are this consume's.
    return stub.consume(key, quantity, null).then((r) => {
      if (r.ok || r.reason !== 'quota_exhausted') return r;
      const l = held.get(id);
      if (!l || Date.now() >= l.lease.expiresAt || l.lease.units - l.spent < quantity) return r;
      l.spent += quantity;
      return {
        ok: true as const,
        remaining: l.remainingOutside + (l.lease.units - l.spent),
        resetsAt: l.resetsAt,
        used: l.usedOutside + l.spent,
        limit: l.limit,
      };
    });
  }
  renewing.add(id);
  if (h) held.delete(id);
  const settle = h ? { leaseId: h.lease.id, spent: h.spent } : null;
  return stub
    .leaseConsume(key, quantity, { want: nextSize(id, h), settle })
    .then((r) => {
      if (r.ok && r.lease) {
        const fresh: Held = {
          lease: r.lease,
          spent: 0,
          remainingOutside: r.remaining - r.lease.units,
          usedOutside: r.used,
          resetsAt: r.resetsAt,
          limit: r.limit,
        };
        if (held.size >= MAX_HELD) {
          held.clear();
          keysOf.clear();
        }
        held.set(id, fresh);
        const ids = keysOf.get(name) ?? new Set<string>();
        ids.add(id);
        keysOf.set(name, ids);
        ctx.waitUntil(settleAtExpiry(env, name, id, fresh).catch(() => undefined));
      }
      const { lease: _lease, ...result } = r as typeof r & { lease?: QuotaLease };
      return result as ConsumeResult;
    })
    .finally(() => renewing.delete(id));
}

/**
 * Hands back every lease this isolate holds for `who`, so what the object shows next counts
 * only what was spent (a read of this isolate is then exact; another isolate's outstanding
 * leases count as used until they come back, within a second).
 */
export async function handBackLeases(env: Env, who: CheckSubject): Promise<void> {
  const name = entitlementsObjectName(who);
  const ids = keysOf.get(name);
  if (!ids) return;
  keysOf.delete(name);
  const mine: { id: string; h: Held }[] = [];
  for (const id of ids) {
    const h = held.get(id);
    if (h) mine.push({ id, h });
    held.delete(id);
  }
  if (mine.length === 0) return;
  await stubOf(env, name).settleLeases(
    mine.map(({ h }) => ({ leaseId: h.lease.id, spent: h.spent })),
  );
}

/** Forget the leases this isolate holds (tests: a cold isolate; they stay spent). */
export function forgetLeases(): void {
  held.clear();
  keysOf.clear();
  renewing.clear();
  sizes.clear();
}
