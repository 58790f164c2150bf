import { boolean, index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { bundlePrices } from './bundle-prices';
import { bundles } from './bundles';
import { customers } from './customers';
import { subscriptionStatusEnum } from './enums';
import { storefronts } from './storefronts';
import { tenants } from './tenants';

/** Written through by each subscription's Durable Object, which owns the state machine. */
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
    status: subscriptionStatusEnum('status').notNull(),
    currentPeriodStart: timestamp('current_period_start', { withTimezone: true }),
    currentPeriodEnd: timestamp('current_period_end', { withTimezone: true }),
    trialEnd: timestamp('trial_end', { withTimezone: true }),
    cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
    cancelledAt: timestamp('cancelled_at', { withTimezone: true }),
    ...timestamps,
  },
  (t) => [index('subscriptions_customer_idx').on(t.customerId)],
);
