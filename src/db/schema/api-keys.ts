import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { apiKeyKindEnum, channelEnum, keyModeEnum } from './enums';
import { storefronts } from './storefronts';
import { tenants } from './tenants';

/** Storefront API keys. Only the SHA-256 of the key is stored, with a visible prefix. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(), // key_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    storefrontId: text('storefront_id')
      .notNull()
      .references(() => storefronts.id, { onDelete: 'cascade' }),
    kind: apiKeyKindEnum('kind').notNull(),
    /**
     * The mode the key was generated with (its `pk_test_` / `pk_live_` prefix), and of
     * everything made with it. Never changes; a rotation keeps it.
     */
    mode: keyModeEnum('mode').notNull().default('live'),
    name: text('name').notNull(),
    /** First characters of the key, shown in lists (`pk_live_AbC…`, `sk_test_AbC…`). */
    prefix: text('prefix').notNull(),
    hash: text('hash').notNull(),
    /** Empty means every channel. */
    channels: channelEnum('channels').array().notNull().default([]),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    /** Requests per minute for this key; null = the storefront's default. */
    rateLimit: integer('rate_limit'),
    /** The key this one replaced, when it came from a rotation. */
    rotatedFrom: text('rotated_from'),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    /**
     * False until the tenant's publisher has written this key's current state to the edge (its
     * KV entry, or its removal). Every change sets it back to false; the publisher writes only
     * these, so a publish costs the keys that changed, not the key set.
     */
    edgeSynced: boolean('edge_synced').notNull().default(false),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('api_keys_hash_uq').on(t.hash),
    index('api_keys_storefront_idx').on(t.storefrontId),
    index('api_keys_edge_pending_idx').on(t.tenantId).where(sql`not ${t.edgeSynced}`),
    index('api_keys_tenant_updated_idx').on(t.tenantId, t.updatedAt),
    // The row's kind and mode are the key's own: its prefix says them (`sk_test_…`).
    check(
      'api_keys_prefix_kind_mode',
      sql`left(${t.prefix}, 8) = (case ${t.kind} when 'secret' then 'sk_' else 'pk_' end) || ${t.mode}::text || '_'`,
    ),
  ],
);
