import { sql } from 'drizzle-orm';
import { bigint, check, index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { paymentStatusEnum } from './enums';
import { storefronts } from './storefronts';
import { subscriptions } from './subscriptions';
import { tenants } from './tenants';

export const payments = pgTable(
  'payments',
  {
    id: text('id').primaryKey(), // pay_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    storefrontId: text('storefront_id')
      .notNull()
      .references(() => storefronts.id, { onDelete: 'cascade' }),
    subscriptionId: text('subscription_id').references(() => subscriptions.id),
    amount: bigint('amount', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    status: paymentStatusEnum('status').notNull().default('pending'),
    /** The provider that finally settled (or declined) the payment. */
    provider: text('provider'),
    idempotencyKey: text('idempotency_key').notNull(),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('payments_idempotency_uq').on(t.tenantId, t.idempotencyKey),
    index('payments_subscription_idx').on(t.subscriptionId),
    check('payments_amount_nonneg', sql`${t.amount} >= 0`),
  ],
);
