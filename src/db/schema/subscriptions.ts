import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  pgTable,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { bundlePrices } from './bundle-prices';
import { bundles } from './bundles';
import { customers } from './customers';
import { keyModeEnum, subscriptionStatusEnum } from './enums';
import { storefronts } from './storefronts';
import { tenants } from './tenants';
import { testClocks } from './test-clocks';

/**
 * Written through by each subscription's Durable Object, which owns the state machine
 * (src/subscriptions/lifecycle.ts), the billing cycle (src/subscriptions/cycles.ts) and plan
 * changes (src/subscriptions/proration.ts). This row is a copy: it may lag the object.
 */
export const subscriptions = pgTable(
  'subscriptions',
  {
    id: text('id').primaryKey(), // sub_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    storefrontId: text('storefront_id')
      .notNull()
      .references(() => storefronts.id, { onDelete: 'cascade' }),
    customerId: text('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    bundleId: text('bundle_id')
      .notNull()
      .references(() => bundles.id),
    priceId: text('price_id')
      .notNull()
      .references(() => bundlePrices.id),
    /** Made with a test or a live key; test subscriptions reach only sandbox providers. */
    mode: keyModeEnum('mode').notNull().default('live'),
    status: subscriptionStatusEnum('status').notNull(),
    /**
     * The instant every period end is computed from (not from the previous end), so a monthly
     * subscription anchored on the 31st comes back to the 31st after February.
     */
    billingAnchor: timestamp('billing_anchor', { withTimezone: true }),
    currentPeriodStart: timestamp('current_period_start', { withTimezone: true }),
    currentPeriodEnd: timestamp('current_period_end', { withTimezone: true }),
    trialEnd: timestamp('trial_end', { withTimezone: true }),
    /** A fixed term's end (the subscription then ends); null: renews until cancelled. */
    termEnd: timestamp('term_end', { withTimezone: true }),
    cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
    cancelledAt: timestamp('cancelled_at', { withTimezone: true }),
    /** When the subscription became `ended` (dunning exhausted or term over). */
    endedAt: timestamp('ended_at', { withTimezone: true }),
    pausedAt: timestamp('paused_at', { withTimezone: true }),
    /** A paused subscription's automatic resume; null: paused until resumed by hand. */
    resumeAt: timestamp('resume_at', { withTimezone: true }),
    /** Set while a payment failure is being dunned (one billing-issue event per streak). */
    billingIssue: boolean('billing_issue').notNull().default(false),
    /** A downgrade deferred to the period end: the bundle and price it switches to then. */
    pendingBundleId: text('pending_bundle_id').references(() => bundles.id),
    pendingPriceId: text('pending_price_id').references(() => bundlePrices.id),
    /**
     * Net proration credit (minor units of the price's currency) to be taken off the next
     * invoices; never negative: a charge is never negative, a credit is carried here.
     */
    creditBalance: bigint('credit_balance', { mode: 'number' }).notNull().default(0),
    /** Test mode only: the test clock this subscription reads its time from. */
    testClockId: text('test_clock_id').references(() => testClocks.id, { onDelete: 'set null' }),
    /** The flag targeting key (the customer id unless the checkout said otherwise). */
    targetingKey: text('targeting_key'),
    /** The campaign the subscription was sold under, for attribution. */
    campaign: text('campaign'),
    /**
     * Analytics facts folded from the object's events (src/analytics/facts.ts). When the
     * checkout completed: its first payment succeeded or its trial started; null while (or if
     * it stayed) incomplete.
     */
    convertedAt: timestamp('converted_at', { withTimezone: true }),
    /** When its first invoice was paid (a trial's: at the trial's end, or a recovery after). */
    firstPaidAt: timestamp('first_paid_at', { withTimezone: true }),
    /** The price in force then: where its MRR starts (later changes are `plan_changed`). */
    firstPaidPriceId: text('first_paid_price_id'),
    /** When a converted subscription was cancelled or ended; null while it lives. */
    churnedAt: timestamp('churned_at', { withTimezone: true }),
    /** The object's version of this copy: a copy only ever replaces an older one. */
    version: integer('version').notNull().default(0),
    ...timestamps,
  },
  (t) => [
    index('subscriptions_customer_idx').on(t.customerId),
    // Analytics (src/services/analytics): checkouts by creation time, the active / MRR running
    // sums by conversion and first payment, churn by churn time, experiments by targeting key.
    // Each is covering (INCLUDE, written in migrations/0014_analytics.sql): index-only scans.
    index('subscriptions_analytics_created_idx').on(t.tenantId, t.mode, t.createdAt),
    index('subscriptions_analytics_converted_idx')
      .on(t.tenantId, t.mode, t.convertedAt)
      .where(sql`${t.convertedAt} IS NOT NULL`),
    index('subscriptions_analytics_paid_idx')
      .on(t.tenantId, t.mode, t.firstPaidAt)
      .where(sql`${t.firstPaidAt} IS NOT NULL`),
    index('subscriptions_analytics_trial_idx')
      .on(t.tenantId, t.mode, t.trialEnd)
      .where(sql`${t.trialEnd} IS NOT NULL`),
    index('subscriptions_analytics_churned_idx')
      .on(t.tenantId, t.mode, t.churnedAt)
      .where(sql`${t.churnedAt} IS NOT NULL`),
    index('subscriptions_analytics_targeting_idx')
      .on(t.storefrontId, t.targetingKey)
      .where(sql`${t.targetingKey} IS NOT NULL`),
    check('subscriptions_credit_balance_nonneg', sql`${t.creditBalance} >= 0`),
    check(
      'subscriptions_test_clock_test_mode',
      sql`${t.testClockId} IS NULL OR ${t.mode} = 'test'`,
    ),
  ],
);
