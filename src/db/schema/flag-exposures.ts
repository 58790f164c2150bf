import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { tenants } from './tenants';

/** One recorded flag evaluation, for experiment analysis. Written in batches from a queue. */
export const flagExposures = pgTable(
  'flag_exposures',
  {
    id: text('id').primaryKey(), // exp_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    storefrontId: text('storefront_id').notNull(),
    flagKey: text('flag_key').notNull(),
    flagVersion: integer('flag_version'),
    variationIndex: integer('variation_index'),
    variant: text('variant'),
    reason: text('reason').notNull(),
    inExperiment: boolean('in_experiment').notNull().default(false),
    targetingKey: text('targeting_key'),
    channel: text('channel'),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    index('flag_exposures_flag_idx').on(t.tenantId, t.flagKey, t.occurredAt),
    // Analytics (migration 0015, both covering: INCLUDE by hand): each targeting key's first
    // exposure per flag in index order — keyed like subscriptions_analytics_targeting_idx
    // (storefront, targeting key), so the checkouts are merged in, not hashed — and, for a
    // short range, the exposures in it by time.
    index('flag_exposures_experiment_key_idx')
      .on(t.tenantId, t.storefrontId, t.targetingKey, t.flagKey, t.occurredAt)
      .where(sql`${t.inExperiment} AND ${t.targetingKey} IS NOT NULL`),
    index('flag_exposures_experiment_time_idx')
      .on(t.tenantId, t.occurredAt)
      .where(sql`${t.inExperiment} AND ${t.targetingKey} IS NOT NULL`),
  ],
);
