import { index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { customers } from './customers';
import { keyModeEnum, paymentMethodTypeEnum } from './enums';
import { storefronts } from './storefronts';
import { tenants } from './tenants';

/**
 * A tokenized payment method: never the number or the CVC, only what a receipt shows, a
 * fingerprint, and (test mode) which sandbox card it is. It belongs to one storefront and one
 * mode: used in another storefront, or with a key of the other mode, it does not exist.
 */
export const paymentMethods = pgTable(
  'payment_methods',
  {
    id: text('id').primaryKey(), // pm_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    storefrontId: text('storefront_id')
      .notNull()
      .references(() => storefronts.id, { onDelete: 'cascade' }),
    customerId: text('customer_id').references(() => customers.id, { onDelete: 'set null' }),
    mode: keyModeEnum('mode').notNull(),
    type: paymentMethodTypeEnum('type').notNull(),
    /** card: brand, last4, expMonth, expYear; bank_debit: last4, routingNumber. */
    details: jsonb('details').$type<Record<string, string | number>>().notNull(),
    fingerprint: text('fingerprint').notNull(),
    /** Test mode: the sandbox outcome of this card or account (the sandbox vault). */
    sandboxOutcome: text('sandbox_outcome'),
    expMonth: integer('exp_month'),
    expYear: integer('exp_year'),
    ...timestamps,
  },
  (t) => [
    index('payment_methods_storefront_idx').on(t.storefrontId),
    index('payment_methods_customer_idx').on(t.customerId),
  ],
);
