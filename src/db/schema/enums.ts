import { pgEnum } from 'drizzle-orm/pg-core';

/**
 * Every enum of the domain, written once. zod schemas derive from these
 * (`z.enum(channelEnum.enumValues)`) and types from {@link EnumValue}.
 */
export const channelEnum = pgEnum('channel', ['web', 'mobile', 'partner', 'ott']);
export const recordStatusEnum = pgEnum('record_status', ['active', 'archived']);
export const routeKindEnum = pgEnum('route_kind', [
  'host', // a storefront's own host
  'tenant_host', // a tenant's shared host (storefront chosen by path / header / geo / default)
  'path_prefix', // a path prefix on the tenant's shared host
  'country', // ISO 3166-1 alpha-2
  'continent', // Cloudflare continent code (AF, AN, AS, EU, NA, OC, SA)
]);
export const billingIntervalEnum = pgEnum('billing_interval', ['day', 'week', 'month', 'year']);
export const entitlementTypeEnum = pgEnum('entitlement_type', [
  'quota',
  'feature',
  'slots',
  'tier',
]);
/**
 * A subscription's status; the transitions between them are src/subscriptions/lifecycle.ts.
 * `incomplete`: the first payment failed (23 h to succeed, then `incomplete_expired`);
 * `past_due`: a renewal failed and dunning runs; `cancelled`: cancelled now or at period end;
 * `ended`: dunning was exhausted, or a fixed term ended.
 */
export const subscriptionStatusEnum = pgEnum('subscription_status', [
  'incomplete',
  'incomplete_expired',
  'trialing',
  'active',
  'past_due',
  'paused',
  'cancelled',
  'ended',
]);
export const paymentStatusEnum = pgEnum('payment_status', [
  'pending',
  'processing',
  'succeeded',
  'failed',
  'unknown',
  'refunded',
  'declined',
]);
export const paymentMethodTypeEnum = pgEnum('payment_method_type', ['card', 'bank_debit']);
export const flagValueTypeEnum = pgEnum('flag_value_type', ['boolean', 'string', 'number', 'json']);
export const killswitchScopeEnum = pgEnum('killswitch_scope', [
  'tenant',
  'storefront',
  'channel',
  'feature',
  'provider',
]);
export const failModeEnum = pgEnum('fail_mode', ['closed', 'open']);
export const apiKeyKindEnum = pgEnum('api_key_kind', ['publishable', 'secret']);
/**
 * A key's mode, and of everything made with it: `test` reaches only the sandbox providers, test
 * clocks and outage switches; `live` only the real providers. The two never mix.
 */
export const keyModeEnum = pgEnum('key_mode', ['test', 'live']);
export const operatorRoleEnum = pgEnum('operator_role', ['owner', 'admin', 'operator', 'viewer']);
export const actorTypeEnum = pgEnum('actor_type', ['operator', 'api_key', 'system']);

/** The values of a pgEnum as a TypeScript union. */
export type EnumValue<E extends { enumValues: readonly string[] }> = E['enumValues'][number];
export type Channel = EnumValue<typeof channelEnum>;
export const CHANNELS = channelEnum.enumValues;
export type KeyMode = EnumValue<typeof keyModeEnum>;
export type BillingInterval = EnumValue<typeof billingIntervalEnum>;
export type SubscriptionStatus = EnumValue<typeof subscriptionStatusEnum>;
