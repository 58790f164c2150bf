import { z } from 'zod';
import {
  apiKeyKindEnum,
  billingIntervalEnum,
  channelEnum,
  entitlementTypeEnum,
  failModeEnum,
  killswitchScopeEnum,
} from '../db/schema/enums';
import { CachePolicySchema } from './http-cache';

/** KV keys of the published read model. */
export const KV_KEYS = {
  routing: 'routing/v1',
  snapshot: (storefrontId: string, version: number) => `snapshot/${storefrontId}/v${version}`,
} as const;

export const ChannelSchema = z.enum(channelEnum.enumValues);
export type Channel = z.infer<typeof ChannelSchema>;

export const EntitlementGrantSchema = z.object({
  key: z.string(),
  name: z.string(),
  type: z.enum(entitlementTypeEnum.enumValues),
  unit: z.string().nullable(),
  value: z.record(z.string(), z.unknown()),
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
  /** Empty = every channel. */
  channels: z.array(ChannelSchema),
  /** ISO time; absent = never. */
  expiresAt: z.string().nullable(),
  rateLimit: z.number().int().positive().nullable().default(null),
});
export type EdgeApiKey = z.infer<typeof EdgeApiKeySchema>;

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
  /** Active (not revoked) API keys of this storefront; revocation reaches the edge in seconds. */
  apiKeys: z.array(EdgeApiKeySchema).default([]),
});
export type HotStorefrontConfig = z.infer<typeof HotStorefrontConfigSchema>;

/** A tenant's hot config, as published to its TenantConfigDurableObject. */
export const HotConfigSchema = z.object({
  version: z.number().int(),
  publishedAt: z.string(),
  storefronts: z.record(z.string(), HotStorefrontConfigSchema),
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
    /** The storefront's cache policy as configured (defaults are applied at the edge). */
    cachePolicy: CachePolicySchema.default({}),
  }),
  bundles: z.array(SnapshotBundleSchema),
  flags: HotStorefrontConfigSchema.shape.flags,
  killswitches: HotStorefrontConfigSchema.shape.killswitches,
  segments: HotStorefrontConfigSchema.shape.segments,
  apiKeys: HotStorefrontConfigSchema.shape.apiKeys,
  /** The tenant's customer-token keys: active ones and retired ones still in their overlap. */
  jwks: z.array(PublicJwkSchema).default([]),
});
export type StorefrontSnapshot = z.infer<typeof StorefrontSnapshotSchema>;

export const TenantRoutingSchema = z.object({
  slug: z.string(),
  version: z.number().int().nonnegative(),
  defaultStorefrontId: z.string().nullable(),
  pathPrefixes: z.record(z.string(), z.string()),
  countries: z.record(z.string(), z.string()),
  continents: z.record(z.string(), z.string()),
  /** storefront id → slug (for `X-Storefront`) */
  storefronts: z.record(z.string(), z.object({ slug: z.string(), channel: ChannelSchema })),
});
export type TenantRouting = z.infer<typeof TenantRoutingSchema>;

/** The deployment's routing table: host → tenant (and storefront, for a storefront's own host). */
export const RoutingTableSchema = z.object({
  schemaVersion: z.literal(1),
  generatedAt: z.string(),
  hosts: z.record(
    z.string(),
    z.object({ tenantId: z.string(), storefrontId: z.string().nullable() }),
  ),
  tenants: z.record(z.string(), TenantRoutingSchema),
});
export type RoutingTable = z.infer<typeof RoutingTableSchema>;
