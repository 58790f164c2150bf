import { integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { bundles } from './bundles';
import { entitlementTypeEnum } from './enums';
import { tenants } from './tenants';

export const entitlementDefinitions = pgTable(
  'entitlement_definitions',
  {
    id: text('id').primaryKey(), // ent_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    key: text('key').notNull(), // e.g. api_access
    name: text('name').notNull(),
    type: entitlementTypeEnum('type').notNull(),
    /** For quotas: the unit counted (calls, GB…). */
    unit: text('unit'),
    /**
     * For tiers: the levels, lowest first (`email`, `priority`, `dedicated`); the union of a
     * customer's tiers takes the highest in this order. Null for other types, and for tier
     * definitions made before levels were declared.
     */
    levels: text('levels').array(),
    ...timestamps,
  },
  (t) => [uniqueIndex('entitlement_definitions_tenant_key_uq').on(t.tenantId, t.key)],
);

/**
 * The grant of one entitlement by one bundle. `value` depends on the definition's type and is
 * validated by `EntitlementValueSchema` before it is written:
 * quota `{ limit, period }`, feature `{ enabled }`, slots `{ count }`, tier `{ level, detail? }`.
 */
export const bundleEntitlements = pgTable(
  'bundle_entitlements',
  {
    bundleId: text('bundle_id')
      .notNull()
      .references(() => bundles.id, { onDelete: 'cascade' }),
    entitlementId: text('entitlement_id')
      .notNull()
      .references(() => entitlementDefinitions.id, { onDelete: 'cascade' }),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    value: jsonb('value').$type<Record<string, unknown>>().notNull(),
    position: integer('position').notNull().default(0),
    ...timestamps,
  },
  (t) => [primaryKey({ columns: [t.bundleId, t.entitlementId] })],
);
