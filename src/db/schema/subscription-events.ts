import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { keyModeEnum } from './enums';
import { subscriptions } from './subscriptions';
import { tenants } from './tenants';

/** Append-only event log of each subscription, in the order its Durable Object applied them. */
export const subscriptionEvents = pgTable(
  'subscription_events',
  {
    id: text('id').primaryKey(), // sevt_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    subscriptionId: text('subscription_id')
      .notNull()
      .references(() => subscriptions.id, { onDelete: 'cascade' }),
    /** The subscription's storefront and mode, copied here so analytics need no join. */
    storefrontId: text('storefront_id'),
    mode: keyModeEnum('mode'),
    seq: integer('seq').notNull(),
    type: text('type').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('subscription_events_seq_uq').on(t.subscriptionId, t.seq),
    // Analytics: dunning (past_due → recovered) and plan changes (MRR at a point in time).
    index('subscription_events_analytics_idx')
      .on(t.tenantId, t.type, t.occurredAt)
      .where(sql`${t.type} IN ('past_due', 'recovered', 'plan_changed')`),
  ],
);
