import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import type { RouteDecision } from '../../payments/types';
import { timestamps } from './_columns';
import { keyModeEnum, paymentStatusEnum } from './enums';
import { storefronts } from './storefronts';
import { tenants } from './tenants';

/**
 * A logical payment, as copied from its PaymentDurableObject (the authoritative record: the
 * object holds it durably before it answers; this copy may lag during a Postgres outage).
 */
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
    /**
     * The subscription the payment was made for. No foreign key: the payment's object and the
     * subscription's copy themselves to Postgres independently, in either order.
     */
    subscriptionId: text('subscription_id'),
    customerId: text('customer_id'),
    paymentMethodId: text('payment_method_id'),
    mode: keyModeEnum('mode').notNull().default('live'),
    amount: bigint('amount', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    status: paymentStatusEnum('status').notNull().default('pending'),
    /** The provider that finally settled (or declined) the payment. */
    provider: text('provider'),
    providerChargeId: text('provider_charge_id'),
    declineCode: text('decline_code'),
    declineClass: text('decline_class'),
    /** Why the payment went where it went (src/payments/routing.ts). */
    decision: jsonb('decision').$type<RouteDecision & { configVersion: number }>(),
    refundedAmount: bigint('refunded_amount', { mode: 'number' }).notNull().default(0),
    idempotencyKey: text('idempotency_key').notNull(),
    /**
     * The object's version of this payment (one more at every change it saves). A copy applies
     * only over an older one, so a late copy can never overwrite a newer state.
     */
    version: integer('version').notNull().default(0),
    /** Captures found at a provider beside the payment's own, and their automatic refunds. */
    strayCaptures: jsonb('stray_captures').$type<unknown[]>(),
    ...timestamps,
  },
  (t) => [
    // The scope a payment id is derived in (src/routes/payments): storefront, mode, key.
    uniqueIndex('payments_idempotency_uq').on(t.storefrontId, t.mode, t.idempotencyKey),
    index('payments_subscription_idx').on(t.subscriptionId),
    index('payments_customer_idx').on(t.storefrontId, t.customerId, t.createdAt),
    // Analytics: payments by final status over a range (covering: migrations/0014_analytics.sql).
    index('payments_analytics_idx').on(t.tenantId, t.mode, t.createdAt),
    check('payments_amount_nonneg', sql`${t.amount} >= 0`),
    check('payments_refunded_le_amount', sql`${t.refundedAmount} <= ${t.amount}`),
  ],
);
