/**
 * Entitlements: what a customer may do, from their customer entitlements object (one per
 * tenant, storefront, mode and customer; durable-objects/customer-entitlements.ts), never from
 * Postgres. The subscription objects keep it up to date; this file authenticates, picks the
 * object and maps its answers to HTTP.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { newRouter } from '../../app';
import { entitlementsObjectName, type SlotResult } from '../../contracts/customer-entitlements';
import { entitlementTypeEnum } from '../../db/schema/enums';
import { allows } from '../../entitlements/fold';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';
import { sha256Hex } from '../../lib/crypto';
import { storefront } from '../../middleware/storefront';
import { IdempotencyHeaderSchema, idempotencyKeyOf } from '../admin/support';
import { problem, StorefrontHeadersSchema, safeText, storefrontProblems } from '../schemas';

type Ctx = Context<AppEnv>;

const SECRET_OR_CUSTOMER: Record<string, string[]>[] = [{ apiKey: [] }, { customerToken: [] }];
const CUSTOMER_ID_RE = /^cus_[0-9A-Z]{26}$/;
/** As entitlement definitions spell keys (src/services/tenant-config/spec.ts). */
const KEY_RE = /^[a-z][a-z0-9_]{0,63}$/;
/** One consume may spend at most this much (a quota's limit is a safe integer). */
const MAX_QUANTITY = 1_000_000_000;

const CustomerIdSchema = z
  .string()
  .regex(CUSTOMER_ID_RE, 'a customer id (cus_…)')
  .openapi({ example: 'cus_01JD8Y3W5T6X2Q9R4M7N8P0K1A' });
const KeySchema = z.string().regex(KEY_RE, 'an entitlement key (a-z, 0-9, _; at most 64)');

const EntitlementSchema = z
  .object({
    key: z.string(),
    type: z.enum(entitlementTypeEnum.enumValues),
    active: z.boolean(),
    billingIssue: z.boolean(),
    source: z.array(z.string()).openapi({
      description: 'The subscriptions (sub_…) and complimentary grants (comp_…) granting it',
    }),
    quota: z
      .object({
        limit: z.number().int(),
        used: z.number().int(),
        remaining: z.number().int(),
        resetsAt: z.string(),
      })
      .optional(),
    slots: z
      .object({ count: z.number().int(), used: z.number().int(), available: z.number().int() })
      .optional(),
    tier: z.object({ level: z.string(), detail: z.string().nullable() }).optional(),
    enabled: z.boolean().optional(),
  })
  .openapi('Entitlement');

/** The object of the customer `customerId` in this request's storefront and mode. */
function entitlementsOf(c: Ctx, customerId: string, mode: string) {
  const edge = c.get('edge');
  const ns = c.env.CUSTOMER_ENTITLEMENTS;
  return ns.get(
    ns.idFromName(
      entitlementsObjectName({
        tenantId: edge.resolution.tenantId,
        storefrontId: edge.resolution.storefrontId,
        mode,
        customerId,
      }),
    ),
  );
}

/**
 * The customer a call is about: a customer token's own (a `customerId` naming another is a
 * 403), or with a secret key the `customerId` given (required).
 */
function subject(c: Ctx, given: string | undefined): { customerId: string; mode: string } {
  const customer = c.get('customer');
  if (customer) {
    if (given !== undefined && given !== customer.customerId) {
      throw new ApiError('forbidden', 'A customer token meters its own customer only.');
    }
    return { customerId: customer.customerId, mode: customer.mode };
  }
  if (given === undefined) {
    throw new ApiError('validation_failed', 'customerId is required with a secret key.', {
      errors: [{ path: 'customerId', message: 'required' }],
    });
  }
  return { customerId: given, mode: c.get('apiKey').mode };
}

const SlotIdSchema = z.string().regex(/^slot_[0-9A-Z]{26}$/, 'a slot id (slot_…)');

const SlotCountsSchema = z.object({
  count: z.number().int(),
  used: z.number().int(),
  available: z.number().int(),
});

const SlotAnswerSchema = z
  .object({
    slot: z.object({
      id: z.string(),
      key: z.string(),
      status: z.enum(['reserved', 'confirmed']),
      label: z.string().nullable(),
      expiresAt: z.string().nullable(),
      createdAt: z.string(),
    }),
    slots: SlotCountsSchema,
  })
  .openapi('Slot');

/** A slot call's answer, or its refusal as the problem it is. */
function slotAnswer(key: string, out: SlotResult) {
  if (out.ok) return { slot: out.slot, slots: out.slots };
  if (out.reason === 'slots_exhausted') {
    throw new ApiError(
      'slots_exhausted',
      `Every slot of ${key} is taken (${out.slots?.count ?? 0} granted): release one first.`,
      {
        extensions: { slots: out.slots },
      },
    );
  }
  if (out.reason === 'no_such_slot') {
    throw new ApiError(
      'not_found',
      `No slot of ${key} with this id (a reservation that lapsed is gone).`,
    );
  }
  throw new ApiError(
    'invalid_state',
    out.reason === 'not_slots'
      ? `${key} is not a slots entitlement.`
      : `The customer holds no active ${key}.`,
    { extensions: { code: out.reason, state: out.reason } },
  );
}

export const entitlementRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/entitlements',
      tags: ['Entitlements'],
      summary: 'The signed-in customer’s entitlements in this storefront',
      description:
        'The union over the customer’s subscriptions here and an operator’s complimentary ' +
        'grants (quotas and slots add, features OR, the highest tier), each active or not by ' +
        'its subscriptions’ status and its grants’ expiry. Answered from the ' +
        'customer’s entitlements object, never Postgres. `token` and `tokenExpiresAt` (a signed ' +
        'entitlements token) are null until signed tokens ship.',
      middleware: [storefront({ access: 'customer', feature: 'entitlements' })] as const,
      security: [{ customerToken: [] }],
      request: { headers: StorefrontHeadersSchema },
      responses: {
        200: {
          description: 'The customer’s entitlements',
          content: {
            'application/json': {
              schema: z
                .object({
                  customerId: z.string(),
                  entitlements: z.array(EntitlementSchema),
                  token: z.string().nullable(),
                  tokenExpiresAt: z.string().nullable(),
                })
                .openapi('Entitlements'),
            },
          },
        },
        ...storefrontProblems,
      },
    }),
    async (c) => {
      const customer = c.get('customer');
      const entitlements = await entitlementsOf(c, customer.customerId, customer.mode).list();
      c.header('cache-control', 'private, no-store');
      return c.json(
        { customerId: customer.customerId, entitlements, token: null, tokenExpiresAt: null },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/entitlements/check',
      tags: ['Entitlements'],
      summary: 'Whether a customer may use an entitlement (the tenant’s backend asks)',
      middleware: [storefront({ access: 'secret', feature: 'entitlements' })] as const,
      security: [{ apiKey: [] }],
      request: {
        headers: StorefrontHeadersSchema,
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.strictObject({ customerId: CustomerIdSchema, key: KeySchema }),
            },
          },
        },
      },
      responses: {
        200: {
          description:
            '`allowed`, and why (`active`, `active_billing_issue`, `not_granted`, `inactive`, ' +
            '`billing_issue`, `disabled`, `none`), with the entitlement when granted at all',
          content: {
            'application/json': {
              schema: z
                .object({
                  allowed: z.boolean(),
                  reason: z.string(),
                  entitlement: EntitlementSchema.nullable(),
                })
                .openapi('EntitlementCheck'),
            },
          },
        },
        ...storefrontProblems,
      },
    }),
    async (c) => {
      const { customerId, key } = c.req.valid('json');
      const all = await entitlementsOf(c, customerId, c.get('apiKey').mode).list();
      const e = all.find((x) => x.key === key) ?? null;
      const quotaLeft = !e?.quota || e.quota.remaining > 0;
      const decision = allows(e);
      c.header('cache-control', 'private, no-store');
      return c.json(
        {
          allowed: decision.allowed && quotaLeft,
          reason: decision.allowed && !quotaLeft ? 'quota_exhausted' : decision.reason,
          entitlement: e,
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/entitlements/{key}/consume',
      tags: ['Entitlements'],
      summary: 'Spend units of a quota, all or nothing',
      description:
        'With a customer token, the customer’s own quota; with a secret key, `customerId`’s. ' +
        'Exact under concurrency (the customer’s object serializes consumes). Bounded by the ' +
        'quota and the key’s own rate limit, not by per-address or per-customer limits. When ' +
        'the quota would be exceeded: a 429 `quota_exhausted` with `resetsAt`, nothing spent. ' +
        'With an `Idempotency-Key`, a retry of a consume that succeeded answers the same without ' +
        'spending again (for 24 hours); the same key with another key or quantity is a 422.',
      middleware: [
        storefront({ access: 'secret_or_customer', feature: 'entitlements', metered: true }),
      ] as const,
      security: SECRET_OR_CUSTOMER,
      request: {
        headers: StorefrontHeadersSchema.extend(IdempotencyHeaderSchema.shape),
        params: z.object({ key: KeySchema }),
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.strictObject({
                customerId: CustomerIdSchema.optional(),
                quantity: z.number().int().min(1).max(MAX_QUANTITY),
              }),
            },
          },
        },
      },
      responses: {
        200: {
          description: 'Spent: what remains of the quota, and when it resets',
          content: {
            'application/json': {
              schema: z
                .object({ remaining: z.number().int(), resetsAt: z.string() })
                .openapi('QuotaConsumed'),
            },
          },
        },
        ...storefrontProblems,
        409: problem('The customer holds no active quota of this key (`reason`)'),
        422: problem('The Idempotency-Key was used for another consume'),
        429: problem(
          '`quota_exhausted`: the quota would be exceeded, nothing spent (`remaining`, ' +
            '`resetsAt`); or a rate limit of the key',
        ),
      },
    }),
    async (c) => {
      const { key } = c.req.valid('param');
      const body = c.req.valid('json');
      const who = subject(c, body.customerId);
      const idem = idempotencyKeyOf(c);
      const claim = idem
        ? { key: idem, requestHash: await sha256Hex(JSON.stringify([key, body.quantity])) }
        : null;
      const out = await entitlementsOf(c, who.customerId, who.mode).consume(
        key,
        body.quantity,
        claim,
      );
      c.header('cache-control', 'no-store');
      if (out.ok) {
        if (out.replayed) c.header('idempotent-replayed', 'true');
        return c.json({ remaining: out.remaining, resetsAt: out.resetsAt }, 200);
      }
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
          `Consuming ${body.quantity} of ${key} would exceed the quota (${out.remaining} left).`,
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
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/entitlements/{key}/slots',
      tags: ['Entitlements'],
      summary: 'Reserve a slot (a lease), or take it for good with `confirm`',
      description:
        'Never more reserved and confirmed slots than the customer is granted: the last one ' +
        'taken is a 409 `slots_exhausted`. An unconfirmed reservation lapses after ' +
        '`leaseSeconds` (default 300) and frees its slot; `POST …/{slotId}/confirm` keeps it ' +
        'until released.',
      middleware: [storefront({ access: 'secret_or_customer', feature: 'entitlements' })] as const,
      security: SECRET_OR_CUSTOMER,
      request: {
        headers: StorefrontHeadersSchema,
        params: z.object({ key: KeySchema }),
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.strictObject({
                customerId: CustomerIdSchema.optional(),
                leaseSeconds: z.number().int().min(1).max(86_400).default(300),
                label: safeText({ max: 200 }).optional(),
                confirm: z.boolean().default(false),
              }),
            },
          },
        },
      },
      responses: {
        201: {
          description: 'The slot, and the slots after it',
          content: { 'application/json': { schema: SlotAnswerSchema } },
        },
        ...storefrontProblems,
        409: problem('`slots_exhausted`, or the customer holds no active slots of this key'),
      },
    }),
    async (c) => {
      const { key } = c.req.valid('param');
      const body = c.req.valid('json');
      const who = subject(c, body.customerId);
      const out = await entitlementsOf(c, who.customerId, who.mode).reserveSlot(key, {
        leaseSeconds: body.leaseSeconds,
        label: body.label ?? null,
        confirm: body.confirm,
      });
      c.header('cache-control', 'no-store');
      return c.json(slotAnswer(key, out), 201);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/entitlements/{key}/slots/{slotId}/confirm',
      tags: ['Entitlements'],
      summary: 'Confirm a reserved slot: it no longer lapses',
      middleware: [storefront({ access: 'secret_or_customer', feature: 'entitlements' })] as const,
      security: SECRET_OR_CUSTOMER,
      request: {
        headers: StorefrontHeadersSchema,
        params: z.object({ key: KeySchema, slotId: SlotIdSchema }),
        query: z.object({ customerId: CustomerIdSchema.optional() }),
      },
      responses: {
        200: {
          description: 'The slot',
          content: { 'application/json': { schema: SlotAnswerSchema } },
        },
        ...storefrontProblems,
      },
    }),
    async (c) => {
      const { key, slotId } = c.req.valid('param');
      const who = subject(c, c.req.valid('query').customerId);
      const out = await entitlementsOf(c, who.customerId, who.mode).confirmSlot(key, slotId);
      c.header('cache-control', 'no-store');
      return c.json(slotAnswer(key, out), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/entitlements/{key}/slots/{slotId}',
      tags: ['Entitlements'],
      summary: 'Release a slot (reserved or confirmed)',
      middleware: [storefront({ access: 'secret_or_customer', feature: 'entitlements' })] as const,
      security: SECRET_OR_CUSTOMER,
      request: {
        headers: StorefrontHeadersSchema,
        params: z.object({ key: KeySchema, slotId: SlotIdSchema }),
        query: z.object({ customerId: CustomerIdSchema.optional() }),
      },
      responses: {
        200: {
          description: 'The released slot, and the slots after it',
          content: { 'application/json': { schema: SlotAnswerSchema } },
        },
        ...storefrontProblems,
      },
    }),
    async (c) => {
      const { key, slotId } = c.req.valid('param');
      const who = subject(c, c.req.valid('query').customerId);
      const out = await entitlementsOf(c, who.customerId, who.mode).releaseSlot(key, slotId);
      c.header('cache-control', 'no-store');
      return c.json(slotAnswer(key, out), 200);
    },
  );
