import { integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { tenants } from './tenants';

/** A tenant's targeting segment (`included`, `excluded`, `rules`), used by `segmentMatch`. */
export const segments = pgTable(
  'segments',
  {
    id: text('id').primaryKey(), // seg_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    definition: jsonb('definition').$type<Record<string, unknown>>().notNull(),
    version: integer('version').notNull().default(1),
    ...timestamps,
  },
  (t) => [uniqueIndex('segments_tenant_key_uq').on(t.tenantId, t.key)],
);
