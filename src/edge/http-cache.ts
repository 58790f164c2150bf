/**
 * HTTP caching of storefront reads, as plain functions: the per-storefront, per-channel cache
 * policy (part of the storefront's config, published with its snapshot), the `Cache-Control`
 * it renders to, weak ETags and `If-None-Match` (RFC 9110 §13.1.2, §8.8.3; RFC 9111 §5.2).
 */
import { z } from 'zod';
import type { ResolvedBy } from './resolve';
import type { Channel } from './snapshot';

/** The cacheable reads a policy covers. */
export type CacheResource = 'catalog' | 'storefront' | 'jwks';

/** Bounds of a rule, in seconds: a day of freshness, a week of staleness. */
export const MAX_AGE_LIMIT = 86_400;
export const STALE_LIMIT = 604_800;

/**
 * One `Cache-Control`: `<scope>, max-age=…[, stale-while-revalidate=…][, stale-if-error=…]`.
 * `private` (the default) lets only the client's own cache (a browser, a TV app) keep it;
 * `public` lets shared caches (a partner's CDN) keep it too, see {@link cacheControlFor}.
 */
export const CacheRuleSchema = z.strictObject({
  scope: z.enum(['private', 'public']).default('private'),
  maxAge: z.number().int().min(0).max(MAX_AGE_LIMIT),
  staleWhileRevalidate: z.number().int().min(0).max(STALE_LIMIT).optional(),
  staleIfError: z.number().int().min(0).max(STALE_LIMIT).optional(),
});
export type CacheRule = z.infer<typeof CacheRuleSchema>;

/** Rules of one resource by the client's channel; `default` for channels not listed. */
const PerChannelSchema = z.strictObject({
  default: CacheRuleSchema.optional(),
  web: CacheRuleSchema.optional(),
  mobile: CacheRuleSchema.optional(),
  partner: CacheRuleSchema.optional(),
  ott: CacheRuleSchema.optional(),
} satisfies Record<Channel | 'default', unknown>);

/**
 * A storefront's cache policy. Whatever it leaves out falls back to {@link DEFAULT_CACHE_RULES}
 * (a rule given replaces the default rule whole).
 */
export const CachePolicySchema = z.strictObject({
  catalog: PerChannelSchema.optional(),
  storefront: PerChannelSchema.optional(),
  jwks: PerChannelSchema.optional(),
} satisfies Record<CacheResource, unknown>);
export type CachePolicy = z.infer<typeof CachePolicySchema>;

const BROWSE: CacheRule = { scope: 'private', maxAge: 60, staleWhileRevalidate: 300 };
/** TV apps poll rarely-changing menus: longer. */
const BROWSE_OTT: CacheRule = { scope: 'private', maxAge: 300, staleWhileRevalidate: 3600 };

/** The built-in rules (documented in the README). */
export const DEFAULT_CACHE_RULES: Record<CacheResource, Record<Channel, CacheRule>> = {
  catalog: { web: BROWSE, mobile: BROWSE, partner: BROWSE, ott: BROWSE_OTT },
  storefront: { web: BROWSE, mobile: BROWSE, partner: BROWSE, ott: BROWSE_OTT },
  jwks: Object.fromEntries(
    (['web', 'mobile', 'partner', 'ott'] as const).map((c) => [
      c,
      { scope: 'public', maxAge: 300 } satisfies CacheRule,
    ]),
  ) as Record<Channel, CacheRule>,
};

/** The rule in effect for `resource` on `channel`. */
export function cacheRule(
  policy: CachePolicy,
  resource: CacheResource,
  channel: Channel,
): CacheRule {
  const own = policy[resource];
  return own?.[channel] ?? own?.default ?? DEFAULT_CACHE_RULES[resource][channel];
}

/**
 * The `Cache-Control` value for a response of `resource` on `channel`. A response whose body
 * depends on which storefront the request resolved to is kept `private` when geography or the
 * tenant default chose it (`resolvedBy` geo / default): no cache can vary on the client's
 * location, so a shared copy would serve one region's catalog in another. The URL (host, path)
 * and `X-Storefront` (in `Vary`) are what a shared cache keys on. Pure; callers memoize it.
 */
export function cacheControlFor(
  policy: CachePolicy,
  resource: CacheResource,
  channel: Channel,
  resolvedBy: ResolvedBy | undefined,
  /** The channel the storefront itself serves; `channel` is the client's (its word). */
  storefrontChannel: Channel = channel,
): string {
  const rule = cacheRule(policy, resource, channel);
  const byLocation = resolvedBy === 'geo' || resolvedBy === 'default';
  // A client's claimed channel (X-Client-Channel, its user agent) picks the rule's times, but
  // never makes a key-authenticated read shareable: a shared cache (many ignore Vary) would
  // hand the copy to clients that never showed a key.
  const claimed = channel !== storefrontChannel && resource === 'catalog';
  const scope = rule.scope === 'public' && (byLocation || claimed) ? 'private' : rule.scope;
  let value = `${scope}, max-age=${rule.maxAge}`;
  if (rule.staleWhileRevalidate) value += `, stale-while-revalidate=${rule.staleWhileRevalidate}`;
  if (rule.staleIfError) value += `, stale-if-error=${rule.staleIfError}`;
  return value;
}

/**
 * A weak ETag for `body`: a 53-bit hash (cyrb53) of its exact text. It changes exactly when the
 * body does — snapshot version, shape and resolution are all in the body — and survives a
 * deploy that changes nothing. Weak, because what goes on the wire may be re-encoded
 * (compression), and equivalence is all `If-None-Match` needs.
 */
export function weakEtag(body: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const hash = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  return `W/"${hash.toString(36)}"`;
}

/**
 * Whether `If-None-Match` (a field value: `*` or a list of entity tags) matches `etag` by the
 * weak comparison: opaque tags equal, `W/` ignored. A malformed member ends the list (what came
 * before it still counts). Linear in the field's length.
 */
export function ifNoneMatch(field: string, etag: string): boolean {
  if (field === etag) return true; // a client sending back what it got: the usual case
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag; // with its quotes
  const n = field.length;
  let i = 0;
  while (i < n) {
    const c = field.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x2c) {
      i++; // optional whitespace and list commas
      continue;
    }
    if (c === 0x2a) return true; // `*`: any current representation
    if (c === 0x57 && field.charCodeAt(i + 1) === 0x2f) i += 2; // `W/`
    if (field.charCodeAt(i) !== 0x22) return false;
    const end = field.indexOf('"', i + 1);
    if (end === -1) return false;
    if (end + 1 - i === opaque.length && field.startsWith(opaque, i)) return true;
    i = end + 1;
  }
  return false;
}
