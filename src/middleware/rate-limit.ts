import type { Context } from 'hono';
import { durableObjectBackend, type RateLimitTicket, rateLimiter } from '../edge/rate-limit';
import type { EdgeApiKey } from '../edge/snapshot';
import type { AppEnv, EdgeContext, Env } from '../env';
import { ApiError } from '../errors';
import { rateLimitHeaders } from '../security/sliding-window';
import { settings } from '../settings';

/** One limit a request is counted against. */
export interface RateLimitCheck {
  /** The policy's name in the `RateLimit` / `RateLimit-Policy` headers. */
  policy: 'key' | 'ip' | 'customer';
  /** The limited subject; also the name of its Durable Object. */
  subject: string;
  limit: number;
  windowMs: number;
}

const MINUTE_MS = 60_000;
/** Stands in for the client IP where Cloudflare did not set one (local development, tests). */
export const UNKNOWN_IP = 'unknown';

/**
 * The client IP as a rate-limit subject: IPv4 as is, IPv6 as its /64 (one subscriber line
 * usually has a whole /64, so single addresses would be free to rotate through).
 */
export function clientIpSubject(headers: Headers): string {
  const ip = headers.get('cf-connecting-ip')?.trim().toLowerCase();
  if (!ip || ip.length > 45 || !/^[0-9a-f:.]+$/.test(ip)) return UNKNOWN_IP;
  const v4 = ip.slice(ip.lastIndexOf(':') + 1); // also IPv4-mapped IPv6 (::ffff:1.2.3.4)
  if (ip.includes('.')) return /^\d{1,3}(?:\.\d{1,3}){3}$/.test(v4) ? v4 : UNKNOWN_IP;
  const halves = ip.split('::');
  if (halves.length > 2) return UNKNOWN_IP;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array<string>(Math.max(0, fill)).fill('0'), ...tail];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return UNKNOWN_IP;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** The storefront API's limits for a request authenticated with `key`: per key and per IP. */
export function apiKeyLimits(c: Context<AppEnv>, key: EdgeApiKey): RateLimitCheck[] {
  return apiKeyLimitsFor(c.env, c.get('edge'), key, c.req.raw.headers);
}

/** {@link apiKeyLimits} without a Hono context (the direct dispatch in src/edge/fast-path.ts). */
export function apiKeyLimitsFor(
  env: Env,
  edge: EdgeContext,
  key: EdgeApiKey,
  headers: Headers,
): RateLimitCheck[] {
  const defaults = settings(env).rateLimits;
  const storefrontId = edge.resolution.storefrontId;
  return [
    {
      policy: 'key',
      subject: `key:${key.id}`,
      limit: key.rateLimit ?? defaults.keyPerMinute,
      windowMs: MINUTE_MS,
    },
    {
      policy: 'ip',
      subject: `ip:${storefrontId}:${clientIpSubject(headers)}`,
      limit: defaults.ipPerMinute,
      windowMs: MINUTE_MS,
    },
  ];
}

/** The per-customer limit in the request's storefront (default from settings). */
export function customerLimit(
  c: Context<AppEnv>,
  customerId: string,
  perMinute = settings(c.env).rateLimits.customerPerMinute,
): RateLimitCheck {
  const storefrontId = c.get('edge').resolution.storefrontId;
  return {
    policy: 'customer',
    subject: `cus:${storefrontId}:${customerId}`,
    limit: perMinute,
    windowMs: MINUTE_MS,
  };
}

/** `RateLimit`, `RateLimit-Policy` (one list member per check) and, if refused, `Retry-After`. */
function headersFor(
  checks: readonly RateLimitCheck[],
  tickets: readonly RateLimitTicket[],
): Record<string, string> {
  const limits: string[] = [];
  const policies: string[] = [];
  let retryAfter = 0;
  checks.forEach((check, i) => {
    const t = tickets[i];
    if (!t) return;
    const h = rateLimitHeaders({
      limit: check.limit,
      remaining: t.remaining,
      resetSeconds: t.resetSeconds,
      windowSeconds: check.windowMs / 1000,
      policyName: check.policy,
    });
    limits.push(h.RateLimit ?? '');
    policies.push(h['RateLimit-Policy'] ?? '');
    if (!t.allowed) retryAfter = Math.max(retryAfter, t.retryAfterSeconds);
  });
  const headers: Record<string, string> = {
    RateLimit: limits.join(', '),
    'RateLimit-Policy': policies.join(', '),
  };
  if (retryAfter > 0) headers['Retry-After'] = String(retryAfter);
  return headers;
}

const WHOSE = { key: 'this API key', ip: 'this client address', customer: 'this customer' };

/**
 * Counts the request against every check at once (in parallel; without a round trip when the
 * isolate holds a lease). Throws a 429 `rate_limited` problem with `Retry-After` when any of
 * them refuses, giving the units of the others back; otherwise returns the `RateLimit` headers
 * for the response (see {@link appendRateLimitHeaders}).
 */
export function enforceRateLimits(
  c: Context<AppEnv>,
  checks: readonly RateLimitCheck[],
): Promise<Record<string, string>> {
  return enforceRateLimitsFor(c.env, c.executionCtx, checks);
}

/** {@link enforceRateLimits} without a Hono context. */
export async function enforceRateLimitsFor(
  env: Env,
  ctx: ExecutionContext,
  checks: readonly RateLimitCheck[],
): Promise<Record<string, string>> {
  // Usually every check is served from a lease this isolate holds: no promise, no round trip.
  const local = checks.map((check) => rateLimiter.takeLocal(check.subject, check, ctx));
  let tickets: RateLimitTicket[];
  if (local.every((t) => t !== undefined)) {
    tickets = local as RateLimitTicket[];
  } else {
    const backend = durableObjectBackend(env.RATE_LIMITER);
    tickets = await Promise.all(
      checks.map((check, i) => local[i] ?? rateLimiter.take(backend, check.subject, check, ctx)),
    );
  }
  const headers = headersFor(checks, tickets);
  const refused = checks.find((_, i) => tickets[i]?.allowed === false);
  if (refused) {
    for (const t of tickets) if (t.allowed) t.refund();
    const windowSeconds = refused.windowMs / 1000;
    throw new ApiError(
      'rate_limited',
      `Rate limit of ${WHOSE[refused.policy]} reached: ${refused.limit} requests per ${windowSeconds} s. ` +
        `Retry after ${headers['Retry-After']} s.`,
      {
        headers,
        extensions: {
          rateLimit: { policy: refused.policy, limit: refused.limit, windowSeconds },
        },
      },
    );
  }
  return headers;
}

/** Adds the headers of {@link enforceRateLimits} to the response, after those already set. */
export function appendRateLimitHeaders(c: Context<AppEnv>, headers: Record<string, string>) {
  for (const [name, value] of Object.entries(headers)) {
    if (name !== 'Retry-After') c.header(name, value, { append: true });
  }
}

/**
 * Per-customer limit for routes behind a customer token: call it in the handler (or a
 * middleware) once the customer is known. Throws 429; on success the headers are added to the
 * response the handler builds with `c.json` / `c.body`.
 */
export async function limitCustomer(
  c: Context<AppEnv>,
  customerId: string,
  perMinute?: number,
): Promise<void> {
  appendRateLimitHeaders(c, await enforceRateLimits(c, [customerLimit(c, customerId, perMinute)]));
}
