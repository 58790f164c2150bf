/**
 * The pipeline's rate-limit step (src/edge/pipeline.ts): which limits a request is counted
 * against (per API key, client address, customer) and counting it, exactly, through the
 * leases of ./rate-limit.ts.
 */
import type { EdgeContext, Env } from '../env';
import { ApiError } from '../errors';
import { rateLimitHeaders, rateLimitMember, sfString } from '../security/sliding-window';
import { settings } from '../settings';
import { Lru } from './lru';
import {
  durableObjectBackend,
  type HeldResult,
  type HeldSubject,
  type RateLimitTicket,
  rateLimiter,
} from './rate-limit';
import type { EdgeApiKey } from './snapshot';

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

/**
 * The checks of hot subjects, built once: per key object (one published config), the key's
 * check and, per client IP, the pair of checks a request is counted against. Reusing the
 * objects spares the work and lets {@link enforceRateLimitsFor} keep the `RateLimit-Policy`
 * value per pair.
 */
interface KeyPlan {
  storefrontId: string;
  keyLimit: number;
  ipLimit: number;
  keyCheck: RateLimitCheck;
  /** What a secret key's request is counted against: its key alone. */
  keyOnly: readonly RateLimitCheck[];
  byIp: Map<string, readonly RateLimitCheck[]>;
}
const keyPlans = new WeakMap<EdgeApiKey, KeyPlan>();
const ipSubjects = new Map<string, string>();
const MAX_CACHED_IPS = 4096;

function ipSubjectOf(headers: Headers): string {
  const raw = headers.get('cf-connecting-ip');
  if (raw === null) return UNKNOWN_IP;
  let subject = ipSubjects.get(raw);
  if (subject === undefined) {
    subject = clientIpSubject(headers);
    if (ipSubjects.size >= MAX_CACHED_IPS) ipSubjects.clear();
    ipSubjects.set(raw, subject);
  }
  return subject;
}

/**
 * The storefront API's limits for a request authenticated with `key`: per key, and per client
 * IP for a publishable key (a public client). A secret key is a tenant's backend, which sends
 * many customers' requests from few addresses: its own limit bounds it.
 */
export function apiKeyLimits(
  env: Env,
  edge: EdgeContext,
  key: EdgeApiKey,
  headers: Headers,
): readonly RateLimitCheck[] {
  const defaults = settings(env).rateLimits;
  const secret = key.kind === 'secret';
  const keyLimit = key.rateLimit ?? (secret ? defaults.secretKeyPerMinute : defaults.keyPerMinute);
  const storefrontId = edge.resolution.storefrontId;
  let plan = keyPlans.get(key);
  if (
    plan?.keyLimit !== keyLimit ||
    plan.ipLimit !== defaults.ipPerMinute ||
    plan.storefrontId !== storefrontId
  ) {
    const keyCheck: RateLimitCheck = {
      policy: 'key',
      subject: `key:${key.id}`,
      limit: keyLimit,
      windowMs: MINUTE_MS,
    };
    plan = {
      storefrontId,
      keyLimit,
      ipLimit: defaults.ipPerMinute,
      keyCheck,
      keyOnly: [keyCheck],
      byIp: new Map(),
    };
    keyPlans.set(key, plan);
  }
  if (secret) return plan.keyOnly;
  const ip = ipSubjectOf(headers);
  let checks = plan.byIp.get(ip);
  if (!checks) {
    checks = [
      plan.keyCheck,
      {
        policy: 'ip',
        subject: `ip:${storefrontId}:${ip}`,
        limit: plan.ipLimit,
        windowMs: MINUTE_MS,
      },
    ];
    if (plan.byIp.size >= MAX_CACHED_IPS) plan.byIp.clear();
    plan.byIp.set(ip, checks);
  }
  return checks;
}

/**
 * The per-customer limit in the request's tenant and storefront. The customer id comes from a
 * verified token, so one customer cannot spend another's budget.
 */
export function customerLimit(
  edge: EdgeContext,
  customerId: string,
  perMinute: number,
): RateLimitCheck {
  const { tenantId, storefrontId } = edge.resolution;
  return {
    policy: 'customer',
    subject: `cus:${tenantId}:${storefrontId}:${customerId}`,
    limit: perMinute,
    windowMs: MINUTE_MS,
  };
}

/**
 * What a request behind a customer token is counted against: the customer, and the client
 * address (a customer's app is a public client, like a publishable key).
 */
export function customerLimits(
  env: Env,
  edge: EdgeContext,
  headers: Headers,
  customerId: string,
): readonly RateLimitCheck[] {
  const limits = settings(env).rateLimits;
  const { tenantId, storefrontId } = edge.resolution;
  const ip = ipSubjectOf(headers);
  // The same checks for the same customer and address, so each check's policy member (and the
  // subjects' strings) are made once, as for API keys.
  const id = `${tenantId}:${storefrontId}:${customerId}:${ip}`;
  const held = customerPlans.get(id);
  if (
    held &&
    held[0]?.limit === limits.customerPerMinute &&
    held[1]?.limit === limits.ipPerMinute
  ) {
    return held;
  }
  const plan = [
    customerLimit(edge, customerId, limits.customerPerMinute),
    {
      policy: 'ip' as const,
      subject: `ip:${storefrontId}:${ip}`,
      limit: limits.ipPerMinute,
      windowMs: MINUTE_MS,
    },
  ];
  customerPlans.set(id, plan);
  return plan;
}

/** Customer and address → their checks (see {@link customerLimits}). */
const customerPlans = new Lru<string, RateLimitCheck[]>(4_096);

/** The policy names as structured-field strings (the only three there are). */
const POLICY_NAME: Record<RateLimitCheck['policy'], string> = {
  key: sfString('key'),
  ip: sfString('ip'),
  customer: sfString('customer'),
};

/** A check's `RateLimit-Policy` member, e.g. `"key";q=600;w=60`, computed once per check object. */
const policyMembers = new WeakMap<RateLimitCheck, string>();

function policyMember(check: RateLimitCheck): string {
  let member = policyMembers.get(check);
  if (member === undefined) {
    member = rateLimitHeaders({
      limit: check.limit,
      remaining: 0,
      resetSeconds: 0,
      windowSeconds: check.windowMs / 1000,
      policyName: check.policy,
    })['RateLimit-Policy'] as string;
    policyMembers.set(check, member);
  }
  return member;
}

/**
 * `RateLimit`, `RateLimit-Policy` (one list member per check) and, if refused, `Retry-After`,
 * in the format of {@link rateLimitHeaders} (unit-tested there). The path of a request that
 * had to wait for a lease or was refused; the usual one is {@link spendHeld}.
 */
function headersFor(
  checks: readonly RateLimitCheck[],
  tickets: readonly RateLimitTicket[],
): Record<string, string> {
  let limits = '';
  let retryAfter = 0;
  for (let i = 0; i < checks.length; i++) {
    const check = checks[i] as RateLimitCheck;
    const t = tickets[i] as RateLimitTicket;
    const sep = i === 0 ? '' : ', ';
    limits += sep + rateLimitMember(POLICY_NAME[check.policy], t.remaining, t.resetSeconds);
    if (!t.allowed) retryAfter = Math.max(retryAfter, t.retryAfterSeconds);
  }
  const headers: Record<string, string> = {
    RateLimit: limits,
    'RateLimit-Policy': policyValue(checks),
  };
  if (retryAfter > 0) headers['Retry-After'] = String(retryAfter);
  return headers;
}

const WHOSE = { key: 'this API key', ip: 'this client address', customer: 'this customer' };

/**
 * Counts the request against every check at once (in parallel). Synchronous (no promise) when
 * this isolate holds units for every check, as it does for a busy subject. Throws (or rejects
 * with) a 429 `rate_limited` problem with `Retry-After` when any of them refuses, giving the
 * units of the others back; otherwise returns the `RateLimit` headers for the response.
 */
export function enforceRateLimits(
  env: Env,
  ctx: ExecutionContext,
  checks: readonly RateLimitCheck[],
): Record<string, string> | Promise<Record<string, string>> {
  const now = rateLimiter.now();
  const held = heldSubjects(checks, now);
  if (held) return spendHeld(checks, held, now, ctx);
  const tickets: (RateLimitTicket | undefined)[] = [];
  let missing = false;
  for (const check of checks) {
    const t = rateLimiter.takeLocal(check.subject, check, ctx);
    if (t === undefined) missing = true;
    tickets.push(t);
  }
  if (!missing) return decide(checks, tickets as RateLimitTicket[]);
  const backend = durableObjectBackend(env.RATE_LIMITER);
  return Promise.all(
    checks.map((check, i) => tickets[i] ?? rateLimiter.take(backend, check.subject, check, ctx)),
  ).then((taken) => decide(checks, taken));
}

/** The subjects of every check when this isolate holds a unit for each, else undefined. */
function heldSubjects(checks: readonly RateLimitCheck[], now: number): HeldSubject[] | undefined {
  const held: HeldSubject[] = [];
  for (const check of checks) {
    const s = rateLimiter.heldSubject(check.subject, check, now);
    // Two checks of one subject might need two units: the general path counts them.
    if (!s || held.includes(s)) return undefined;
    held.push(s);
  }
  return held;
}

/**
 * The usual case: every limit is paid from leases held here, so all are allowed and only the
 * `RateLimit` value is new. The same headers {@link headersFor} builds, without tickets.
 */
function spendHeld(
  checks: readonly RateLimitCheck[],
  held: readonly HeldSubject[],
  now: number,
  ctx: ExecutionContext,
): Record<string, string> {
  let value = '';
  const result: HeldResult = { remaining: 0, resetSeconds: 0 };
  for (let i = 0; i < checks.length; i++) {
    rateLimiter.spendHeld(held[i] as HeldSubject, now, ctx, result);
    const name = POLICY_NAME[(checks[i] as RateLimitCheck).policy];
    value += (i === 0 ? '' : ', ') + rateLimitMember(name, result.remaining, result.resetSeconds);
  }
  return { RateLimit: value, 'RateLimit-Policy': policyValue(checks) };
}

/** `RateLimit-Policy` of a list of checks, kept per (reused) list. */
const policyValues = new WeakMap<readonly RateLimitCheck[], string>();

function policyValue(checks: readonly RateLimitCheck[]): string {
  let value = policyValues.get(checks);
  if (value === undefined) {
    value = checks.map(policyMember).join(', ');
    policyValues.set(checks, value);
  }
  return value;
}

/** The headers when every check allowed the request; else the 429 (giving the units back). */
function decide(
  checks: readonly RateLimitCheck[],
  tickets: readonly RateLimitTicket[],
): Record<string, string> {
  const headers = headersFor(checks, tickets);
  let refused: RateLimitCheck | undefined;
  for (let i = 0; i < checks.length; i++) {
    if (tickets[i]?.allowed === false) {
      refused = checks[i];
      break;
    }
  }
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
