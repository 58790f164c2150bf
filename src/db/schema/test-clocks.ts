import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { keyModeEnum } from './enums';
import { storefronts } from './storefronts';
import { tenants } from './tenants';

/**
 * A test clock: a frozen time that the subscriptions attached to it read instead of the wall
 * clock, so tests and demos advance a subscription through trials, renewals and dunning without
 * waiting (as Stripe's test clocks). A clock belongs to one storefront and exists in test mode
 * only: the `mode` column is there so a query joining live rows can never match one, and the
 * check keeps it `test`.
 */
export const testClocks = pgTable(
  'test_clocks',
  {
    id: text('id').primaryKey(), // clock_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    storefrontId: text('storefront_id')
      .notNull()
      .references(() => storefronts.id, { onDelete: 'cascade' }),
    name: text('name'),
    /** The clock's current time; it only moves forward, when the clock is advanced. */
    frozenTime: timestamp('frozen_time', { withTimezone: true }).notNull(),
    mode: keyModeEnum('mode').notNull().default('test'),
    ...timestamps,
  },
  (t) => [
    index('test_clocks_storefront_idx').on(t.storefrontId),
    check('test_clocks_test_mode_only', sql`${t.mode} = 'test'`),
  ],
);
