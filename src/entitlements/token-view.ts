/**
 * What a customer's entitlements token and change events carry, from the fold
 * (src/entitlements/fold.ts), and how two versions compare. Pure.
 */
import type { TokenEntitlement } from '../security/entitlement-tokens';
import type { ResolvedEntitlement, SourceState } from './fold';

export type { TokenEntitlement } from '../security/entitlement-tokens';

/**
 * When a source's access ends unless something renews it (unix seconds), or null while it
 * renews on its own: the period's end once cancelled at period end, the dunning grace end while
 * past due.
 */
export function sourceUntil(s: SourceState): number | null {
  if (s.status === 'past_due') return s.graceEndsAt;
  return s.cancelAtPeriodEnd ? s.periodEnd : null;
}

/**
 * The active entitlements as a token lists them, sorted by key: values without counters, and
 * `validUntil` the latest end among the sources granting it (null when one of them renews).
 * A source on a test clock is judged on its clock, so its end is not a wall-clock time: it is
 * left out of `validUntil` (the subscription's own change, when its clock passes the end, is
 * what takes the access away).
 */
export function tokenEntitlements(
  resolved: readonly ResolvedEntitlement[],
  sources: readonly SourceState[],
  _nowMs: number,
): TokenEntitlement[] {
  const byId = new Map(sources.map((s) => [s.subscriptionId, s]));
  const out: TokenEntitlement[] = [];
  for (const e of resolved) {
    if (!e.active) continue;
    let until: number | null = Number.NEGATIVE_INFINITY;
    for (const id of e.source) {
      const s = byId.get(id);
      const u = s && s.clockNow === null ? sourceUntil(s) : null;
      if (u === null) {
        until = null;
        break;
      }
      until = Math.max(until, u);
    }
    const t: TokenEntitlement = {
      key: e.key,
      type: e.type,
      billingIssue: e.billingIssue,
      validUntil: until === null || !Number.isFinite(until) ? null : until,
    };
    if (e.quota) t.quota = { limit: e.quota.limit, resetsAt: e.quota.windowEnd };
    if (e.slots) t.slots = { count: e.slots.count };
    if (e.tier) t.tier = { level: e.tier.level, detail: e.tier.detail };
    if (e.enabled !== undefined) t.enabled = e.enabled;
    out.push(t);
  }
  return out;
}

function same(a: TokenEntitlement, b: TokenEntitlement): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Which keys appeared, disappeared or changed between two versions' active entitlements. */
export function changedEntitlements(
  before: readonly TokenEntitlement[],
  after: readonly TokenEntitlement[],
): { changed: boolean; added: string[]; removed: string[]; updated: string[] } {
  const was = new Map(before.map((e) => [e.key, e]));
  const now = new Map(after.map((e) => [e.key, e]));
  const added = after.filter((e) => !was.has(e.key)).map((e) => e.key);
  const removed = before.filter((e) => !now.has(e.key)).map((e) => e.key);
  const updated = after
    .filter((e) => {
      const w = was.get(e.key);
      return w !== undefined && !same(w, e);
    })
    .map((e) => e.key);
  return {
    changed: added.length + removed.length + updated.length > 0,
    added,
    removed,
    updated,
  };
}

/**
 * Whether a token of `before` would grant more than `after` does, so older tokens must be
 * refused: a key lost, a billing issue begun, a smaller quota or slot count, a tier changed (an
 * upgrade costs only a refetch), a feature disabled, or access that now ends sooner. A new key,
 * a larger quota or a quota window moving on (a renewal) are not.
 */
export function weakened(
  before: readonly TokenEntitlement[],
  after: readonly TokenEntitlement[],
): boolean {
  const now = new Map(after.map((e) => [e.key, e]));
  for (const b of before) {
    const a = now.get(b.key);
    if (!a || a.type !== b.type) return true;
    if (a.billingIssue && !b.billingIssue) return true;
    if (a.quota && b.quota && a.quota.limit < b.quota.limit) return true;
    if (a.slots && b.slots && a.slots.count < b.slots.count) return true;
    if (b.tier && (a.tier?.level !== b.tier.level || a.tier?.detail !== b.tier.detail)) return true;
    if (b.enabled === true && a.enabled !== true) return true;
    if (
      b.validUntil === null
        ? a.validUntil !== null
        : a.validUntil !== null && a.validUntil < b.validUntil
    ) {
      return true;
    }
  }
  return false;
}
