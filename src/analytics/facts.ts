/**
 * The analytics facts of a subscription, folded from the events its object emits (in order),
 * so that Postgres can count checkouts, conversions and churn from indexed columns instead of
 * replaying event logs. The same rules are the SQL backfill in migrations/0014_analytics.sql.
 */
import type { SubscriptionStatus } from '../db/schema/enums';

/** Unix seconds. */
type Seconds = number;

export interface ConversionFacts {
  /** The checkout completed: its first payment succeeded (`activated`) or its trial started. */
  convertedAt?: Seconds | null;
  /**
   * Its first invoice was paid: `activated` (a paid checkout, a late first payment, a trial
   * that ended paid) or `recovered` (a trial whose first charge failed, then was recovered).
   */
  firstPaidAt?: Seconds | null;
  /**
   * The price in force when the first invoice was paid (after any change made in the same
   * instant, such as a deferred downgrade applied at a trial's end): where the subscription's
   * MRR starts from. Later plan changes are `plan_changed` events.
   */
  firstPaidPriceId?: string | null;
}

/** Events that complete a checkout. */
const CONVERTS = new Set(['activated', 'trial_started']);
/** Events that mean an invoice of the subscription was paid for the first time. */
const FIRST_PAID = new Set(['activated', 'recovered']);

/**
 * `facts` after `events` (in the order the object applied them): each fact keeps the first
 * time it happened, so replaying or appending events never moves it.
 */
export function foldConversion(
  facts: ConversionFacts,
  events: readonly { type: string; at: Seconds }[],
  /** The price in force once these events are applied. */
  priceId: string,
): ConversionFacts {
  let convertedAt = facts.convertedAt ?? null;
  let firstPaidAt = facts.firstPaidAt ?? null;
  let firstPaidPriceId = facts.firstPaidPriceId ?? null;
  for (const e of events) {
    if (convertedAt === null && CONVERTS.has(e.type)) convertedAt = e.at;
    if (firstPaidAt === null && FIRST_PAID.has(e.type)) {
      firstPaidAt = e.at;
      firstPaidPriceId = priceId;
    }
  }
  return { convertedAt, firstPaidAt, firstPaidPriceId };
}

/**
 * When a subscription churned: a converted subscription that is now cancelled or ended, at the
 * time it ended (or was cancelled). A checkout that never converted (cancelled while incomplete)
 * is not churn — it is a checkout that did not complete.
 */
export function churnedAt(
  status: SubscriptionStatus,
  convertedAt: Seconds | null | undefined,
  endedAt: Seconds | null,
  cancelledAt: Seconds | null,
): Seconds | null {
  if (convertedAt === null || convertedAt === undefined) return null;
  if (status !== 'cancelled' && status !== 'ended') return null;
  return endedAt ?? cancelledAt ?? null;
}
