import { createRoute, type RouteConfig, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { loggableError } from '../../db/errors';
import type { AppEnv, Env } from '../../env';
import { ApiError, apiErrorBody, asApiError } from '../../errors';
import { operatorAuth } from '../../middleware/operator-auth';
import { claimIdempotencyKey, IDEMPOTENCY_KEY_RE } from '../../services/admin/idempotency';
import type { TenantPublishResult } from '../../services/publish/publish';
import { problem, safeText } from '../schemas';

/**
 * Publishes `tenantId` through its publisher object (serialized with the tenant's other
 * publishes, never with another tenant's).
 */
export function publishNow(env: Env, tenantId: string): Promise<TenantPublishResult> {
  return env.PUBLISHER.get(env.PUBLISHER.idFromName(tenantId)).publish(tenantId);
}

/** `{tenant}` in admin paths: a tenant slug or id. */
export const TenantParamSchema = z.object({
  tenant: safeText({ max: 64 })
    .min(1)
    .openapi({ description: 'Tenant slug or id', example: 'globalcorp' }),
});

export const IdempotencyHeaderSchema = z.object({
  'idempotency-key': z
    .string()
    .regex(IDEMPOTENCY_KEY_RE, '8 to 255 letters, digits or . _ : -')
    .optional()
    .openapi({
      description: 'Replays of the same request with the same key return the first result',
    }),
});

export const ReasonSchema = safeText({ max: 500, controls: 'multiline' })
  .trim()
  .min(3, 'say why (at least 3 characters); it goes into the audit trail');

export const adminProblems = {
  400: problem('Invalid input'),
  401: problem('Not signed in, or the session expired'),
  403: problem('Your role does not allow this'),
  404: problem('No such tenant, storefront or object (or not yours)'),
} as const;

export const mutationProblems = {
  ...adminProblems,
  409: problem('A request with this Idempotency-Key is still running'),
  422: problem('The Idempotency-Key was used for a different request'),
} as const;

/**
 * Runs a mutation at most once per `Idempotency-Key` (per operator and tenant); a replay gets
 * the first response with `Idempotent-Replayed: true`. Without the header it just runs.
 * `principal` is the caller the key belongs to: the signed-in operator unless given (the
 * storefront API passes its API key's id). Needs `c.var.db`.
 */
/**
 * Fields never persisted with a stored response: a key or token is shown once, in the first
 * answer, and a replay carries `null` in its place.
 */
const SHOWN_ONCE = ['secret', 'token'] as const;

function storable(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const f of SHOWN_ONCE) if (f in copy) copy[f] = null;
  return copy;
}

/** The request's `Idempotency-Key`, if it sent one; a 400 problem when it is malformed. */
export function idempotencyKeyOf(c: Context<AppEnv>): string | undefined {
  const key = c.req.header('idempotency-key');
  if (key !== undefined && !IDEMPOTENCY_KEY_RE.test(key)) {
    throw new ApiError(
      'validation_failed',
      'Idempotency-Key must be 8 to 255 letters, digits or . _ : -',
      { errors: [{ path: 'headers.idempotency-key', message: 'malformed' }] },
    );
  }
  return key;
}

export async function idempotent(
  c: Context<AppEnv>,
  tenantId: string,
  run: () => Promise<{ status: 200 | 201; body: unknown }>,
  principal?: string,
  /** What identifies the request instead of its raw body (a body with card data must not be
   * stored, even hashed). */
  requestFingerprint?: string,
): Promise<Response> {
  const key = idempotencyKeyOf(c);
  if (key === undefined) {
    const r = await run();
    return c.json(r.body as object, r.status);
  }
  // Hono caches the parsed body, so this re-reads nothing from the stream.
  const body = requestFingerprint ?? (c.req.method === 'GET' ? '' : await c.req.text());
  const instance = new URL(c.req.url).pathname;
  const claim = await claimIdempotencyKey(c.get('db'), {
    tenantId,
    principal: principal ?? c.get('operator').id,
    key,
    method: c.req.method,
    path: instance,
    body,
  });
  if (claim.kind === 'replay') {
    c.header('idempotent-replayed', 'true');
    if (claim.status >= 400) {
      return c.body(JSON.stringify(claim.body), claim.status as 400, {
        'content-type': 'application/problem+json',
      });
    }
    return c.json(claim.body as object, claim.status as 200);
  }
  let result: { status: 200 | 201; body: unknown };
  try {
    result = await run();
  } catch (err) {
    // A refusal (an API or domain error below 500) is the answer: a retry replays it.
    const refusal = asApiError(err);
    if (refusal && refusal.status < 500) {
      const problem = apiErrorBody(refusal, instance, c.get('requestId'));
      await claim.release(refusal.status, problem).catch(() => claim.abandon());
    } else {
      await claim.abandon().catch(() => {});
    }
    throw err;
  }
  // The change is committed: whatever happens to the stored copy, answer with its result (a
  // key left in progress is taken over after a minute, see claimIdempotencyKey).
  await claim.release(result.status, storable(result.body)).catch((err: unknown) => {
    console.error(
      JSON.stringify({
        level: 'warn',
        msg: 'idempotency result not stored',
        ...loggableError(err),
      }),
    );
  });
  return c.json(result.body as object, result.status);
}

/**
 * `createRoute` for the admin API: tagged Admin, behind operator authentication (bearer token
 * or console cookie + CSRF), documented with the bearer scheme.
 */
/** The responses of a list endpoint: `{ items: [...] }` of `item`, plus the admin problems. */
export function listResponses<T extends z.ZodType>(description: string, item: T) {
  return {
    200: {
      description,
      content: { 'application/json': { schema: z.object({ items: z.array(item) }) } },
    },
    ...adminProblems,
  };
}

export function adminRoute<const R extends Omit<RouteConfig, 'middleware' | 'security' | 'tags'>>(
  route: R,
) {
  return createRoute({
    ...route,
    tags: ['Admin'],
    middleware: [operatorAuth] as const,
    security: [{ bearer: [] }],
  });
}
