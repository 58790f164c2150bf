import { sql } from 'drizzle-orm';
import {
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { customers } from './customers';
import { entitlementDefinitions } from './entitlements';
import { entitlementTypeEnum, keyModeEnum } from './enums';
import { storefronts } from './storefronts';
import { tenants } from './tenants';

/**
 * Complimentary entitlements an operator granted one customer of one storefront, in one mode
 * (`test` or `live`, as the customer's entitlements object is named): the record. The customer's
 * entitlements object holds the live copy (delivered after the row is written, idempotent by
 * id); `delivered_at` says the object acknowledged the row's current state (null: not yet, a
 * retry of the request or the next grant or revoke for the customer delivers it).
 */
export const entitlementGrants = pgTable(
  'entitlement_grants',
  {
    id: text('id').primaryKey(), // comp_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    storefrontId: text('storefront_id')
      .notNull()
      .references(() => storefronts.id, { onDelete: 'cascade' }),
    customerId: text('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    mode: keyModeEnum('mode').notNull(),
    entitlementId: text('entitlement_id')
      .notNull()
      .references(() => entitlementDefinitions.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    type: entitlementTypeEnum('type').notNull(),
    /** As a bundle's grant of the type (src/domain/entitlements.ts), validated. */
    value: jsonb('value').$type<Record<string, unknown>>().notNull(),
    /** For tiers: the definition's levels when granted, and the config version they are of. */
    levels: text('levels').array(),
    levelsVersion: integer('levels_version'),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    reason: text('reason').notNull(),
    /** The operator who granted it. */
    createdBy: text('created_by').notNull(),
    /** The Idempotency-Key the grant was made under: a retry finds this row again. */
    requestKey: text('request_key'),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedBy: text('revoked_by'),
    revokeReason: text('revoke_reason'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    ...timestamps,
  },
  (t) => [
    index('entitlement_grants_customer_idx').on(
      t.tenantId,
      t.storefrontId,
      t.customerId,
      t.createdAt,
    ),
    uniqueIndex('entitlement_grants_request_key_uq').on(t.tenantId, t.createdBy, t.requestKey),
    check(
      'entitlement_grants_revoked_ck',
      sql`(${t.revokedAt} is null) = (${t.revokedBy} is null)`,
    ),
  ],
);
