import { jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import type { CachePolicy } from '../../edge/http-cache';
import type { PaymentRouting } from '../../payments/routing';
import type { SubscriptionSettings } from '../../subscriptions/settings';
import { timestamps } from './_columns';
import { channelEnum, recordStatusEnum } from './enums';
import { tenants } from './tenants';

/** One payment provider entry of a storefront's routing configuration. */
export interface ProviderConfig {
  provider: string;
  /** Lower is tried first. */
  priority: number;
  /** Share of volume (0–100) among providers with the same priority. */
  weight: number;
  methods?: string[];
  countries?: string[];
  currencies?: string[];
}

export interface Branding {
  displayName?: string;
  primaryColor?: string;
  logoUrl?: string;
  tagline?: string;
}

export const storefronts = pgTable(
  'storefronts',
  {
    id: text('id').primaryKey(), // sf_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    channel: channelEnum('channel').notNull().default('web'),
    currency: text('currency').notNull(), // ISO 4217
    region: text('region').notNull(),
    locale: text('locale').notNull().default('en-US'),
    paymentProviders: jsonb('payment_providers').$type<ProviderConfig[]>().notNull().default([]),
    /**
     * The storefront's payment routing (src/payments/routing.ts, validated on write); null: one
     * tier of `paymentProviders` by priority and weight.
     */
    paymentRouting: jsonb('payment_routing').$type<PaymentRouting>(),
    branding: jsonb('branding').$type<Branding>().notNull().default({}),
    /** HTTP caching of the storefront's reads, per resource and channel (src/edge/http-cache.ts). */
    cachePolicy: jsonb('cache_policy').$type<CachePolicy>().notNull().default({}),
    /** Dunning and other subscription settings (src/subscriptions/settings.ts); null: defaults. */
    subscriptionSettings: jsonb('subscription_settings').$type<SubscriptionSettings>(),
    status: recordStatusEnum('status').notNull().default('active'),
    ...timestamps,
  },
  (t) => [uniqueIndex('storefronts_tenant_slug_uq').on(t.tenantId, t.slug)],
);
