import { jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import type { BundleTrial } from '../../subscriptions/settings';
import { timestamps } from './_columns';
import { recordStatusEnum } from './enums';
import { tenants } from './tenants';

export const bundles = pgTable(
  'bundles',
  {
    id: text('id').primaryKey(), // bun_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    /** The bundle's trial (src/subscriptions/settings.ts); null: none unless a checkout asks. */
    trial: jsonb('trial').$type<BundleTrial>(),
    status: recordStatusEnum('status').notNull().default('active'),
    ...timestamps,
  },
  (t) => [uniqueIndex('bundles_tenant_slug_uq').on(t.tenantId, t.slug)],
);
