import { z } from 'zod';
import { billingIntervalEnum, channelEnum, entitlementTypeEnum } from '../../db/schema/enums';
import { EntitlementValueSchemas, TierLevelsSchema } from '../../domain/entitlements';
import { CONTINENTS } from '../../edge/geo';
import { CachePolicySchema } from '../../edge/http-cache';
import { isReservedSegment } from '../../edge/reserved-paths';
import { isCurrency } from '../../lib/money';
import { PaymentRoutingSchema } from '../../payments/routing';
import { BundleTrialSchema, SubscriptionSettingsSchema } from '../../subscriptions/settings';

const Slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, at most 63');
const Hostname = z
  .string()
  .max(253)
  .regex(
    /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/,
    'a lower-case hostname without port',
  );
const PathPrefix = z
  .string()
  .regex(/^\/[a-z0-9-]{1,63}$/, 'one path segment such as /eu')
  .refine((p) => !isReservedSegment(p.slice(1)), 'this prefix is reserved for the API');
const Country = z.string().regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2, upper case');
const Continent = z.string().refine((c) => CONTINENTS.has(c), 'a Cloudflare continent code');
const Currency = z.string().refine(isCurrency, 'an ISO 4217 currency code we support');

export const ProviderSpecSchema = z.strictObject({
  provider: z.string().regex(/^[a-z][a-z0-9_-]{1,31}$/),
  priority: z.number().int().min(0).max(100),
  weight: z.number().int().min(0).max(100),
  methods: z.array(z.string()).optional(),
  countries: z.array(Country).optional(),
  currencies: z.array(Currency).optional(),
});

export const StorefrontSpecSchema = z.strictObject({
  slug: Slug,
  name: z.string().min(1).max(120),
  channel: z.enum(channelEnum.enumValues).default('web'),
  currency: Currency,
  region: z.string().min(2).max(32),
  locale: z.string().min(2).max(35).default('en-US'),
  hosts: z.array(Hostname).default([]),
  pathPrefixes: z.array(PathPrefix).default([]),
  countries: z.array(Country).default([]),
  continents: z.array(Continent).default([]),
  paymentProviders: z.array(ProviderSpecSchema).default([]),
  /** Payment routing (src/payments/routing.ts); without it, `paymentProviders` by priority. */
  paymentRouting: PaymentRoutingSchema.optional(),
  branding: z
    .strictObject({
      displayName: z.string().max(120).optional(),
      primaryColor: z
        .string()
        .regex(/^#[0-9a-fA-F]{6}$/)
        .optional(),
      logoUrl: z.url().optional(),
      tagline: z.string().max(200).optional(),
    })
    .default({}),
  /** `Cache-Control` of its reads per resource and channel; the README lists the defaults. */
  cachePolicy: CachePolicySchema.default({}),
  /** Subscriptions sold here: dunning (retry days, grace, end state), refunds ending access. */
  subscriptions: SubscriptionSettingsSchema.default({
    dunning: { retryDays: [1, 3, 7, 14], graceDays: 14, endState: 'ended' },
    refundEndsAccess: true,
  }),
});

const EntitlementDefSchema = z
  .strictObject({
    key: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
    name: z.string().min(1).max(120),
    type: z.enum(entitlementTypeEnum.enumValues),
    unit: z.string().max(32).optional(),
    /** For a tier: its levels, lowest first (`['email', 'priority', 'dedicated']`). */
    levels: TierLevelsSchema.optional(),
  })
  .superRefine((d, ctx) => {
    if (d.type === 'tier' && !d.levels) {
      ctx.addIssue({
        code: 'custom',
        path: ['levels'],
        message: 'a tier declares its levels, lowest first (e.g. ["email", "priority"])',
      });
    }
    if (d.type !== 'tier' && d.levels) {
      ctx.addIssue({ code: 'custom', path: ['levels'], message: 'only a tier has levels' });
    }
  });

export const BundleSpecSchema = z.strictObject({
  slug: Slug,
  name: z.string().min(1).max(120),
  description: z.string().max(2000).default(''),
  /** A trial: its default length, and whether it may start without a payment method. */
  trial: BundleTrialSchema.optional(),
  entitlements: z.array(
    z.strictObject({ key: z.string(), value: z.record(z.string(), z.unknown()) }),
  ),
  prices: z.array(
    z.strictObject({
      storefront: Slug,
      /** Integer minor units of the storefront's currency. */
      amount: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
      interval: z.enum(billingIntervalEnum.enumValues).default('month'),
      intervalCount: z.number().int().positive().max(36).default(1),
    }),
  ),
});

/**
 * A tenant's whole catalog configuration, declaratively. `applyTenantSpec` makes Postgres match
 * it; the demo seed and the test factories both go through it.
 */
export const TenantSpecSchema = z
  .strictObject({
    slug: Slug,
    name: z.string().min(1).max(120),
    sharedHosts: z.array(Hostname).default([]),
    defaultStorefront: Slug,
    entitlements: z.array(EntitlementDefSchema).default([]),
    storefronts: z.array(StorefrontSpecSchema).min(1),
    bundles: z.array(BundleSpecSchema).default([]),
  })
  .superRefine((spec, ctx) => {
    const sfSlugs = new Set(spec.storefronts.map((s) => s.slug));
    if (!sfSlugs.has(spec.defaultStorefront)) {
      ctx.addIssue({ code: 'custom', path: ['defaultStorefront'], message: 'no such storefront' });
    }
    const defs = new Map(spec.entitlements.map((e) => [e.key, e]));
    spec.bundles.forEach((b, bi) => {
      b.entitlements.forEach((e, ei) => {
        const def = defs.get(e.key);
        if (!def) {
          ctx.addIssue({
            code: 'custom',
            path: ['bundles', bi, 'entitlements', ei, 'key'],
            message: 'no such entitlement',
          });
          return;
        }
        const parsed = EntitlementValueSchemas[def.type].safeParse(e.value);
        if (!parsed.success) {
          ctx.addIssue({
            code: 'custom',
            path: ['bundles', bi, 'entitlements', ei, 'value'],
            message: `not a valid ${def.type} value: ${parsed.error.issues.map((i) => i.message).join(', ')}`,
          });
        } else if (def.type === 'tier' && def.levels) {
          const level = (parsed.data as { level: string }).level;
          if (!def.levels.includes(level)) {
            ctx.addIssue({
              code: 'custom',
              path: ['bundles', bi, 'entitlements', ei, 'value', 'level'],
              message: `${level} is not a level of ${def.key} (${def.levels.join(' < ')})`,
            });
          }
        }
      });
      b.prices.forEach((p, pi) => {
        if (!sfSlugs.has(p.storefront)) {
          ctx.addIssue({
            code: 'custom',
            path: ['bundles', bi, 'prices', pi, 'storefront'],
            message: 'no such storefront',
          });
        }
      });
    });
    const seen = new Map<string, string>();
    for (const [si, sf] of spec.storefronts.entries()) {
      for (const [kind, values] of [
        ['prefix', sf.pathPrefixes],
        ['country', sf.countries],
        ['continent', sf.continents],
        ['host', sf.hosts],
      ] as const) {
        for (const v of values) {
          const k = `${kind}:${v}`;
          if (seen.has(k)) {
            ctx.addIssue({
              code: 'custom',
              path: ['storefronts', si],
              message: `${kind} ${v} is also routed to ${seen.get(k)}`,
            });
          }
          seen.set(k, sf.slug);
        }
      }
    }
  });

export type TenantSpec = z.infer<typeof TenantSpecSchema>;
export type TenantSpecInput = z.input<typeof TenantSpecSchema>;
