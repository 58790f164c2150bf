/**
 * Payment routing: the per-storefront configuration (validated on write) and the decision, a
 * pure function of the config, the payment and the providers' health.
 *
 * A route is a priority list of tiers (fallback order). Within a tier, volume is split by
 * weight (summing to exactly 100): the payment's bucket picks one provider, and the tier's other
 * providers follow by descending weight (ties in listed order), so a 70/30 split fails over to
 * the other provider before the next tier is tried. Rules are tried in order, the first whose
 * match holds wins, else `default`.
 *
 * Bucketing scheme (changing it moves live traffic between providers):
 *
 *   bucket = floor(murmur3_x86_32(utf8(paymentId), seed 0) × 10000 / 2^32)
 *
 * with the logical payment id, so retries and replays of one payment land on the same provider.
 */
import { z } from 'zod';
import { murmur3 } from '../flags/hash';
import { isCurrency } from '../lib/money';
import type { PaymentMethodType, ProviderCapabilities, RouteDecision, SkipReason } from './types';

export const ROUTING_BUCKETS = 10_000;
export const MAX_RULES = 20;
export const MAX_TIERS = 5;
export const MAX_PROVIDERS_PER_TIER = 10;
export const MAX_ATTEMPTS = 5;
export const DEFAULT_MAX_ATTEMPTS = 2;
const MAX_COUNTRIES = 250;
const MAX_CURRENCIES = 200;

/** Provider names and rule ids. */
export const RoutingNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,31}$/, 'a lower-case letter, then letters, digits or "_", at most 32');

const PaymentMethodTypeSchema = z.enum([
  'card',
  'bank_debit',
] as const satisfies readonly PaymentMethodType[]);
const CountrySchema = z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code (upper case)');
const CurrencySchema = z.string().refine(isCurrency, 'an ISO 4217 currency code we support');
const MinorUnitsSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const RouteProviderSchema = z.strictObject({
  provider: RoutingNameSchema,
  /** Share of the tier's volume, in percent. 0 is a standby: tried only on failover. */
  weight: z.number().int().min(0).max(100),
});

export const RouteTierSchema = z
  .strictObject({
    providers: z.array(RouteProviderSchema).min(1).max(MAX_PROVIDERS_PER_TIER),
  })
  .superRefine((tier, ctx) => {
    const total = tier.providers.reduce((sum, p) => sum + p.weight, 0);
    if (total !== 100) {
      ctx.addIssue({
        code: 'custom',
        path: ['providers'],
        message: `weights must sum to 100, got ${total}`,
      });
    }
  });

export const RouteSchema = z
  .strictObject({ tiers: z.array(RouteTierSchema).min(1).max(MAX_TIERS) })
  .superRefine((route, ctx) => {
    const seen = new Set<string>();
    route.tiers.forEach((tier, t) => {
      tier.providers.forEach((p, i) => {
        if (seen.has(p.provider)) {
          ctx.addIssue({
            code: 'custom',
            path: ['tiers', t, 'providers', i, 'provider'],
            message: `${p.provider} appears more than once in this route`,
          });
        }
        seen.add(p.provider);
      });
    });
  });

/**
 * What a rule matches; every given field must hold (an absent one matches anything). `countries`
 * never matches a payment without a country. Amounts are inclusive, compared in minor units of
 * the payment's own currency: give `currencies` with them unless one number means the same in
 * each currency the rule can see.
 */
export const RoutingMatchSchema = z
  .strictObject({
    methods: z.array(PaymentMethodTypeSchema).min(1).max(2).optional(),
    countries: z.array(CountrySchema).min(1).max(MAX_COUNTRIES).optional(),
    currencies: z.array(CurrencySchema).min(1).max(MAX_CURRENCIES).optional(),
    minAmount: MinorUnitsSchema.optional(),
    maxAmount: MinorUnitsSchema.optional(),
  })
  .superRefine((m, ctx) => {
    if (m.minAmount !== undefined && m.maxAmount !== undefined && m.minAmount > m.maxAmount) {
      ctx.addIssue({ code: 'custom', path: ['maxAmount'], message: 'must be ≥ minAmount' });
    }
  });

export const RoutingRuleSchema = z.strictObject({
  id: RoutingNameSchema,
  match: RoutingMatchSchema,
  route: RouteSchema,
});

export const PaymentRoutingSchema = z
  .strictObject({
    default: RouteSchema,
    rules: z.array(RoutingRuleSchema).max(MAX_RULES).default([]),
    maxAttempts: z.number().int().min(1).max(MAX_ATTEMPTS).default(DEFAULT_MAX_ATTEMPTS),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.rules.forEach((rule, i) => {
      if (rule.id === 'default') {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'id'],
          message: '"default" is reserved',
        });
      } else if (seen.has(rule.id)) {
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: 'duplicate rule id' });
      }
      seen.add(rule.id);
    });
  });

export type RouteProvider = z.infer<typeof RouteProviderSchema>;
export type RouteTier = z.infer<typeof RouteTierSchema>;
export type Route = z.infer<typeof RouteSchema>;
export type RoutingMatch = z.infer<typeof RoutingMatchSchema>;
export type RoutingRule = z.infer<typeof RoutingRuleSchema>;
/** A validated routing config (defaults applied). */
export type PaymentRouting = z.output<typeof PaymentRoutingSchema>;
/** What a writer may send (`rules` and `maxAttempts` optional). */
export type PaymentRoutingInput = z.input<typeof PaymentRoutingSchema>;

/** The payment as the router sees it. `country` and `currency` upper case, `amount` in minor units. */
export interface RoutablePayment {
  method: PaymentMethodType;
  country?: string;
  currency: string;
  amount: number;
}

export interface RoutingContext {
  /** In [0, 10000): `bucketOf(paymentId)` of the logical payment. */
  bucket: number;
  /** Providers a killswitch has turned off. */
  killed: ReadonlySet<string>;
  /** Providers whose circuit breaker is open. */
  breakerOpen: ReadonlySet<string>;
  /** The provider's adapter capabilities; undefined when no adapter is registered. */
  capabilities: (provider: string) => ProviderCapabilities | undefined;
}

/** The routing bucket of a logical payment: see the scheme at the top of this file. */
export function bucketOf(paymentId: string): number {
  return Math.floor((murmur3(paymentId) * ROUTING_BUCKETS) / 4294967296);
}

interface CompiledTier {
  /** Cumulative weights × 100: the pick is the first provider whose threshold exceeds the bucket. */
  thresholds: number[];
  /** `orders[i]`: the tier's try order when provider i is the pick. */
  orders: string[][];
  /** Descending weight, for a bucket past every threshold (a config that skipped validation). */
  byWeight: string[];
}

interface CompiledRule {
  id: string;
  /** Bit mask of accepted methods; 0: any. */
  methods: number;
  countries: ReadonlySet<string> | null;
  currencies: ReadonlySet<string> | null;
  min: number;
  max: number;
  tiers: CompiledTier[];
}

const COMPILED = Symbol('compiledRouting');

/** A routing config prepared for `decide` (from `compileRouting`). */
export interface CompiledRouting {
  readonly [COMPILED]: true;
  readonly rules: readonly CompiledRule[];
  readonly fallback: readonly CompiledTier[];
  readonly maxAttempts: number;
}

const METHOD_BITS: Record<PaymentMethodType, number> = { card: 1, bank_debit: 2 };

function compileTier(tier: RouteTier): CompiledTier {
  const names = tier.providers.map((p) => p.provider);
  const thresholds: number[] = [];
  let sum = 0;
  for (const p of tier.providers) {
    sum += p.weight * (ROUTING_BUCKETS / 100);
    thresholds.push(sum);
  }
  // Stable sort by descending weight: ties keep the listed order.
  const byWeight = tier.providers
    .map((p, i) => ({ p, i }))
    .sort((a, b) => b.p.weight - a.p.weight || a.i - b.i)
    .map(({ p }) => p.provider);
  const orders = names.map((pick) => [pick, ...byWeight.filter((n) => n !== pick)]);
  return { thresholds, orders, byWeight };
}

function compileRoute(route: Route): CompiledTier[] {
  return route.tiers.map(compileTier);
}

const cache = new WeakMap<PaymentRouting, CompiledRouting>();

/**
 * Prepares a config for `decide` (cached per config object). The config must have passed
 * `PaymentRoutingSchema`; this does not validate it again.
 */
export function compileRouting(config: PaymentRouting): CompiledRouting {
  const hit = cache.get(config);
  if (hit) return hit;
  const compiled: CompiledRouting = {
    [COMPILED]: true,
    rules: (config.rules ?? []).map((rule) => {
      let methods = 0;
      for (const m of rule.match.methods ?? []) methods |= METHOD_BITS[m];
      return {
        id: rule.id,
        methods,
        countries: rule.match.countries ? new Set(rule.match.countries) : null,
        currencies: rule.match.currencies ? new Set(rule.match.currencies) : null,
        min: rule.match.minAmount ?? Number.NEGATIVE_INFINITY,
        max: rule.match.maxAmount ?? Number.POSITIVE_INFINITY,
        tiers: compileRoute(rule.route),
      };
    }),
    fallback: compileRoute(config.default),
    maxAttempts: config.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
  };
  cache.set(config, compiled);
  return compiled;
}

function isCompiled(config: PaymentRouting | CompiledRouting): config is CompiledRouting {
  return (config as CompiledRouting)[COMPILED] === true;
}

function ruleMatches(rule: CompiledRule, payment: RoutablePayment): boolean {
  if (rule.methods !== 0 && (rule.methods & METHOD_BITS[payment.method]) === 0) return false;
  if (rule.currencies !== null && !rule.currencies.has(payment.currency)) return false;
  if (rule.countries !== null) {
    if (payment.country === undefined || !rule.countries.has(payment.country)) return false;
  }
  return payment.amount >= rule.min && payment.amount <= rule.max;
}

function supports(list: readonly string[] | '*', value: string | undefined): boolean {
  return list === '*' || (value !== undefined && list.includes(value));
}

/**
 * Why `provider` cannot take this payment, or null if it can. Checked in this order: no adapter
 * or unsupported method/currency/country (`ineligible`; a provider limited to some countries is
 * ineligible for a payment without one), `killswitch`, `breaker_open`.
 */
function skipReason(
  provider: string,
  payment: RoutablePayment,
  ctx: RoutingContext,
): SkipReason | null {
  const caps = ctx.capabilities(provider);
  if (
    caps === undefined ||
    !caps.methods.includes(payment.method) ||
    !supports(caps.currencies, payment.currency) ||
    !supports(caps.countries, payment.country)
  ) {
    return 'ineligible';
  }
  if (ctx.killed.has(provider)) return 'killswitch';
  if (ctx.breakerOpen.has(provider)) return 'breaker_open';
  return null;
}

/** The providers of the route `payment` takes (its rule's, else the default's), each once. */
export function routeProviders(
  config: PaymentRouting | CompiledRouting,
  payment: RoutablePayment,
): string[] {
  const compiled = isCompiled(config) ? config : compileRouting(config);
  const tiers = compiled.rules.find((r) => ruleMatches(r, payment))?.tiers ?? compiled.fallback;
  return [...new Set(tiers.flatMap((t) => t.byWeight))];
}

/**
 * Decides where a payment goes: the rule (first match, else 'default'), then the providers to
 * try in order, at most `maxAttempts`. Providers that cannot take the payment are skipped and
 * listed in `skipped` (once each) as they are passed over; the walk stops once `order` is full,
 * so providers after that are neither in `order` nor in `skipped`. An empty `order`: no
 * provider can take the payment.
 */
export function decide(
  config: PaymentRouting | CompiledRouting,
  payment: RoutablePayment,
  ctx: RoutingContext,
): RouteDecision {
  const compiled = isCompiled(config) ? config : compileRouting(config);
  let rule = 'default';
  let tiers = compiled.fallback;
  for (const r of compiled.rules) {
    if (ruleMatches(r, payment)) {
      rule = r.id;
      tiers = r.tiers;
      break;
    }
  }
  const max = compiled.maxAttempts;
  const bucket = ctx.bucket;
  const order: string[] = [];
  const skipped: { provider: string; reason: SkipReason }[] = [];
  for (let t = 0; t < tiers.length && order.length < max; t++) {
    const tier = tiers[t] as CompiledTier;
    let tierOrder = tier.byWeight;
    for (let i = 0; i < tier.thresholds.length; i++) {
      if (bucket < (tier.thresholds[i] as number)) {
        tierOrder = tier.orders[i] as string[];
        break;
      }
    }
    for (let i = 0; i < tierOrder.length && order.length < max; i++) {
      const provider = tierOrder[i] as string;
      // A validated route lists a provider once; these guards keep an unvalidated one sane.
      if (order.includes(provider) || skipped.some((s) => s.provider === provider)) continue;
      const reason = skipReason(provider, payment, ctx);
      if (reason === null) order.push(provider);
      else skipped.push({ provider, reason });
    }
  }
  return { rule, bucket, order, skipped };
}
