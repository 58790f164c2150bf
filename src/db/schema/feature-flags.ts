import { boolean, integer, jsonb, pgTable, text, unique } from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { flagValueTypeEnum } from './enums';
import { storefronts } from './storefronts';
import { tenants } from './tenants';

/**
 * A flag defined for a tenant (`storefront_id` null) or overridden for one storefront.
 * `definition` holds variations, rules, rollout and defaults, validated by the flag schema
 * before it is written; an override replaces the tenant definition in that storefront.
 */
export const featureFlags = pgTable(
  'feature_flags',
  {
    id: text('id').primaryKey(), // flag_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    storefrontId: text('storefront_id').references(() => storefronts.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    valueType: flagValueTypeEnum('value_type').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    definition: jsonb('definition').$type<Record<string, unknown>>().notNull(),
    version: integer('version').notNull().default(1),
    ...timestamps,
  },
  (t) => [
    unique('feature_flags_scope_key_uq').on(t.tenantId, t.storefrontId, t.key).nullsNotDistinct(),
  ],
);
