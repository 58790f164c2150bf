/**
 * The storefront request pipeline, defined once: an ordered list of steps that every
 * storefront request runs, whether the fast path dispatches it (src/edge/fast-path.ts) or the
 * router does (the `storefront()` middleware in src/middleware/storefront.ts). A new step (an
 * entitlement check, a checkout guard) is one more entry in {@link STEPS}.
 *
 * Each step returns nothing when it could finish from memory, or a promise when it needs I/O
 * (a cold isolate, a key not hashed here yet, a rate-limit lease). So a warm request runs the
 * whole list without a single promise, and a cold one awaits only the steps that wait.
 * Nothing here touches Postgres.
 */
import type { CustomerPrincipal, EdgeContext, Env } from '../env';
import { ApiError } from '../errors';
import { authenticateCustomer } from './customer-auth';
import { authenticateEntitlementsToken, type EntitlementsPrincipal } from './entitlements-auth';
import { authenticateKey } from './key-auth';
import { blockingKillswitch } from './killswitch';
import { apiKeyLimits, customerLimits, enforceRateLimits } from './limits';
import { type RequestTarget, resolveEdge } from './resolve-edge';
import type { EdgeApiKey, KillswitchView } from './snapshot';

/** Who may call a route. */
export type Access =
  | 'public'
  | 'publishable'
  | 'secret'
  | 'customer'
  | 'secret_or_customer'
  /** A signed entitlements token (src/edge/entitlements-auth.ts): no key, no lookup. */
  | 'entitlements_token';

/** A bearer credential that is a token (a JWT: three dot-separated parts), not an API key. */
function presentsToken(headers: Headers): boolean {
  const auth = headers.get('authorization');
  return !!auth && /^Bearer\s+[\w-]+\.[\w-]+\.[\w-]+\s*$/i.test(auth);
}

/** What a storefront route asks of the pipeline. */
export interface RoutePolicy {
  access: Access;
  /** The feature a `feature` killswitch turns off for this route (catalog, flags, checkout…). */
  feature?: string;
  /**
   * A metering route (consuming a quota): bounded by the quota and, with a secret key, by the
   * key's own limit, not by the per-customer and per-address request limits.
   */
  metered?: boolean;
}

/** One request going through the pipeline; each step fills in what it establishes. */
export interface PipelineState {
  readonly req: Request;
  readonly headers: Headers;
  readonly env: Env;
  readonly ctx: ExecutionContext;
  readonly target: RequestTarget;
  /** The tenant path prefix the request came in under, if any. */
  readonly prefix: string | undefined;
  readonly policy: RoutePolicy;
  edge: EdgeContext;
  apiKey?: EdgeApiKey;
  customer?: CustomerPrincipal;
  entitlements?: EntitlementsPrincipal;
  /** The `RateLimit` / `RateLimit-Policy` headers for the response, when limits applied. */
  rateLimit?: Record<string, string>;
}

type Step = (s: PipelineState) => undefined | Promise<void>;

/** Hands `value` to `use` now, or once it has settled: a step's result either way. */
function settle<T>(value: T | Promise<T>, use: (v: T) => void): undefined | Promise<void> {
  if (value instanceof Promise) return value.then(use);
  use(value);
  return undefined;
}

/** resolve the storefront and load its config. */
const resolve: Step = (s) =>
  settle(resolveEdge(s.req, s.headers, s.env, s.ctx, s.prefix, s.target), (edge) => {
    s.edge = edge;
  });

/** refuse what a tenant, storefront, channel or this route's feature killswitch blocks. */
const killswitches: Step = (s) => {
  const { edge } = s;
  const blocked = blockingKillswitch(
    edge.hot.killswitches,
    {
      storefrontId: edge.resolution.storefrontId,
      channel: edge.client.channel,
      feature: s.policy.feature,
    },
    edge.fresh,
  );
  if (blocked) throw killswitchProblem(blocked);
  return undefined;
};

/** the API key or the customer token the route needs. */
const authenticate: Step = (s) => {
  const { access } = s.policy;
  if (access === 'public') return undefined;
  if (access === 'entitlements_token') {
    return settle(authenticateEntitlementsToken(s.edge, s.headers, s.env, s.ctx), (p) => {
      s.entitlements = p;
    });
  }
  if (access === 'customer' || (access === 'secret_or_customer' && presentsToken(s.headers))) {
    return settle(authenticateCustomer(s.edge, s.headers), (customer) => {
      s.customer = customer;
    });
  }
  const keyAccess = access === 'secret_or_customer' ? 'secret' : access;
  return settle(authenticateKey(s.edge, s.headers, keyAccess, s.env, s.ctx), (key) => {
    s.apiKey = key;
  });
};

/** count the request against its limits (only once it is known to be allowed). */
const rateLimit: Step = (s) => {
  let checks: ReturnType<typeof apiKeyLimits> | undefined;
  if (s.apiKey) {
    checks = apiKeyLimits(s.env, s.edge, s.apiKey, s.headers);
  } else if (s.customer && !s.policy.metered) {
    checks = customerLimits(s.env, s.edge, s.headers, s.customer.customerId);
  } else if (s.entitlements) {
    checks = customerLimits(s.env, s.edge, s.headers, s.entitlements.customerId);
  }
  if (!checks) return undefined;
  return settle(enforceRateLimits(s.env, s.ctx, checks), (headers) => {
    s.rateLimit = headers;
  });
};

/** The steps, in order. Shaping (full or compact) is the route's, from `edge.client.shape`. */
export const STEPS: readonly Step[] = [resolve, killswitches, authenticate, rateLimit];

/**
 * Runs every step for a request: the finished state without a promise when no step had to
 * wait, else a promise of it. Throws (or rejects with) the first step's problem.
 */
export function runPipeline(
  req: Request,
  env: Env,
  ctx: ExecutionContext,
  target: RequestTarget,
  prefix: string | undefined,
  policy: RoutePolicy,
): PipelineState | Promise<PipelineState> {
  const s = { req, headers: req.headers, env, ctx, target, prefix, policy } as PipelineState;
  for (let i = 0; i < STEPS.length; i++) {
    const pending = (STEPS[i] as Step)(s);
    if (pending) return pending.then(() => finish(s, i + 1));
  }
  return s;
}

async function finish(s: PipelineState, from: number): Promise<PipelineState> {
  for (let i = from; i < STEPS.length; i++) await (STEPS[i] as Step)(s);
  return s;
}

export function killswitchProblem(ks: KillswitchView): ApiError {
  const what =
    ks.scope === 'tenant' || ks.scope === 'storefront'
      ? 'This storefront'
      : `The ${ks.target} ${ks.scope}`;
  return new ApiError(
    'killswitch_engaged',
    `${what} is temporarily switched off by the operator. Retry after ${ks.retryAfterSeconds} s.`,
    {
      headers: { 'retry-after': String(ks.retryAfterSeconds) },
      extensions: { killswitch: { scope: ks.scope, target: ks.target || undefined } },
    },
  );
}
