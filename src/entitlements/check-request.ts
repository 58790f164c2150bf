/** The body of `POST /v1/entitlements/check`, shared by the fast path and the OpenAPI document. */
import { z } from '@hono/zod-openapi';
import type { ConsumeResult } from '../contracts/customer-entitlements';
import type { PipelineState } from '../edge/pipeline';
import { ApiError } from '../errors';

export const CUSTOMER_ID_RE = /^cus_[0-9A-Z]{26}$/;
/** As entitlement definitions spell keys (src/services/tenant-config/spec.ts). */
export const ENTITLEMENT_KEY_RE = /^[a-z][a-z0-9_]{0,63}$/;

export const CustomerIdSchema = z
  .string()
  .regex(CUSTOMER_ID_RE, 'a customer id (cus_…)')
  .openapi({ example: 'cus_01JD8Y3W5T6X2Q9R4M7N8P0K1A' });
export const EntitlementKeySchema = z
  .string()
  .regex(ENTITLEMENT_KEY_RE, 'an entitlement key (a-z, 0-9, _; at most 64)');

export const ServerCheckRequestSchema = z.strictObject({
  customerId: CustomerIdSchema,
  key: EntitlementKeySchema,
});

/** One consume may spend at most this much (a quota's limit is a safe integer). */
export const MAX_QUANTITY = 1_000_000_000;

export const ConsumeRequestSchema = z.strictObject({
  customerId: CustomerIdSchema.optional(),
  quantity: z.number().int().min(1).max(MAX_QUANTITY),
});

/**
 * The usual consume body (`{ quantity }` or `{ customerId, quantity }`, valid) without zod;
 * null for anything else, which the schema then judges (and words the errors of).
 */
export function quickParseConsume(
  input: unknown,
): { quantity: number; customerId?: string } | null {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return null;
  const o = input as Record<string, unknown>;
  let n = 0;
  for (const k in o) {
    if (k !== 'quantity' && k !== 'customerId') return null;
    n += 1;
  }
  const { quantity, customerId } = o;
  if (typeof quantity !== 'number' || !Number.isInteger(quantity)) return null;
  if (quantity < 1 || quantity > MAX_QUANTITY) return null;
  if (customerId === undefined) return n === 1 ? { quantity } : null;
  if (typeof customerId !== 'string' || !CUSTOMER_ID_RE.test(customerId)) return null;
  return { quantity, customerId };
}

/**
 * The customer a consume is about: a customer token's own (a `customerId` naming another is a
 * 403), or with a secret key the `customerId` given (required).
 */
export function consumeSubject(
  s: Pick<PipelineState, 'customer' | 'apiKey' | 'edge'>,
  given: string | undefined,
): { tenantId: string; storefrontId: string; mode: string; customerId: string } {
  const base = {
    tenantId: s.edge.resolution.tenantId,
    storefrontId: s.edge.resolution.storefrontId,
  };
  if (s.customer) {
    if (given !== undefined && given !== s.customer.customerId) {
      throw new ApiError('forbidden', 'A customer token meters its own customer only.');
    }
    return { ...base, customerId: s.customer.customerId, mode: s.customer.mode };
  }
  if (given === undefined) {
    throw new ApiError('validation_failed', 'customerId is required with a secret key.', {
      errors: [{ path: 'customerId', message: 'required' }],
    });
  }
  return { ...base, customerId: given, mode: s.apiKey?.mode ?? 'live' };
}

/** A consume's 200 body, or its refusal as the problem it is. */
export function consumeAnswer(
  key: string,
  quantity: number,
  out: ConsumeResult,
): { remaining: number; resetsAt: string } {
  if (out.ok) return { remaining: out.remaining, resetsAt: out.resetsAt };
  if (out.reason === 'idempotency_key_reused') {
    throw new ApiError(
      'idempotency_key_reused',
      'This Idempotency-Key was used for a consume of another key or quantity.',
    );
  }
  if (out.reason === 'quota_exhausted') {
    const headers: Record<string, string> = {};
    if (out.resetsAt) {
      const wait = Math.ceil((Date.parse(out.resetsAt) - Date.now()) / 1000);
      if (wait > 0) headers['retry-after'] = String(wait);
    }
    throw new ApiError(
      'quota_exhausted',
      `Consuming ${quantity} of ${key} would exceed the quota (${out.remaining} left).`,
      { headers, extensions: { remaining: out.remaining, resetsAt: out.resetsAt } },
    );
  }
  throw new ApiError(
    'invalid_state',
    out.reason === 'not_a_quota'
      ? `${key} is not a quota.`
      : `The customer holds no active ${key}.`,
    { extensions: { code: out.reason, state: out.reason } },
  );
}
