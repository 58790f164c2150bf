import { bigint, index, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { actorTypeEnum } from './enums';
import { tenants } from './tenants';

/**
 * Append-only audit trail, written in the same transaction as the change it records.
 * Each chain (`chain` = a storefront id, or `tenant:<id>` for tenant-wide changes) is
 * hash-chained: `hash = sha256(prev_hash || canonical(row))`.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: text('id').primaryKey(), // aud_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    storefrontId: text('storefront_id'),
    chain: text('chain').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    actorType: actorTypeEnum('actor_type').notNull(),
    actorId: text('actor_id').notNull(),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    before: jsonb('before'),
    after: jsonb('after'),
    reason: text('reason'),
    requestId: text('request_id'),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('audit_log_chain_seq_uq').on(t.chain, t.seq),
    index('audit_log_tenant_idx').on(t.tenantId, t.createdAt),
  ],
);
