import { bigint, pgTable, text } from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { recordStatusEnum } from './enums';

export const tenants = pgTable('tenants', {
  id: text('id').primaryKey(), // ten_…
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  status: recordStatusEnum('status').notNull().default('active'),
  /** Storefront served when nothing else matches; set once storefronts exist. */
  defaultStorefrontId: text('default_storefront_id'),
  /** Bumped in the same transaction as every config change; the publisher writes it to KV. */
  configVersion: bigint('config_version', { mode: 'number' }).notNull().default(0),
  ...timestamps,
});
