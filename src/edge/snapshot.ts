import { z } from 'zod';
import {
  apiKeyKindEnum,
  billingIntervalEnum,
  channelEnum,
  entitlementTypeEnum,
  failModeEnum,
  keyModeEnum,
  killswitchScopeEnum,
} from '../db/schema/enums';
import {
  BundleTrialSchema,
  DEFAULT_SUBSCRIPTION_SETTINGS,
  SubscriptionSettingsSchema,
} from '../subscriptions/settings';
import { CachePolicySchema } from './http-cache';

/**
 * KV keys of the published read model. Nothing here is global: a host's entry, a tenant's
 * routing and a storefront's snapshots are written by that tenant's publish only.
 */
export const KV_KEYS = {
  /** host → tenant (and storefront, for a storefront's own host): {@link HostEntry}. */
  host: (host: string) => `host/${host}`,
  /** The tenant's own routing and the snapshot version of each storefront: {@link TenantRouting}. */
  tenantRouting: (tenantId: string) => `tenant/${tenantId}/routing`,
  /** One storefront's snapshot at one version; immutable, expires when superseded. */
  snapshot: (storefrontId: string, version: number) => `snapshot/${storefrontId}/v${version}`,
  /** A storefront API key by the SHA-256 of the key: {@link EdgeKeyEntry}. */
  apiKey: (hash: string) => `key/${hash}`,
  /**
   * The tenant's current signing key, sealed (AES-256-GCM under `SIGNING_KEY_SECRET`), for the
   * entitlements objects that sign entitlement tokens without Postgres: {@link SignerEntry}.
   */
  signer: (tenantId: string) => `signer/${tenantId}`,
} as const;

export const ChannelSchema = z.enum(channelEnum.enumValues);
export type Channel = z.infer<typeof ChannelSchema>;

export const EntitlementGrantSchema = z.object({
  key: z.string(),
  name: z.string(),
  type: z.enum(entitlementTypeEnum.enumValues),
  unit: z.string().nullable(),
  value: z.record(z.string(), z.unknown()),
  /** A tier's levels, lowest first (absent: published before tiers declared them). */
  levels: z.array(z.string()).optional(),
});
export type EntitlementGrant = z.infer<typeof EntitlementGrantSchema>;

export const SnapshotBundleSchema = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string(),
  price: z.object({
    id: z.string(),
    amount: z.number().int().nonnegative(),
    currency: z.string().length(3),
    interval: z.enum(billingIntervalEnum.enumValues),
    intervalCount: z.number().int().positive(),
  }),
  entitlements: z.array(EntitlementGrantSchema),
  /** The bundle's trial (src/subscriptions/settings.ts); null: none unless a checkout asks. */
  trial: BundleTrialSchema.nullable().default(null),
});
export type SnapshotBundle = z.infer<typeof SnapshotBundleSchema>;

export const ProviderConfigSchema = z.object({
  provider: z.string(),
  priority: z.number().int(),
  weight: z.number().min(0).max(100),
  methods: z.array(z.string()).optional(),
  countries: z.array(z.string()).optional(),
  currencies: z.array(z.string()).optional(),
});

export const KillswitchViewSchema = z.object({
  id: z.string(),
  scope: z.enum(killswitchScopeEnum.enumValues),
  target: z.string(),
  storefrontId: z.string().nullable(),
  engaged: z.boolean(),
  failMode: z.enum(failModeEnum.enumValues),
  retryAfterSeconds: z.number().int().nonnegative(),
  reason: z.string().nullable(),
});
export type KillswitchView = z.infer<typeof KillswitchViewSchema>;

/** A storefront API key as the edge sees it: only its SHA-256, never the key. */
export const EdgeApiKeySchema = z.object({
  id: z.string(),
  hash: z.string(),
  kind: z.enum(apiKeyKindEnum.enumValues),
  /**
   * `test` or `live`, as the key's prefix says; routes that reach a payment provider, a test
   * clock or an outage switch check it (`requireMode`). Entries published before keys had a
   * mode are live ones.
   */
  mode: z.enum(keyModeEnum.enumValues).default('live'),
  /** Empty = every channel. */
  channels: z.array(ChannelSchema),
  /** ISO time; absent = never. */
  expiresAt: z.string().nullable(),
  rateLimit: z.number().int().positive().nullable().default(null),
});
export type EdgeApiKey = z.infer<typeof EdgeApiKeySchema>;

/** A key's KV entry (and its copy in the hot config while recent): the key and whose it is. */
export const EdgeKeyEntrySchema = EdgeApiKeySchema.extend({
  tenantId: z.string(),
  storefrontId: z.string(),
});
export type EdgeKeyEntry = z.infer<typeof EdgeKeyEntrySchema>;

/**
 * What the hot config says about keys: not the key set, only what KV may not show everywhere
 * yet. `recent`: keys created or changed within {@link RECENT_KEY_SECONDS} (KV takes up to
 * 60 s to be visible everywhere, an isolate re-reads a key at most every 60 s); `revoked`: ids
 * of keys revoked within {@link REVOKED_KEY_SECONDS}, refused whatever KV or a cache says.
 */
export const HotKeysSchema = z.object({
  recent: z.array(EdgeKeyEntrySchema).default([]),
  revoked: z.array(z.string()).default([]),
});
export type HotKeys = z.infer<typeof HotKeysSchema>;

/** How long a created or changed key rides in the hot config (> KV's 60 s + the isolate's 60 s). */
export const RECENT_KEY_SECONDS = 180;
/** How long a revoked key's id rides in the hot config (≫ every cache's life). */
export const REVOKED_KEY_SECONDS = 600;

/**
 * One public key of the tenant's customer-token JWKS. Only these members survive parsing, so a
 * private member (`d`, …) written by mistake never reaches a verifier or the JWKS endpoint.
 */
export const PublicJwkSchema = z.object({
  kty: z.enum(['OKP', 'EC']),
  crv: z.enum(['Ed25519', 'P-256']),
  x: z.string(),
  y: z.string().optional(),
  kid: z.string(),
  alg: z.enum(['EdDSA', 'ES256']),
  use: z.literal('sig'),
});
export type PublicJwk = z.infer<typeof PublicJwkSchema>;

/** The fast-changing part of one storefront's config, also held by the tenant's DO. */
export const HotStorefrontConfigSchema = z.object({
  /** Flag definitions effective in this storefront (tenant flags with storefront overrides). */
  flags: z.array(z.record(z.string(), z.unknown())),
  /** Killswitches that apply to this storefront. */
  killswitches: z.array(KillswitchViewSchema),
  /** The tenant's targeting segments. */
  segments: z.array(z.record(z.string(), z.unknown())).default([]),
});
export type HotStorefrontConfig = z.infer<typeof HotStorefrontConfigSchema>;

/**
 * A tenant's own routing, in its KV entry and in its hot config: how a request on one of its
 * hosts finds a storefront, and which snapshot version each storefront serves. A storefront
 * whose published content did not change keeps its version (and its snapshot key).
 */
export const TenantRoutingSchema = z.object({
  tenantId: z.string(),
  slug: z.string(),
  /** The tenant's config version this routing was published at. */
  version: z.number().int().nonnegative(),
  defaultStorefrontId: z.string().nullable(),
  pathPrefixes: z.record(z.string(), z.string()),
  countries: z.record(z.string(), z.string()),
  continents: z.record(z.string(), z.string()),
  /** storefront id → slug (for `X-Storefront`), channel and the version of its snapshot */
  storefronts: z.record(
    z.string(),
    z.object({ slug: z.string(), channel: ChannelSchema, version: z.number().int().nonnegative() }),
  ),
});
export type TenantRouting = z.infer<typeof TenantRoutingSchema>;

/** A host's entry: its tenant, and its storefront when it is a storefront's own host. */
export const HostEntrySchema = z.object({
  tenantId: z.string(),
  storefrontId: z.string().nullable(),
});
export type HostEntry = z.infer<typeof HostEntrySchema>;

/** A tenant's hot config, as published to its TenantConfigDurableObject. */
export const HotConfigSchema = z.object({
  version: z.number().int(),
  publishedAt: z.string(),
  /** The tenant's routing, so a new storefront, prefix or snapshot is live within a second. */
  routing: TenantRoutingSchema,
  storefronts: z.record(z.string(), HotStorefrontConfigSchema),
  keys: HotKeysSchema.default({ recent: [], revoked: [] }),
});
export type HotConfig = z.infer<typeof HotConfigSchema>;

/** One storefront's published configuration: everything its edge requests need. */
export const StorefrontSnapshotSchema = z.object({
  schemaVersion: z.literal(1),
  version: z.number().int().nonnegative(),
  publishedAt: z.string(),
  tenant: z.object({ id: z.string(), slug: z.string(), name: z.string() }),
  storefront: z.object({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    channel: ChannelSchema,
    currency: z.string().length(3),
    region: z.string(),
    locale: z.string(),
    branding: z.record(z.string(), z.unknown()),
    paymentProviders: z.array(ProviderConfigSchema),
    /** The storefront's payment routing as configured (src/payments/routing.ts); null: derived. */
    paymentRouting: z.unknown().optional(),
    /** The storefront's cache policy as configured (defaults are applied at the edge). */
    cachePolicy: CachePolicySchema.default({}),
    /** Dunning and other subscription settings (src/subscriptions/settings.ts). */
    subscriptions: SubscriptionSettingsSchema.default(DEFAULT_SUBSCRIPTION_SETTINGS),
  }),
  bundles: z.array(SnapshotBundleSchema),
  flags: HotStorefrontConfigSchema.shape.flags,
  killswitches: HotStorefrontConfigSchema.shape.killswitches,
  segments: HotStorefrontConfigSchema.shape.segments,
  /** The tenant's customer-token keys: active ones and retired ones still in their overlap. */
  jwks: z.array(PublicJwkSchema).default([]),
});
export type StorefrontSnapshot = z.infer<typeof StorefrontSnapshotSchema>;

/** One change of the host directory: `entry` null when the host was removed. */
export const HostChangeSchema = z.object({
  seq: z.number().int().nonnegative(),
  host: z.string(),
  entry: HostEntrySchema.nullable(),
});
export type HostChange = z.infer<typeof HostChangeSchema>;

/**
 * What the host directory tells the edge (through the per-location cache, about once a second):
 * its change counter and every change from `recentFrom` on. An isolate that validated a host
 * entry at `seq` ≥ `recentFrom - 1` needs no KV read to know whether it still holds: the
 * changes since are all listed. They cover more than KV's 60 s propagation, so a host a
 * publish adds (or moves) resolves everywhere within about a second, and a negatively cached
 * host is superseded by the change that adds it.
 */
export const DirectoryViewSchema = z.object({
  seq: z.number().int().nonnegative(),
  recentFrom: z.number().int().nonnegative(),
  recent: z.array(HostChangeSchema),
});
export type DirectoryView = z.infer<typeof DirectoryViewSchema>;

/** How long a host change is listed in the directory's view (> KV's 60 s propagation). */
export const RECENT_HOST_SECONDS = 180;
/** At most this many changes are listed; older ones are read from KV. */
export const MAX_RECENT_HOST_CHANGES = 2000;
