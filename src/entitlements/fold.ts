/**
 * A customer's entitlements in one storefront, folded from the state of each of their
 * subscriptions there. Pure: the entitlements object (durable-objects/customer-entitlements.ts)
 * keeps the sources and the quota counters and calls these with its clock.
 *
 * Activation (per subscription, at `now`, its own time: a test clock's, else the wall clock):
 * - `active` and `trialing` grant; with cancel-at-period-end set, until the period's end.
 * - `past_due` grants until the end of the dunning grace period, marked `billingIssue`.
 * - `paused`, `incomplete`, `incomplete_expired`, `ended` and `cancelled` grant nothing.
 *
 * Union over the granting subscriptions (order-independent, see the unit tests):
 * - quotas add their limits; slots add their counts; features OR;
 * - tiers take the highest level in the order the entitlement definition declares (lowest
 *   first), which each tier grant carries (`levels`, with the config version it was published
 *   at). When the grants of a key carry different orders (the definition changed between two
 *   checkouts), the newest wins: the highest `levelsVersion`, then, for the same version, the
 *   order whose JSON sorts last — so the answer never depends on the order of the sources. A
 *   level the order does not name ranks below every named one; two unnamed levels, and every
 *   level of a key whose grants carry no order (kept before definitions declared one), rank in
 *   code-point order.
 * - `billingIssue` is true only when every granting source has one: a billing problem on one
 *   subscription never marks (or removes) what a paid one grants.
 */
import type { EntitlementType } from '../domain/entitlements';
import type { SubscriptionStatus } from '../subscriptions/lifecycle';
import { SECONDS_PER_DAY, type UnixSeconds } from '../subscriptions/time';

/** One grant of a bundle, as the published snapshot carries it (or of a complimentary grant). */
export interface Grant {
  key: string;
  type: EntitlementType;
  value: Record<string, unknown>;
  /** A tier's levels, lowest first, as its definition declared them; absent on older grants. */
  levels?: readonly string[];
  /** The tenant config version `levels` are of (the snapshot's, or the grant's). */
  levelsVersion?: number;
}

/** What the entitlements need of one subscription, as of its event `seq`. */
export interface SourceState {
  subscriptionId: string;
  status: SubscriptionStatus;
  billingIssue: boolean;
  cancelAtPeriodEnd: boolean;
  /** The current period (of the trial while trialing); unix seconds. */
  periodStart: UnixSeconds;
  periodEnd: UnixSeconds;
  /** While past_due with dunning running: when the grace period ends; else null. */
  graceEndsAt: UnixSeconds | null;
  /** The test clock's time when the subscription is on one; null: the wall clock. */
  clockNow: UnixSeconds | null;
  /** What the subscription's bundle grants. */
  grants: Grant[];
}

/** Whether a subscription grants at `now`, and with a billing issue. */
export function activation(
  s: SourceState,
  now: UnixSeconds,
): { active: boolean; billingIssue: boolean } {
  switch (s.status) {
    case 'active':
    case 'trialing':
      return { active: !(s.cancelAtPeriodEnd && now >= s.periodEnd), billingIssue: false };
    case 'past_due':
      return s.graceEndsAt !== null && now < s.graceEndsAt
        ? { active: true, billingIssue: true }
        : { active: false, billingIssue: true };
    default:
      return { active: false, billingIssue: false };
  }
}

/** The time a source is judged at: its test clock's, else `wallNow`. */
export function sourceNow(s: SourceState, wallNow: UnixSeconds): UnixSeconds {
  return s.clockNow ?? wallNow;
}

/** The quota window `now` falls in, for a quota value's `period`. */
export function quotaWindow(
  period: string,
  s: SourceState,
  now: UnixSeconds,
): { start: UnixSeconds; end: UnixSeconds } {
  const d = new Date(now * 1000);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = Date.UTC(y, m, d.getUTCDate()) / 1000;
  switch (period) {
    case 'day':
      return { start: day, end: day + SECONDS_PER_DAY };
    case 'week': {
      // ISO weeks: Monday 00:00 UTC.
      const start = day - ((d.getUTCDay() + 6) % 7) * SECONDS_PER_DAY;
      return { start, end: start + 7 * SECONDS_PER_DAY };
    }
    case 'month':
      return { start: Date.UTC(y, m, 1) / 1000, end: Date.UTC(y, m + 1, 1) / 1000 };
    case 'year':
      return { start: Date.UTC(y, 0, 1) / 1000, end: Date.UTC(y + 1, 0, 1) / 1000 };
    default:
      // billing_period: the subscription's own cycle.
      return { start: s.periodStart, end: s.periodEnd };
  }
}

/** One source's share of a quota: its limit over its own window. */
export interface QuotaPart {
  source: string;
  limit: number;
  windowEnd: UnixSeconds;
  /** The source's time (its test clock's, else the wall clock). */
  now: UnixSeconds;
}

/** One resolved entitlement of the customer. */
export interface ResolvedEntitlement {
  key: string;
  type: EntitlementType;
  active: boolean;
  billingIssue: boolean;
  /** The subscriptions granting it now (sorted); all that grant it when none is active. */
  source: string[];
  /**
   * The sum of the granting sources' limits; `windowEnd` and `now` are the earliest-ending
   * part's (when some capacity comes back). `parts`: each source's own limit and window — the
   * entitlements object counts each part in its own window, so a daily grant beside a monthly
   * plan resets daily and the plan monthly.
   */
  quota?: {
    limit: number;
    windowEnd: UnixSeconds;
    now: UnixSeconds;
    parts: QuotaPart[];
  };
  slots?: { count: number };
  tier?: { level: string; detail: string | null };
  enabled?: boolean;
}

function tierRank(level: string, order: readonly string[] | undefined): number {
  if (!order) return 0;
  return order.indexOf(level);
}

/**
 * The level order of each tier key: of the grants (of every source, granting now or not) that
 * carry one, the newest — the highest `levelsVersion`, then the order whose JSON sorts last.
 */
export function tierOrders(sources: readonly SourceState[]): Map<string, readonly string[]> {
  const best = new Map<string, { levels: readonly string[]; version: number; json: string }>();
  for (const s of sources) {
    for (const g of s.grants) {
      if (g.type !== 'tier' || !g.levels || g.levels.length === 0) continue;
      const version = g.levelsVersion ?? 0;
      const json = JSON.stringify(g.levels);
      const cur = best.get(g.key);
      if (!cur || version > cur.version || (version === cur.version && json > cur.json)) {
        best.set(g.key, { levels: g.levels, version, json });
      }
    }
  }
  return new Map([...best].map(([k, v]) => [k, v.levels]));
}

function higherTier(
  a: { level: string; detail: string | null },
  b: { level: string; detail: string | null },
  order: readonly string[] | undefined,
): { level: string; detail: string | null } {
  if (order) {
    const ra = tierRank(a.level, order);
    const rb = tierRank(b.level, order);
    if (ra !== rb) return ra > rb ? a : b;
  }
  // No order, or two levels it does not name: code-point order.
  if (a.level !== b.level) return a.level > b.level ? a : b;
  // Same level: the detail that sorts last, so the answer does not depend on the order.
  return (a.detail ?? '') >= (b.detail ?? '') ? a : b;
}

/**
 * The customer's entitlements at `wallNow` from their subscriptions' states, sorted by key.
 * Order-independent in `sources`. Keys granted only by inactive subscriptions are listed with
 * `active: false` (so a lapsed customer sees what they lost).
 */
export function foldEntitlements(
  sources: readonly SourceState[],
  wallNow: UnixSeconds,
): ResolvedEntitlement[] {
  const orders = tierOrders(sources);
  const sorted = [...sources].sort((a, b) =>
    a.subscriptionId < b.subscriptionId ? -1 : a.subscriptionId > b.subscriptionId ? 1 : 0,
  );
  const byKey = new Map<string, ResolvedEntitlement>();
  const all = new Map<string, { type: EntitlementType; ids: string[]; issue: boolean }>();
  for (const s of sorted) {
    const now = sourceNow(s, wallNow);
    const act = activation(s, now);
    for (const g of s.grants) {
      const seen = all.get(g.key) ?? { type: g.type, ids: [], issue: false };
      if (!seen.ids.includes(s.subscriptionId)) seen.ids.push(s.subscriptionId);
      seen.issue ||= act.billingIssue;
      all.set(g.key, seen);
      if (!act.active) continue;
      const cur = byKey.get(g.key);
      if (cur && cur.type !== g.type) continue; // a key has one type; a stale grant cannot change it
      const e: ResolvedEntitlement = cur ?? {
        key: g.key,
        type: g.type,
        active: true,
        billingIssue: true,
        source: [],
      };
      if (!e.source.includes(s.subscriptionId)) e.source.push(s.subscriptionId);
      e.billingIssue &&= act.billingIssue;
      const v = g.value;
      switch (g.type) {
        case 'quota': {
          const limit = typeof v.limit === 'number' ? v.limit : 0;
          const w = quotaWindow(String(v.period ?? 'billing_period'), s, now);
          const part = { source: s.subscriptionId, limit, windowEnd: w.end, now };
          const q = e.quota;
          if (!q) e.quota = { limit, windowEnd: w.end, now, parts: [part] };
          else {
            q.limit += limit;
            q.parts.push(part);
            // The earliest-ending window is when capacity first comes back.
            if (w.end < q.windowEnd || (w.end === q.windowEnd && now > q.now)) {
              q.windowEnd = w.end;
              q.now = now;
            }
          }
          break;
        }
        case 'slots': {
          const count = typeof v.count === 'number' ? v.count : 0;
          e.slots = { count: (e.slots?.count ?? 0) + count };
          break;
        }
        case 'tier': {
          const t = {
            level: String(v.level ?? ''),
            detail: typeof v.detail === 'string' ? v.detail : null,
          };
          e.tier = e.tier ? higherTier(e.tier, t, orders.get(g.key)) : t;
          break;
        }
        case 'feature':
          e.enabled = (e.enabled ?? false) || v.enabled === true;
          break;
      }
      byKey.set(g.key, e);
    }
  }
  for (const [key, seen] of all) {
    if (byKey.has(key)) continue;
    byKey.set(key, {
      key,
      type: seen.type,
      active: false,
      billingIssue: seen.issue,
      source: seen.ids,
      ...(seen.type === 'feature' ? { enabled: false } : {}),
    });
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Whether an entitlement lets its holder in: active, and for a feature enabled. */
export function allows(
  e:
    | Pick<ResolvedEntitlement, 'type' | 'active' | 'billingIssue' | 'enabled' | 'slots'>
    | null
    | undefined,
): { allowed: boolean; reason: string } {
  if (!e) return { allowed: false, reason: 'not_granted' };
  if (!e.active) return { allowed: false, reason: e.billingIssue ? 'billing_issue' : 'inactive' };
  if (e.type === 'feature' && !e.enabled) return { allowed: false, reason: 'disabled' };
  if (e.type === 'slots' && (e.slots?.count ?? 0) === 0) return { allowed: false, reason: 'none' };
  return { allowed: true, reason: e.billingIssue ? 'active_billing_issue' : 'active' };
}
