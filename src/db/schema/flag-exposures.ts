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
    // Analytics: an experiment's first exposure of each targeting key, in index order.
    index('flag_exposures_experiment_idx')
      .on(t.tenantId, t.storefrontId, t.flagKey, t.targetingKey, t.occurredAt)
      .where(sql`${t.inExperiment} AND ${t.targetingKey} IS NOT NULL`),
  ],
);
