import { sql } from 'drizzle-orm';
import { index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { routeKindEnum } from './enums';
import { storefronts } from './storefronts';
import { tenants } from './tenants';

/**
 * How a request finds its storefront. `host` and `tenant_host` values are globally unique
 * (lower-case hostnames); `path_prefix`, `country` and `continent` are unique per tenant.
 */
export const storefrontRoutes = pgTable(
  'storefront_routes',
  {
    id: text('id').primaryKey(), // rt_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    /** Null only for `tenant_host`. */
    storefrontId: text('storefront_id').references(() => storefronts.id, { onDelete: 'cascade' }),
    kind: routeKindEnum('kind').notNull(),
    value: text('value').notNull(),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('storefront_routes_host_uq')
      .on(t.value)
      .where(sql`${t.kind} in ('host', 'tenant_host')`),
    uniqueIndex('storefront_routes_tenant_kind_value_uq').on(t.tenantId, t.kind, t.value),
    index('storefront_routes_storefront_idx').on(t.storefrontId),
  ],
);
