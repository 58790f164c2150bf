import {
  bigint,
  date,
  integer,
  numeric,
  pgTable,
  primaryKey,
  smallint,
  text,
} from 'drizzle-orm/pg-core';
import { keyModeEnum } from './enums';

/**
 * Daily movements of the subscription stocks (src/services/analytics/queries.ts): conversions
 * and churns (`currency` ''), and MRR movements per currency (numeric minor units a month).
 * Written only by the triggers of migrations/0014_analytics.sql, on every change of
 * `subscriptions` and every `plan_changed` event — so it is right whoever writes the rows.
 * No foreign key: a tenant's deletion cascades through the triggers while it runs.
 */
export const analyticsSubscriptionDaily = pgTable(
  'analytics_subscription_daily',
  {
    tenantId: text('tenant_id').notNull(),
    mode: keyModeEnum('mode').notNull(),
    day: date('day').notNull(),
    storefrontId: text('storefront_id').notNull(),
    currency: text('currency').notNull().default(''),
    converted: integer('converted').notNull().default(0),
    churned: integer('churned').notNull().default(0),
    mrr: numeric('mrr').notNull().default('0'),
    /** 0–7 from the row's id: one day's counter spread over eight rows (less lock waiting). */
    shard: smallint('shard').notNull().default(0),
  },
  (t) => [
    primaryKey({
      name: 'analytics_subscription_daily_pk',
      columns: [t.tenantId, t.mode, t.day, t.storefrontId, t.currency, t.shard],
    }),
  ],
);

/**
 * Daily counts of payment attempts (`kind` attempt: by provider, status, decline class) and of
 * payments (`kind` payment: by final status), kept by the triggers of migration 0014 on
 * `payment_attempts` and `payments` (a copy that rewrites a payment's attempts takes the old
 * ones off and puts the new ones on).
 */
export const analyticsPaymentDaily = pgTable(
  'analytics_payment_daily',
  {
    tenantId: text('tenant_id').notNull(),
    mode: keyModeEnum('mode').notNull(),
    day: date('day').notNull(),
    storefrontId: text('storefront_id').notNull(),
    kind: text('kind').notNull(),
    provider: text('provider').notNull().default(''),
    status: text('status').notNull(),
    declineClass: text('decline_class').notNull().default(''),
    n: bigint('n', { mode: 'number' }).notNull().default(0),
    shard: smallint('shard').notNull().default(0),
  },
  (t) => [
    primaryKey({
      name: 'analytics_payment_daily_pk',
      columns: [
        t.tenantId,
        t.mode,
        t.day,
        t.storefrontId,
        t.kind,
        t.provider,
        t.status,
        t.declineClass,
        t.shard,
      ],
    }),
  ],
);
