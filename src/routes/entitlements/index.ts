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
import { handBackLeases } from '../../edge/quota-leases';
import { isRevoked, revocations } from '../../edge/revocations';
import {
  ConsumeRequestSchema,
  CustomerIdSchema,
  consumeAnswer,
  EntitlementKeySchema,
  ServerCheckRequestSchema,
} from '../../entitlements/check-request';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';
import { sha256Hex } from '../../lib/crypto';
import { storefront } from '../../middleware/storefront';
import { IdempotencyHeaderSchema, idempotencyKeyOf } from '../admin/support';
import { problem, StorefrontHeadersSchema, safeText, storefrontProblems } from '../schemas';

type Ctx = Context<AppEnv>;

const SECRET_OR_CUSTOMER: Record<string, string[]>[] = [{ apiKey: [] }, { customerToken: [] }];

const KeySchema = EntitlementKeySchema;

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
        'its subscriptions’ status and its grants’ expiry. Answered from the customer’s ' +
        'entitlements object, never Postgres. `token` is a signed entitlements token ' +
        '(`typ: entitlements+jwt`, the tenant’s key, the same JWKS; 5 minutes) listing the active ' +
        'ones, for `GET /v1/entitlements/check` and for apps that verify it themselves; null ' +
        'only while the tenant has no signing key at the edge yet.',
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
                  version: z.number().int().openapi({
                    description: 'Grows with every change of the customer’s entitlements',
                  }),
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
      const edge = c.get('edge');
      const owner = {
        tenantId: edge.resolution.tenantId,
        storefrontId: edge.resolution.storefrontId,
        mode: customer.mode,
        customerId: customer.customerId,
      };
      const object = entitlementsOf(c, customer.customerId, customer.mode);
      await handBackLeases(c.env, owner); // what this isolate metered, counted exactly
      let read = await object.read(owner);
      // Never hand out a token the edge would refuse (issued before a tenant-wide cutoff, or
      // of a version revoked meanwhile): ask for a new one.
      if (read.token !== null && read.tokenIssuedAt !== null && read.tokenVersion !== null) {
        const list = await revocations.get(c.env.TENANT_CONFIG, owner.tenantId, c.executionCtx);
        if (isRevoked(list, owner, { ver: read.tokenVersion, iat: read.tokenIssuedAt })) {
          read = await object.read(owner, { renew: true });
        }
      }
      c.header('cache-control', 'private, no-store');
      return c.json(
        {
          customerId: customer.customerId,
          version: read.version,
          entitlements: read.entitlements,
          token: read.token,
          tokenExpiresAt: read.tokenExpiresAt,
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
              schema: ConsumeRequestSchema,
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
      if (out.ok && out.replayed) c.header('idempotent-replayed', 'true');
      return c.json(consumeAnswer(key, body.quantity, out), 200);
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
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/entitlements/events',
      tags: ['Entitlements'],
      summary: 'Changes of a customer’s entitlements, in order',
      description:
        'Every change of the customer’s active entitlements in this storefront (a subscription ' +
        'activated, renewed, in dunning, cancelled or ended; a complimentary grant; an access ' +
        'that ran out) is an event with the next `version` and the resolved entitlements after ' +
        'it, oldest first. Page with `after` (the last version seen). The newest 1,000 are kept.',
      middleware: [storefront({ access: 'secret_or_customer', feature: 'entitlements' })] as const,
      security: SECRET_OR_CUSTOMER,
      request: {
        headers: StorefrontHeadersSchema,
        query: z.object({
          customerId: CustomerIdSchema.optional(),
          after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
          limit: z.coerce.number().int().min(1).max(100).default(50),
        }),
      },
      responses: {
        200: {
          description: 'The events after `after`, oldest first',
          content: {
            'application/json': {
              schema: z
                .object({
                  customerId: z.string(),
                  events: z.array(
                    z
                      .object({
                        id: z.string(),
                        type: z.literal('customer.entitlements.updated'),
                        version: z.number().int(),
                        customerId: z.string().nullable(),
                        storefrontId: z.string().nullable(),
                        mode: z.string().nullable(),
                        createdAt: z.string(),
                        cause: z.record(z.string(), z.unknown()),
                        added: z.array(z.string()),
                        removed: z.array(z.string()),
                        changed: z.array(z.string()),
                        revokesEarlierTokens: z.boolean(),
                        entitlements: z.array(EntitlementSchema),
                      })
                      .openapi('EntitlementsEvent'),
                  ),
                  hasMore: z.boolean(),
                })
                .openapi('EntitlementsEvents'),
            },
          },
        },
        ...storefrontProblems,
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const who = subject(c, q.customerId);
      const page = await entitlementsOf(c, who.customerId, who.mode).events(q.after, q.limit + 1);
      c.header('cache-control', 'private, no-store');
      return c.json(
        {
          customerId: who.customerId,
          events: page.slice(0, q.limit),
          hasMore: page.length > q.limit,
        },
        200,
      );
    },
  );

/**
 * `GET /v1/entitlements/check?key=…` with an entitlements token, served by
 * src/edge/fast-path.ts; described here for the OpenAPI document.
 */
export const tokenCheckRoute = createRoute({
  method: 'get',
  path: '/entitlements/check',
  tags: ['Entitlements'],
  summary: 'Whether the token’s customer may use an entitlement (the token path)',
  description:
    'Answered at the edge from the signed entitlements token alone (`Authorization: Bearer ' +
    '<token>`, the `token` of `GET /v1/entitlements`): no API key, no lookup. A revoked token ' +
    '(the customer lost something since it was signed) is refused within about a second ' +
    '(401 `token_revoked`): get a new one. For a quota it says whether it is granted; only a ' +
    'consume knows how much is left.',
  security: [{ entitlementsToken: [] }],
  request: {
    headers: StorefrontHeadersSchema,
    query: z.object({ key: KeySchema }),
  },
  responses: {
    200: {
      description:
        '`allowed`, and why (`active`, `active_billing_issue`, `not_granted`, `expired`, ' +
        '`disabled`, `none`), with the entitlement as the token lists it',
      content: {
        'application/json': {
          schema: z
            .object({
              allowed: z.boolean(),
              reason: z.string(),
              customerId: z.string(),
              mode: z.enum(['test', 'live']).openapi({
                description: 'A test-mode token (issued through test keys) grants test mode only',
              }),
              entitlement: z
                .object({
                  key: z.string(),
                  type: z.enum(entitlementTypeEnum.enumValues),
                  billingIssue: z.boolean(),
                  validUntil: z.string().nullable(),
                  quota: z.object({ limit: z.number().int(), resetsAt: z.string() }).optional(),
                  slots: z.object({ count: z.number().int() }).optional(),
                  tier: z.object({ level: z.string(), detail: z.string().nullable() }).optional(),
                  enabled: z.boolean().optional(),
                })
                .nullable(),
              source: z.literal('token'),
              tokenVersion: z.number().int(),
              tokenExpiresAt: z.string(),
            })
            .openapi('EntitlementTokenCheck'),
        },
      },
    },
    ...storefrontProblems,
  },
});

/**
 * `POST /v1/entitlements/check` with a secret key, served by src/edge/fast-path.ts from the
 * edge's held views (src/edge/entitlement-views.ts); described here for the OpenAPI document.
 */
export const serverCheckRoute = createRoute({
  method: 'post',
  path: '/entitlements/check',
  tags: ['Entitlements'],
  summary: 'Whether a customer may use an entitlement (the tenant’s backend asks)',
  description:
    'Answered at the edge: a yes from the customer’s entitlements as the isolate last read ' +
    'them (at most a second ago, and never past a revocation), a no always from the ' +
    'customer’s object (so a new grant is allowed at once). For a quota, `remaining` is as of ' +
    'that read; a consume is the exact gate.',
  security: [{ apiKey: [] }],
  request: {
    headers: StorefrontHeadersSchema,
    body: {
      required: true,
      content: { 'application/json': { schema: ServerCheckRequestSchema } },
    },
  },
  responses: {
    200: {
      description:
        '`allowed`, and why (`active`, `active_billing_issue`, `not_granted`, `inactive`, ' +
        '`billing_issue`, `disabled`, `none`, `quota_exhausted`), with the entitlement when ' +
        'granted at all',
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
});
