import { sql } from 'drizzle-orm';
import { pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { channelEnum, operatorRoleEnum } from './enums';
import { tenants } from './tenants';

export const operators = pgTable(
  'operators',
  {
    id: text('id').primaryKey(), // op_…
    email: text('email').notNull(),
    name: text('name').notNull(),
    /** `pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>` */
    passwordHash: text('password_hash').notNull(),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    /** Sessions issued before this are ended ("sign out everywhere"); null = none. */
    sessionsNotBefore: timestamp('sessions_not_before', { withTimezone: true }),
    ...timestamps,
  },
  (t) => [uniqueIndex('operators_email_uq').on(sql`lower(${t.email})`)],
);

/**
 * A role held by an operator in one tenant, optionally narrowed to a list of storefronts and
 * channels (empty lists mean all).
 */
export const operatorRoles = pgTable(
  'operator_roles',
  {
    id: text('id').primaryKey(), // orl_…
    operatorId: text('operator_id')
      .notNull()
      .references(() => operators.id, { onDelete: 'cascade' }),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    role: operatorRoleEnum('role').notNull(),
    storefrontIds: text('storefront_ids').array().notNull().default([]),
    channels: channelEnum('channels').array().notNull().default([]),
    ...timestamps,
  },
  (t) => [uniqueIndex('operator_roles_operator_tenant_uq').on(t.operatorId, t.tenantId)],
);
