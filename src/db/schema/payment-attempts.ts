import { boolean, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { keyModeEnum } from './enums';
import { payments } from './payments';
import { tenants } from './tenants';

/** One try at one provider; a payment may fail over across several. */
export const paymentAttempts = pgTable(
  'payment_attempts',
  {
    id: text('id').primaryKey(), // patt_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    paymentId: text('payment_id')
      .notNull()
      .references(() => payments.id, { onDelete: 'cascade' }),
    /** The payment's storefront and mode (analytics read attempts without joining payments). */
    storefrontId: text('storefront_id'),
    mode: keyModeEnum('mode'),
    seq: integer('seq').notNull(),
    provider: text('provider').notNull(),
    /** captured | declined | error | unknown | failed (src/payments/types.ts, Attempt). */
    status: text('status').notNull(),
    /** The provider's idempotency key of this attempt (`<payment>:<provider>`). */
    idempotencyKey: text('idempotency_key').notNull(),
    providerReference: text('provider_reference'),
    declineCode: text('decline_code'),
    declineClass: text('decline_class'),
    latencyMs: integer('latency_ms').notNull().default(0),
    lookedUp: boolean('looked_up').notNull().default(false),
    errorMessage: text('error_message'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('payment_attempts_payment_seq_uq').on(t.paymentId, t.seq),
    // Analytics: success rate by provider and decline class over a time range.
    index('payment_attempts_analytics_idx').on(t.tenantId, t.mode, t.createdAt),
  ],
);
