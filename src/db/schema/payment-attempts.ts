import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { paymentStatusEnum } from './enums';
import { payments } from './payments';
import { tenants } from './tenants';

/** One try at one provider; a payment may fail over across several. */
export const paymentAttempts = pgTable('payment_attempts', {
  id: text('id').primaryKey(), // patt_…
  tenantId: text('tenant_id')
    .notNull()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  paymentId: text('payment_id')
    .notNull()
    .references(() => payments.id, { onDelete: 'cascade' }),
  seq: integer('seq').notNull(),
  provider: text('provider').notNull(),
  status: paymentStatusEnum('status').notNull(),
  providerReference: text('provider_reference'),
  declineCode: text('decline_code'),
  errorMessage: text('error_message'),
  ...timestamps,
});
