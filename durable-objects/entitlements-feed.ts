import { entitlementsObjectName } from '../src/contracts/customer-entitlements';
import type { SourceState } from '../src/entitlements/fold';
import type { Env } from '../src/env';
import type { SubscriptionRecord } from '../src/services/subscriptions/record';
import { graceEndsAt } from '../src/subscriptions/dunning';

/** Retry a failed delivery after 1 s, doubling up to a minute. */
const RETRY_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/** What the entitlements need of a subscription (src/entitlements/fold.ts). */
export function entitlementsState(r: SubscriptionRecord): SourceState {
  const l = r.lifecycle;
  return {
    subscriptionId: r.id,
    status: l.status,
    billingIssue: l.billingIssue,
    cancelAtPeriodEnd: l.cancelAtPeriodEnd,
    periodStart: r.billing.period.start,
    periodEnd: r.billing.period.end,
    graceEndsAt: l.status === 'past_due' && r.streak ? graceEndsAt(r.dunning, r.streak) : null,
    clockNow: r.testClockId ? (r.clockNow ?? r.createdAt) : null,
    grants: r.bundle.entitlements ?? [],
  };
}

/**
 * The subscription object's feed to the customer's entitlements object: after every change it
 * hands over the subscription's state as of its last event and record version. The cursor is
 * the row 'entitlements' of the subscription's `cursors` table (beside the Postgres copy's);
 * a failed delivery is retried by the subscription's alarm ({@link retryAt}). The entitlements
 * object ignores a state not newer than the one it holds, so a redelivery, or two deliveries
 * finishing out of order, never applies an older state over a newer one.
 */
export class EntitlementsFeed {
  private failures = 0;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
  ) {}

  private cursor(): { seq: number; version: number } {
    return (
      this.ctx.storage.sql
        .exec<{ seq: number; version: number }>(
          "select seq, version from cursors where sink = 'entitlements'",
        )
        .toArray()[0] ?? { seq: 0, version: 0 }
    );
  }

  private behind(r: SubscriptionRecord, lastSeq: number): boolean {
    const c = this.cursor();
    return c.seq < lastSeq || c.version < r.version;
  }

  /** Delivers `r` (whose last event is `lastSeq`) unless delivered; answers whether it is. */
  async deliver(r: SubscriptionRecord | null, lastSeq: number): Promise<boolean> {
    if (!r || !this.behind(r, lastSeq)) return true;
    const version = r.version;
    const ns = this.env.CUSTOMER_ENTITLEMENTS;
    const delivery = {
      owner: {
        tenantId: r.tenantId,
        storefrontId: r.storefrontId,
        mode: r.mode,
        customerId: r.customerId,
      },
      subscriptionId: r.id,
      upToSeq: lastSeq,
      version,
      state: entitlementsState(r),
    };
    try {
      const name = entitlementsObjectName(r);
      // Once more at once on a failure (an object reset by a deploy answers the next call): the
      // caller's answer (a checkout's 201) waits for this, so the alarm's retry is the last resort.
      await ns
        .get(ns.idFromName(name))
        .apply(delivery)
        .catch(() => ns.get(ns.idFromName(name)).apply(delivery));
    } catch (err) {
      this.failures += 1;
      console.error(`subscription ${r.id}: entitlements delivery failed: ${err}`);
      return false;
    }
    this.failures = 0;
    this.ctx.storage.sql.exec(
      `insert into cursors (sink, seq, version) values ('entitlements', ?, ?)
       on conflict (sink) do update set seq = max(seq, excluded.seq),
         version = max(version, excluded.version)`,
      lastSeq,
      version,
    );
    return true;
  }

  /** When the alarm should deliver again (epoch ms), or null when nothing is behind. */
  retryAt(r: SubscriptionRecord | null, lastSeq: number): number | null {
    if (!r || !this.behind(r, lastSeq)) return null;
    return Date.now() + Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** Math.max(0, this.failures - 1));
  }
}
