import { sql } from 'drizzle-orm';
import { bigint, check, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { bundles } from './bundles';
import { billingIntervalEnum, recordStatusEnum } from './enums';
import { storefronts } from './storefronts';
import { tenants } from './tenants';

/** A bundle is offered in a storefront when it has an active price there. */
export const bundlePrices = pgTable(
  'bundle_prices',
  {
    id: text('id').primaryKey(), // price_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    bundleId: text('bundle_id')
      .notNull()
      .references(() => bundles.id, { onDelete: 'cascade' }),
    storefrontId: text('storefront_id')
      .notNull()
      .references(() => storefronts.id, { onDelete: 'cascade' }),
    currency: text('currency').notNull(), // ISO 4217, upper case
    /** Integer minor units of `currency` (cents, yen…). */
    amount: bigint('amount', { mode: 'number' }).notNull(),
    interval: billingIntervalEnum('interval').notNull(),
    intervalCount: integer('interval_count').notNull().default(1),
    status: recordStatusEnum('status').notNull().default('active'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('bundle_prices_offer_uq').on(
      t.bundleId,
      t.storefrontId,
      t.currency,
      t.interval,
      t.intervalCount,
    ),
    check('bundle_prices_amount_nonneg', sql`${t.amount} >= 0`),
    check('bundle_prices_currency_iso', sql`${t.currency} ~ '^[A-Z]{3}$'`),
    check('bundle_prices_interval_count_pos', sql`${t.intervalCount} > 0`),
  ],
);
