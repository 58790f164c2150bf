import { sql } from 'drizzle-orm';
import { index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { storefronts } from './storefronts';
import { tenants } from './tenants';

/** A customer is unique within a storefront: the same email in two storefronts is two customers. */
export const customers = pgTable(
  'customers',
  {
    id: text('id').primaryKey(), // cus_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    storefrontId: text('storefront_id')
      .notNull()
      .references(() => storefronts.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    name: text('name'),
    externalId: text('external_id'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('customers_storefront_email_uq').on(t.storefrontId, sql`lower(${t.email})`),
    // The console's search by the start of an email, across a tenant's storefronts: a pattern
    // index, so `lower(email) LIKE 'ada%'` reads only the matching range whatever the collation.
    index('customers_tenant_email_prefix_idx').on(
      t.tenantId,
      sql`lower(${t.email}) text_pattern_ops`,
    ),
  ],
);
