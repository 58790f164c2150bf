/**
 * The Postgres copy of a subscription: its row (newest version wins) and its events (each once,
 * by sequence number), in one transaction, with the customer row it refers to. Written by the
 * subscription's object (durable-objects/subscription.ts) after each change and by its alarm
 * after a failure; what reports, the console and analytics read.
 */
import { sql } from 'drizzle-orm';
import { churnedAt } from '../../analytics/facts';
import { getDb } from '../../db/client';
import { customers, subscriptionEvents, subscriptions } from '../../db/schema';
import type { Env } from '../../env';
import { fromUnixSeconds, type UnixSeconds } from '../../subscriptions/time';
import type { SubscriptionEvent, SubscriptionRecord } from './record';

const at = (t: UnixSeconds | null | undefined) =>
  t === null || t === undefined ? null : fromUnixSeconds(t);

/** The `subscriptions` row of a record. */
export function subscriptionRow(r: SubscriptionRecord) {
  const l = r.lifecycle;
  const unpaidStart = l.status === 'incomplete' || l.status === 'incomplete_expired';
  return {
    id: r.id,
    tenantId: r.tenantId,
    storefrontId: r.storefrontId,
    customerId: r.customerId,
    bundleId: r.bundle.id,
    priceId: r.billing.price.id,
    mode: r.mode,
    status: l.status,
    billingAnchor: at(r.billing.anchor),
    currentPeriodStart: unpaidStart ? null : at(r.billing.period.start),
    currentPeriodEnd: unpaidStart ? null : at(r.billing.period.end),
    trialEnd: at(r.trialEnd?.at),
    termEnd: at(l.termEnd),
    cancelAtPeriodEnd: l.cancelAtPeriodEnd,
    cancelledAt: at(r.cancelledAt),
    endedAt: at(r.endedAt),
    pausedAt: at(r.pausedAt),
    resumeAt: at(l.resumeAt),
    billingIssue: l.billingIssue,
    pendingBundleId: r.billing.scheduled ? (r.pendingBundle?.id ?? null) : null,
    pendingPriceId: r.billing.scheduled?.price.id ?? null,
    creditBalance: r.billing.creditBalance,
    testClockId: r.testClockId,
    targetingKey: r.targetingKey,
    campaign: r.campaign,
    convertedAt: at(r.convertedAt),
    firstPaidAt: at(r.firstPaidAt),
    firstPaidPriceId: r.firstPaidPriceId ?? null,
    churnedAt: at(churnedAt(l.status, r.convertedAt, r.endedAt, r.cancelledAt)),
    version: r.version,
    createdAt: fromUnixSeconds(r.createdAt),
  };
}

/** Event `seq` of subscription `id`'s row id: the same event is the same row, copied once. */
export function subscriptionEventId(subscriptionId: string, seq: number): string {
  return `sevt_${subscriptionId.slice(4)}_${seq}`;
}

export async function copySubscription(
  env: Env,
  r: SubscriptionRecord,
  events: readonly SubscriptionEvent[],
): Promise<void> {
  const { db, close } = getDb(env);
  try {
    await db.transaction(async (tx) => {
      if (r.customerEmail) {
        // The customer a checkout named by email (its id is derived from it): created here when
        // the checkout ran while Postgres was away.
        await tx
          .insert(customers)
          .values({
            id: r.customerId,
            tenantId: r.tenantId,
            storefrontId: r.storefrontId,
            email: r.customerEmail,
          })
          .onConflictDoNothing();
      }
      const row = subscriptionRow(r);
      const { id: _id, createdAt: _created, ...changes } = row;
      await tx
        .insert(subscriptions)
        .values(row)
        .onConflictDoUpdate({
          target: subscriptions.id,
          set: {
            ...changes,
            // Each fact keeps its first time. A record saved before the facts existed has
            // none (the migration backfilled the row from its events): least() skips nulls.
            convertedAt: sql`least(${subscriptions.convertedAt}, excluded.converted_at)`,
            firstPaidAt: sql`least(${subscriptions.firstPaidAt}, excluded.first_paid_at)`,
            firstPaidPriceId: sql`coalesce(${subscriptions.firstPaidPriceId}, excluded.first_paid_price_id)`,
            churnedAt: sql`coalesce(${subscriptions.churnedAt}, excluded.churned_at, case
              when excluded.status in ('cancelled', 'ended')
                and ${subscriptions.convertedAt} is not null
              then coalesce(excluded.ended_at, excluded.cancelled_at) end)`,
            updatedAt: new Date(),
          },
          setWhere: sql`${subscriptions.version} < excluded.version`,
        });
      if (events.length > 0) {
        await tx
          .insert(subscriptionEvents)
          .values(
            events.map((e) => ({
              id: subscriptionEventId(r.id, e.seq),
              tenantId: r.tenantId,
              subscriptionId: r.id,
              storefrontId: r.storefrontId,
              mode: r.mode,
              seq: e.seq,
              type: e.type,
              data: e.data,
              occurredAt: new Date(e.occurredAt),
            })),
          )
          .onConflictDoNothing();
      }
    });
  } finally {
    await close().catch(() => {});
  }
}
