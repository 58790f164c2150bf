import { sql } from 'drizzle-orm';
import { bigint, check, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { payments } from './payments';
import { tenants } from './tenants';

/** A refund of a payment, full or partial; never more than captured in total. */
export const paymentRefunds = pgTable(
  'payment_refunds',
  {
    id: text('id').primaryKey(), // re_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    paymentId: text('payment_id')
      .notNull()
      .references(() => payments.id, { onDelete: 'cascade' }),
    amount: bigint('amount', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    /** succeeded | failed */
    status: text('status').notNull(),
    providerRefundId: text('provider_refund_id'),
    reason: text('reason'),
    failureReason: text('failure_reason'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('payment_refunds_id_payment_uq').on(t.paymentId, t.id),
    check('payment_refunds_amount_pos', sql`${t.amount} > 0`),
  ],
);
