/**
 * Checkout, subscriptions and test clocks. Every subscription lives in its
 * SubscriptionDurableObject; this file validates, resolves what the edge already holds (the
 * bundle's price, routing, killswitches, dunning, mode) and maps results to HTTP. A checkout
 * needs no Postgres: the customer's id is derived from the email, the payment method is read
 * from its object, and the copy in Postgres follows (delayed, never lost, by an outage).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { newRouter } from '../../app';
import type { CurrentTerms, IdempotencyClaim } from '../../contracts/subscription';
import { MAX_CLOCK_ADVANCE_SECONDS } from '../../contracts/test-clock';
import { getDb } from '../../db/client';
import { subscriptions, testClocks } from '../../db/schema';
import { subscriptionStatusEnum } from '../../db/schema/enums';
import { unwrap } from '../../domain/errors';
import { requireMode } from '../../edge/key-mode';
import { killedProviders } from '../../edge/killswitch';
import type { SnapshotBundle } from '../../edge/snapshot';
import type { AppEnv } from '../../env';
import { ApiError, asApiError } from '../../errors';
import { sha256Hex } from '../../lib/crypto';
import { idFromDigest, newId } from '../../lib/ids';
import { requestDb } from '../../middleware/request-db';
import { storefront } from '../../middleware/storefront';
import type { Mode } from '../../payments/types';
import { customerIdFor, findStorefrontCustomer } from '../../services/customers/customers';
import { storefrontRouting } from '../../services/payments/record';
import { findPaymentMethod } from '../../services/payments/vault';
import type { BundleRef } from '../../services/subscriptions/record';
import { type PlanPrice, PRORATION_BEHAVIORS } from '../../subscriptions/billing';
import { DEFAULT_TRIAL } from '../../subscriptions/settings';
import { MAX_TIME, type UnixSeconds } from '../../subscriptions/time';
import { MAX_TRIAL_DAYS } from '../../subscriptions/trials';
import { IdempotencyHeaderSchema, idempotencyKeyOf, idempotent } from '../admin/support';
import { problem, StorefrontHeadersSchema, safeText, storefrontProblems } from '../schemas';

type Ctx = Context<AppEnv>;

/** A customer token's plan change may be prorated from a preview at most this old. */
const CUSTOMER_MAX_BACKDATE_SECONDS = 15 * 60;

/** OpenAPI: the secret key, or a customer token (for the customer's own). */
const SECRET_OR_CUSTOMER: Record<string, string[]>[] = [{ apiKey: [] }, { customerToken: [] }];

const SUB_ID_RE = /^sub_[0-9A-Z]{26}$/;
const CUSTOMER_ID_RE = /^cus_[0-9A-Z]{26}$/;
const PM_ID_RE = /^pm_[0-9A-Z]{26}$/;
const CLOCK_ID_RE = /^clock_[0-9A-Z]{26}$/;

const IsoTime = z.iso
  .datetime({ offset: true })
  .openapi({ description: 'ISO 8601 with a time zone, e.g. 2027-01-31T00:00:00Z' });

const SubscriptionSchema = z
  .object({
    id: z.string().openapi({ example: 'sub_01JD8Y3W5T6X2Q9R4M7N8P0K1A' }),
    object: z.literal('subscription'),
    livemode: z.boolean(),
    customerId: z.string(),
    status: z.enum(subscriptionStatusEnum.enumValues),
    bundleId: z.string(),
    bundleSlug: z.string(),
    priceId: z.string(),
    amount: z.number().int().openapi({ description: 'Minor units of `currency` per period' }),
    currency: z.string(),
    interval: z.enum(['day', 'week', 'month', 'year']),
    intervalCount: z.number().int(),
    currentPeriodStart: z.string().nullable(),
    currentPeriodEnd: z.string().nullable(),
    billingAnchor: z.string().nullable(),
    cancelAtPeriodEnd: z.boolean(),
    trialEnd: z.string().nullable(),
    billingIssue: z.boolean(),
    pausedAt: z.string().nullable(),
    resumeAt: z.string().nullable(),
    cancelledAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    creditBalance: z.number().int(),
    pendingChange: z
      .object({ bundleId: z.string(), priceId: z.string(), at: z.string() })
      .nullable(),
    latestInvoice: z
      .object({
        key: z.string(),
        amountDue: z.number().int(),
        currency: z.string(),
        paid: z.boolean(),
      })
      .nullable()
      .openapi({ description: 'The invoice still unpaid (incomplete, past due), if any' }),
    paymentMethodId: z.string().nullable(),
    testClockId: z.string().nullable(),
    targetingKey: z.string().nullable(),
    campaign: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('Subscription');

const PaymentSummarySchema = z
  .object({
    id: z.string(),
    status: z.string(),
    amount: z.number().int(),
    currency: z.string(),
    provider: z.string().nullable(),
    attempts: z.array(z.record(z.string(), z.unknown())),
  })
  .passthrough()
  .openapi('SubscriptionPayment');

const ResultSchema = z.object({
  subscription: SubscriptionSchema,
  payment: PaymentSummarySchema.nullable(),
});

/** The answer when a payment's outcome is not known yet (a provider timed out, unasked). */
const pendingResponse = {
  description:
    'The payment’s outcome is not known yet (the provider timed out and could not be asked): nothing is applied; the subscription asks again under the same key and applies the outcome once known',
  content: {
    'application/json': { schema: z.object({ subscription: z.unknown(), payment: z.unknown() }) },
  },
} as const;

const subscriptionProblems = {
  ...storefrontProblems,
  202: pendingResponse,
  402: problem(
    'The payment was declined: `payment` has its attempts, `declineCode` says why, `subscriptionId` names the subscription',
  ),
  409: problem('Not allowed in the subscription’s current status (the problem names it)'),
  422: problem('The Idempotency-Key was used for a different request'),
} as const;

const idempotentHeaders = StorefrontHeadersSchema.extend(IdempotencyHeaderSchema.shape);

const BundleRefSchema = z
  .string()
  .min(1)
  .max(80)
  .regex(/^[a-z0-9][a-z0-9_-]*$/i, 'a bundle slug or id')
  .openapi({ description: 'The bundle’s slug or id, as the catalog lists it' });

const CheckoutBodySchema = z.strictObject({
  bundleId: BundleRefSchema,
  customer: z.strictObject({ email: z.email().max(254) }).optional(),
  customerId: z.string().regex(CUSTOMER_ID_RE, 'a customer id (cus_…)').optional(),
  paymentMethodId: z.string().regex(PM_ID_RE, 'a payment method id (pm_…)').optional(),
  trialDays: z.number().int().min(1).max(MAX_TRIAL_DAYS).optional(),
  testClockId: z.string().regex(CLOCK_ID_RE, 'a test clock id (clock_…)').optional(),
  targetingKey: safeText({ max: 256 }).optional().openapi({
    description: 'The key the storefront evaluates flags with (default: the customer id)',
  }),
  campaign: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, _ . -')
    .optional(),
});

const ChangeBodySchema = z.strictObject({
  bundleId: BundleRefSchema,
  proration: z.enum(PRORATION_BEHAVIORS).default('create_prorations').openapi({
    description:
      '`create_prorations` (credit unused time, charge the remaining time on the next invoice), `always_invoice` (charged now), `none`',
  }),
  prorationDate: IsoTime.optional().openapi({
    description:
      'Prorate as of this time (from a preview): the change then charges exactly its amount',
  }),
  atPeriodEnd: z.boolean().optional().openapi({
    description: 'Defer a downgrade to the end of the period (an upgrade is always immediate)',
  }),
});

const SubParamSchema = z.object({
  id: z.string().regex(SUB_ID_RE, 'a subscription id (sub_…)'),
});

function toSeconds(iso: string, path: string): UnixSeconds {
  const t = Math.floor(Date.parse(iso) / 1000);
  if (!Number.isFinite(t) || t < 0 || t > MAX_TIME) {
    throw new ApiError('validation_failed', `${path}: not a time this API handles.`, {
      errors: [{ path, message: 'out of range' }],
    });
  }
  return t;
}

/** Who calls: the mode, and the customer when a customer token was presented. */
function caller(c: Ctx): { mode: Mode; customerId: string | null } {
  const customer = c.get('customer');
  if (customer) return { mode: customer.mode, customerId: customer.customerId };
  return { mode: c.get('apiKey').mode, customerId: null };
}

function findBundle(
  c: Ctx,
  ref: string,
): { bundle: BundleRef; price: PlanPrice; snap: SnapshotBundle } {
  const edge = c.get('edge');
  const snap = edge.snapshot.bundles.find((b) => b.id === ref || b.slug === ref);
  if (!snap) {
    throw new ApiError(
      'not_found',
      `Bundle ${ref} is not offered in this storefront (see GET /v1/catalog for what is).`,
      { errors: [{ path: 'bundleId', message: 'not offered here' }] },
    );
  }
  const currency = edge.snapshot.storefront.currency;
  if (snap.price.currency !== currency) {
    throw new ApiError(
      'validation_failed',
      `Bundle ${ref} is priced in ${snap.price.currency}; this storefront sells in ${currency}.`,
      { errors: [{ path: 'bundleId', message: 'currency mismatch' }] },
    );
  }
  return {
    bundle: {
      id: snap.id,
      slug: snap.slug,
      name: snap.name,
      entitlements: snap.entitlements.map((e) => ({
        key: e.key,
        type: e.type,
        value: e.value,
        // A tier's order, and the config version it is of (the newest order wins in the fold).
        ...(e.levels ? { levels: e.levels, levelsVersion: edge.snapshot.version } : {}),
      })),
    },
    price: {
      id: snap.price.id,
      bundleId: snap.id,
      amount: snap.price.amount,
      currency: snap.price.currency,
      interval: snap.price.interval,
      intervalCount: snap.price.intervalCount,
      name: snap.name,
    },
    snap,
  };
}

/** The storefront's charge terms and dunning as this request's edge sees them. */
function currentTermsOf(c: Ctx): CurrentTerms {
  const edge = c.get('edge');
  const sf = edge.snapshot.storefront;
  const country = edge.geo.country;
  return {
    terms: {
      routing: storefrontRouting(sf.paymentRouting, sf.paymentProviders),
      killed: [...killedProviders(edge.hot.killswitches, edge.resolution.storefrontId, edge.fresh)],
      configVersion: edge.snapshot.version,
      ...(country ? { country } : {}),
    },
    dunning: sf.subscriptions.dunning,
    refundEndsAccess: sf.subscriptions.refundEndsAccess,
  };
}

/** The subscription object of `id`, if the caller may see it (else a 404, never a 403). */
async function ownedSubscription(c: Ctx, id: string) {
  const edge = c.get('edge');
  const who = caller(c);
  const stub = c.env.SUBSCRIPTION.get(c.env.SUBSCRIPTION.idFromName(id));
  const owner = await stub.owner();
  if (
    !owner ||
    owner.tenantId !== edge.resolution.tenantId ||
    owner.storefrontId !== edge.resolution.storefrontId ||
    owner.mode !== who.mode ||
    (who.customerId !== null && owner.customerId !== who.customerId)
  ) {
    throw new ApiError(
      'not_found',
      `No subscription ${id} in this storefront (in ${who.mode} mode).`,
    );
  }
  return stub;
}

async function claimOf(c: Ctx, route: string, body: unknown): Promise<IdempotencyClaim | null> {
  const key = idempotencyKeyOf(c);
  if (key === undefined) return null;
  return { key, requestHash: await sha256Hex(JSON.stringify([route, body ?? null])) };
}

/** A result that charged and failed is the 402 problem; anything else the JSON answer. */
function answer(
  c: Ctx,
  result: {
    subscription: { id: string };
    payment: { declineCode: string | null; declineClass: string | null } | null;
    declined: boolean;
    pending?: boolean;
    replayed: boolean;
  },
  status: 200 | 201,
) {
  if (result.replayed) c.header('idempotent-replayed', 'true');
  const { subscription, payment } = result;
  if (result.declined && payment) {
    throw new ApiError(
      'payment_declined',
      payment.declineClass === 'issuer'
        ? `The card was declined (${payment.declineCode}). Ask the customer for another payment method, then POST /v1/subscriptions/${subscription.id}/payment-method.`
        : `The payment failed at every provider tried (${payment.declineCode ?? 'no provider available'}); retry with POST /v1/subscriptions/${subscription.id}/payment-method.`,
      {
        extensions: {
          declineCode: payment.declineCode,
          subscriptionId: subscription.id,
          subscription,
          payment,
        },
        ...(result.replayed ? { headers: { 'idempotent-replayed': 'true' } } : {}),
      },
    );
  }
  // The provider did not answer and could not be asked: the object asks again (under the same
  // key, never a second charge) and applies the outcome when it knows it.
  if (result.pending) return c.json({ subscription, payment }, 202);
  return c.json({ subscription, payment }, status);
}

const subscriptionRoute = <const P extends string, B extends z.ZodType>(
  path: P,
  summary: string,
  body: B,
  required: boolean,
  description = '',
) =>
  createRoute({
    method: 'post',
    path,
    tags: ['Subscriptions'],
    summary,
    description,
    middleware: [storefront({ access: 'secret_or_customer', feature: 'subscriptions' })] as const,
    security: SECRET_OR_CUSTOMER,
    request: {
      params: SubParamSchema,
      headers: idempotentHeaders,
      body: { required, content: { 'application/json': { schema: body } } },
    },
    responses: {
      200: {
        description: 'The subscription, and the payment the call made (null: none)',
        content: { 'application/json': { schema: ResultSchema } },
      },
      ...subscriptionProblems,
    },
  });

/** The body of a command that takes none. */
const NoBodySchema = z.strictObject({});

export const subscriptionRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/checkout',
      tags: ['Subscriptions'],
      summary: 'Subscribe a customer to a bundle and take the first payment',
      description:
        'Secret key, or a customer token for the customer’s own checkout. The price is the ' +
        'storefront’s price of the bundle; the first payment goes through the storefront’s ' +
        'payment routing. A declined first payment is a 402 problem with `declineCode`, ' +
        '`subscriptionId` and `payment`; the subscription stays `incomplete` for 23 hours, and ' +
        '`POST /v1/subscriptions/{id}/payment-method` retries it at once. With an ' +
        '`Idempotency-Key` (scoped to the storefront, held by the subscription’s object) a ' +
        'retry returns the first answer and never charges twice.',
      middleware: [storefront({ access: 'secret_or_customer', feature: 'checkout' })] as const,
      security: SECRET_OR_CUSTOMER,
      request: {
        headers: idempotentHeaders,
        body: { required: true, content: { 'application/json': { schema: CheckoutBodySchema } } },
      },
      responses: {
        201: {
          description: 'The subscription and its first payment (null for a trial)',
          content: { 'application/json': { schema: ResultSchema } },
        },
        ...subscriptionProblems,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const edge = c.get('edge');
      const who = caller(c);
      const tenantId = edge.resolution.tenantId;
      const storefrontId = edge.resolution.storefrontId;
      const { bundle, price, snap } = findBundle(c, body.bundleId);

      // The customer: the token's own, an existing one by id, or one named by email.
      let customer: { id: string; email: string | null };
      if (who.customerId) {
        if ((body.customerId && body.customerId !== who.customerId) || body.customer) {
          throw new ApiError(
            'forbidden',
            'A customer token checks out for its own customer only: leave out customer and customerId.',
          );
        }
        customer = { id: who.customerId, email: null };
      } else if (body.customer && body.customerId) {
        throw new ApiError('validation_failed', 'Give customer or customerId, not both.', {
          errors: [{ path: 'customerId', message: 'with customer' }],
        });
      } else if (body.customer) {
        customer = {
          id: await customerIdFor(storefrontId, body.customer.email),
          email: body.customer.email.trim(),
        };
      } else if (body.customerId) {
        const db = getDb(c.env);
        try {
          await findStorefrontCustomer(db.db, tenantId, storefrontId, body.customerId).catch(
            (err: unknown) => {
              if (asApiError(err)) throw err; // the customer is not this storefront's
              throw new ApiError(
                'unavailable',
                'The customer cannot be checked right now. Retry shortly, or check out with customer.email (which needs no lookup).',
                { headers: { 'retry-after': '5' } },
              );
            },
          );
        } finally {
          await db.close().catch(() => {});
        }
        customer = { id: body.customerId, email: null };
      } else {
        throw new ApiError(
          'validation_failed',
          'Name the customer: customer.email or customerId.',
          {
            errors: [{ path: 'customer', message: 'required' }],
          },
        );
      }

      if (who.customerId && body.trialDays !== undefined && body.trialDays !== snap.trial?.days) {
        throw new ApiError(
          'forbidden',
          'A customer token takes the bundle’s own trial only: leave out trialDays (the secret key may set it).',
        );
      }
      const trialDays = body.trialDays ?? snap.trial?.days;
      const trial = trialDays
        ? {
            days: trialDays,
            missingPaymentMethod:
              snap.trial?.missingPaymentMethod ?? DEFAULT_TRIAL.missingPaymentMethod,
          }
        : null;
      const owner = { tenantId, storefrontId, mode: who.mode };
      let paymentMethod = null;
      if (body.paymentMethodId) {
        const entry = await findPaymentMethod(c.env, owner, body.paymentMethodId);
        if (entry.customerId && entry.customerId !== customer.id) {
          throw new ApiError(
            'validation_failed',
            `Payment method ${body.paymentMethodId} belongs to another customer.`,
            { errors: [{ path: 'paymentMethodId', message: 'another customer’s' }] },
          );
        }
        paymentMethod = entry.method;
      } else {
        const trialWithoutMethod =
          trial !== null && snap.trial !== null && snap.trial.requirePaymentMethod === false;
        if (!trialWithoutMethod) {
          throw new ApiError(
            'validation_failed',
            trial
              ? `Bundle ${bundle.slug} needs a payment method even for a trial: give paymentMethodId.`
              : 'paymentMethodId is required (tokenize with POST /v1/payment-methods).',
            { errors: [{ path: 'paymentMethodId', message: 'required' }] },
          );
        }
      }

      let testClock: { id: string; now: UnixSeconds } | null = null;
      if (body.testClockId) {
        if (c.get('apiKey')) requireMode(c.get('apiKey'), 'test', 'Test clocks');
        else if (who.mode !== 'test') {
          throw new ApiError('key_mode_mismatch', 'Test clocks are available only in test mode.');
        }
        const clock = await c.env.TEST_CLOCK.get(
          c.env.TEST_CLOCK.idFromName(body.testClockId),
        ).get();
        if (!clock || clock.tenantId !== tenantId || clock.storefrontId !== storefrontId) {
          throw new ApiError('not_found', `No test clock ${body.testClockId} in this storefront.`, {
            errors: [{ path: 'testClockId', message: 'unknown here' }],
          });
        }
        testClock = { id: clock.id, now: clock.frozenTime };
      }

      const key = idempotencyKeyOf(c);
      // Scoped to the storefront and mode, not the API key: a rotated key still replays.
      const subscriptionId =
        key === undefined
          ? newId('sub')
          : idFromDigest('sub', await sha256Hex(`checkout:${storefrontId}:${who.mode}:${key}`));
      if (testClock) {
        const attached = await c.env.TEST_CLOCK.get(
          c.env.TEST_CLOCK.idFromName(testClock.id),
        ).attach(subscriptionId);
        if (attached === null) {
          throw new ApiError(
            'conflict',
            'This test clock has as many subscriptions as it may have (100).',
          );
        }
        testClock.now = attached; // after any advance under way
      }
      const current = currentTermsOf(c);
      const stub = c.env.SUBSCRIPTION.get(c.env.SUBSCRIPTION.idFromName(subscriptionId));
      const result = unwrap(
        await stub.checkout({
          subscriptionId,
          requestHash: await sha256Hex(JSON.stringify({ ...body, customer: customer.id })),
          tenantId,
          storefrontId,
          mode: who.mode,
          customer,
          bundle,
          price,
          trial,
          paymentMethod,
          terms: current.terms,
          dunning: current.dunning,
          refundEndsAccess: current.refundEndsAccess,
          testClock,
          targetingKey: body.targetingKey ?? null,
          campaign: body.campaign ?? null,
        }),
      );
      return answer(c, result, 201) as never;
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/subscriptions/{id}',
      tags: ['Subscriptions'],
      summary: 'A subscription, live from its object',
      middleware: [storefront({ access: 'secret_or_customer', feature: 'subscriptions' })] as const,
      security: SECRET_OR_CUSTOMER,
      request: { params: SubParamSchema, headers: StorefrontHeadersSchema },
      responses: {
        200: {
          description: 'The subscription',
          content: { 'application/json': { schema: SubscriptionSchema } },
        },
        ...storefrontProblems,
      },
    }),
    async (c) => {
      const stub = await ownedSubscription(c, c.req.valid('param').id);
      const view = await stub.get();
      if (!view) throw new ApiError('not_found', 'No such subscription.');
      c.header('cache-control', 'private, no-store');
      return c.json(view, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/customers/{id}/subscriptions',
      tags: ['Subscriptions'],
      summary: 'A customer’s subscriptions, newest first',
      description:
        'Found through the Postgres copy, each answered live from its object. A subscription made ' +
        'during a Postgres outage is listed once its copy has landed.',
      middleware: [
        storefront({ access: 'secret_or_customer', feature: 'subscriptions' }),
        requestDb,
      ] as const,
      security: SECRET_OR_CUSTOMER,
      request: {
        params: z.object({ id: z.string().regex(CUSTOMER_ID_RE, 'a customer id (cus_…)') }),
        query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
        headers: StorefrontHeadersSchema,
      },
      responses: {
        200: {
          description: 'The subscriptions',
          content: {
            'application/json': { schema: z.object({ items: z.array(SubscriptionSchema) }) },
          },
        },
        ...storefrontProblems,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { limit } = c.req.valid('query');
      const edge = c.get('edge');
      const who = caller(c);
      if (who.customerId !== null && who.customerId !== id) {
        throw new ApiError('not_found', `No customer ${id} in this storefront.`);
      }
      const rows = await c
        .get('db')
        .select({ id: subscriptions.id })
        .from(subscriptions)
        .where(
          and(
            eq(subscriptions.customerId, id),
            eq(subscriptions.storefrontId, edge.resolution.storefrontId),
            eq(subscriptions.tenantId, edge.resolution.tenantId),
            eq(subscriptions.mode, who.mode),
          ),
        )
        .orderBy(desc(subscriptions.createdAt))
        .limit(limit);
      const views = await Promise.all(
        rows.map((r) => c.env.SUBSCRIPTION.get(c.env.SUBSCRIPTION.idFromName(r.id)).get()),
      );
      c.header('cache-control', 'private, no-store');
      return c.json({ items: views.filter((v) => v !== null) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/subscriptions/{id}/payments',
      tags: ['Subscriptions'],
      summary: 'Every payment the subscription made, oldest first',
      middleware: [storefront({ access: 'secret_or_customer', feature: 'subscriptions' })] as const,
      security: SECRET_OR_CUSTOMER,
      request: { params: SubParamSchema, headers: StorefrontHeadersSchema },
      responses: {
        200: {
          description: 'The payments (`key` is the natural key it was charged under, once)',
          content: {
            'application/json': {
              schema: z.object({ items: z.array(z.record(z.string(), z.unknown())) }),
            },
          },
        },
        ...storefrontProblems,
      },
    }),
    async (c) => {
      const stub = await ownedSubscription(c, c.req.valid('param').id);
      c.header('cache-control', 'private, no-store');
      return c.json({ items: await stub.payments() }, 200) as never;
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/subscriptions/{id}/events',
      tags: ['Subscriptions'],
      summary: 'The subscription’s event log, in sequence order',
      middleware: [storefront({ access: 'secret_or_customer', feature: 'subscriptions' })] as const,
      security: SECRET_OR_CUSTOMER,
      request: {
        params: SubParamSchema,
        query: z.object({
          after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0).openapi({
            description: 'Events after this sequence number (page with the last one seen)',
          }),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
        headers: StorefrontHeadersSchema,
      },
      responses: {
        200: {
          description: 'Events, each with its `seq` (1, 2, 3… without gaps)',
          content: {
            'application/json': {
              schema: z.object({
                items: z.array(
                  z.object({
                    seq: z.number().int(),
                    type: z.string(),
                    data: z.record(z.string(), z.unknown()),
                    occurredAt: z.string(),
                  }),
                ),
              }),
            },
          },
        },
        ...storefrontProblems,
      },
    }),
    async (c) => {
      const stub = await ownedSubscription(c, c.req.valid('param').id);
      const q = c.req.valid('query');
      c.header('cache-control', 'private, no-store');
      return c.json({ items: await stub.events(q.after, q.limit) }, 200) as never;
    },
  )
  .openapi(
    subscriptionRoute(
      '/subscriptions/{id}/pause',
      'Pause: no billing and no access until resumed (by hand, or at resumeAt)',
      z.strictObject({ resumeAt: IsoTime.optional() }),
      false,
    ),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json') ?? {};
      const stub = await ownedSubscription(c, id);
      const resumeAt = body.resumeAt ? toSeconds(body.resumeAt, 'resumeAt') : null;
      const result = unwrap(
        await stub.command({ type: 'pause', resumeAt }, null, await claimOf(c, 'pause', body)),
      );
      return answer(c, result, 200) as never;
    },
  )
  .openapi(
    subscriptionRoute(
      '/subscriptions/{id}/resume',
      'Resume a paused subscription: a new period starts now and is charged',
      NoBodySchema,
      false,
    ),
    async (c) => {
      const stub = await ownedSubscription(c, c.req.valid('param').id);
      const result = unwrap(
        await stub.command({ type: 'resume' }, currentTermsOf(c), await claimOf(c, 'resume', null)),
      );
      return answer(c, result, 200) as never;
    },
  )
  .openapi(
    subscriptionRoute(
      '/subscriptions/{id}/cancel',
      'Cancel now, or at the end of the period',
      z.strictObject({ atPeriodEnd: z.boolean().default(false) }),
      false,
    ),
    async (c) => {
      const body = c.req.valid('json') ?? { atPeriodEnd: false };
      const stub = await ownedSubscription(c, c.req.valid('param').id);
      const result = unwrap(
        await stub.command(
          { type: 'cancel', atPeriodEnd: body.atPeriodEnd },
          null,
          await claimOf(c, 'cancel', body),
        ),
      );
      return answer(c, result, 200) as never;
    },
  )
  .openapi(
    subscriptionRoute(
      '/subscriptions/{id}/reactivate',
      'Undo a cancellation scheduled at the period end (before the period ends)',
      NoBodySchema,
      false,
    ),
    async (c) => {
      const stub = await ownedSubscription(c, c.req.valid('param').id);
      const result = unwrap(
        await stub.command({ type: 'reactivate' }, null, await claimOf(c, 'reactivate', null)),
      );
      return answer(c, result, 200) as never;
    },
  )
  .openapi(
    subscriptionRoute(
      '/subscriptions/{id}/change',
      'Change to another bundle of this storefront, prorated to the second',
      ChangeBodySchema,
      true,
      'An upgrade is a change to a higher price per unit of time (price ÷ nominal cadence length), a downgrade to a lower one. `payment` is null when nothing is charged now (create_prorations adds the proration to the next invoice; a net credit goes to the credit balance).',
    ),
    async (c) => {
      const body = c.req.valid('json');
      const stub = await ownedSubscription(c, c.req.valid('param').id);
      const { bundle, price } = findBundle(c, body.bundleId);
      const result = unwrap(
        await stub.command(
          {
            type: 'change',
            bundle,
            price,
            proration: body.proration,
            ...(body.prorationDate
              ? { prorationDate: toSeconds(body.prorationDate, 'prorationDate') }
              : {}),
            ...(body.atPeriodEnd !== undefined ? { atPeriodEnd: body.atPeriodEnd } : {}),
            ...(caller(c).customerId ? { maxBackdateSeconds: CUSTOMER_MAX_BACKDATE_SECONDS } : {}),
          },
          currentTermsOf(c),
          await claimOf(c, 'change', body),
        ),
      );
      return answer(c, result, 200) as never;
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/subscriptions/{id}/change/preview',
      tags: ['Subscriptions'],
      summary: 'What a change would charge now, line by line (nothing changes)',
      description:
        '`POST …/change` with the same body and this `prorationDate` charges exactly `amount`.',
      middleware: [storefront({ access: 'secret_or_customer', feature: 'subscriptions' })] as const,
      security: SECRET_OR_CUSTOMER,
      request: {
        params: SubParamSchema,
        headers: StorefrontHeadersSchema,
        body: { required: true, content: { 'application/json': { schema: ChangeBodySchema } } },
      },
      responses: {
        200: {
          description: 'The preview',
          content: {
            'application/json': {
              schema: z.object({
                amount: z.number().int(),
                currency: z.string(),
                prorationDate: z.string(),
                lines: z.array(
                  z.object({
                    description: z.string(),
                    amount: z.number().int(),
                    periodStart: z.string(),
                    periodEnd: z.string(),
                  }),
                ),
                direction: z.string(),
                timing: z.string(),
                addedToNextInvoice: z.number().int(),
              }),
            },
          },
        },
        ...subscriptionProblems,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const stub = await ownedSubscription(c, c.req.valid('param').id);
      const { bundle, price } = findBundle(c, body.bundleId);
      const preview = unwrap(
        await stub.preview({
          bundle,
          price,
          proration: body.proration,
          ...(body.prorationDate
            ? { prorationDate: toSeconds(body.prorationDate, 'prorationDate') }
            : {}),
          ...(body.atPeriodEnd !== undefined ? { atPeriodEnd: body.atPeriodEnd } : {}),
          ...(caller(c).customerId ? { maxBackdateSeconds: CUSTOMER_MAX_BACKDATE_SECONDS } : {}),
        }),
      );
      c.header('cache-control', 'private, no-store');
      return c.json(preview, 200);
    },
  )
  .openapi(
    subscriptionRoute(
      '/subscriptions/{id}/payment-method',
      'Set the payment method; an unpaid invoice (incomplete, past due) is retried with it at once',
      z.strictObject({ paymentMethodId: z.string().regex(PM_ID_RE, 'a payment method id (pm_…)') }),
      true,
    ),
    async (c) => {
      const body = c.req.valid('json');
      const edge = c.get('edge');
      const stub = await ownedSubscription(c, c.req.valid('param').id);
      const owner = await stub.owner();
      const entry = await findPaymentMethod(
        c.env,
        {
          tenantId: edge.resolution.tenantId,
          storefrontId: edge.resolution.storefrontId,
          mode: caller(c).mode,
        },
        body.paymentMethodId,
      );
      if (entry.customerId && entry.customerId !== owner?.customerId) {
        throw new ApiError(
          'validation_failed',
          `Payment method ${body.paymentMethodId} belongs to another customer.`,
          { errors: [{ path: 'paymentMethodId', message: 'another customer’s' }] },
        );
      }
      const result = unwrap(
        await stub.command(
          { type: 'payment_method', paymentMethod: entry.method },
          currentTermsOf(c),
          await claimOf(c, 'payment_method', body),
        ),
      );
      return answer(c, result, 200) as never;
    },
  );

const ClockSchema = z
  .object({
    id: z.string().openapi({ example: 'clock_01JD8Y3W5T6X2Q9R4M7N8P0K1A' }),
    object: z.literal('test_clock'),
    frozenTime: z.string(),
    name: z.string().nullable(),
    subscriptions: z.number().int(),
  })
  .openapi('TestClock');

function clockView(s: {
  id: string;
  frozenTime: number;
  name: string | null;
  subscriptions: string[];
}) {
  return {
    id: s.id,
    object: 'test_clock' as const,
    frozenTime: new Date(s.frozenTime * 1000).toISOString(),
    name: s.name,
    subscriptions: s.subscriptions.length,
  };
}

async function ownedClock(c: Ctx, id: string) {
  const edge = c.get('edge');
  const stub = c.env.TEST_CLOCK.get(c.env.TEST_CLOCK.idFromName(id));
  const state = await stub.get();
  if (
    !state ||
    state.tenantId !== edge.resolution.tenantId ||
    state.storefrontId !== edge.resolution.storefrontId
  ) {
    throw new ApiError('not_found', `No test clock ${id} in this storefront.`);
  }
  return { stub, state };
}

const ClockParamSchema = z.object({
  id: z.string().regex(CLOCK_ID_RE, 'a test clock id (clock_…)'),
});

export const testClockRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/test-clocks',
      tags: ['Test clocks'],
      summary: 'Create a test clock (test mode, secret key)',
      description:
        'Subscriptions created with `testClockId` read their time from the clock and never set ' +
        'alarms of their own: advancing the clock fires their renewals, trial ends, dunning ' +
        'retries, expiries and resumes, in time order.',
      middleware: [storefront({ access: 'secret', feature: 'subscriptions' }), requestDb] as const,
      security: [{ apiKey: [] }],
      request: {
        headers: idempotentHeaders,
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.strictObject({
                frozenTime: IsoTime,
                name: safeText({ max: 120 }).optional(),
              }),
            },
          },
        },
      },
      responses: {
        201: { description: 'The clock', content: { 'application/json': { schema: ClockSchema } } },
        ...storefrontProblems,
        422: problem('The Idempotency-Key was used for a different request'),
      },
    }),
    async (c) => {
      requireMode(c.get('apiKey'), 'test', 'Test clocks');
      const body = c.req.valid('json');
      const edge = c.get('edge');
      const frozenTime = toSeconds(body.frozenTime, 'frozenTime');
      return (await idempotent(
        c,
        edge.resolution.tenantId,
        async () => {
          const id = newId('clock');
          await c
            .get('db')
            .insert(testClocks)
            .values({
              id,
              tenantId: edge.resolution.tenantId,
              storefrontId: edge.resolution.storefrontId,
              name: body.name ?? null,
              frozenTime: new Date(frozenTime * 1000),
            });
          const state = await c.env.TEST_CLOCK.get(c.env.TEST_CLOCK.idFromName(id)).create({
            id,
            tenantId: edge.resolution.tenantId,
            storefrontId: edge.resolution.storefrontId,
            name: body.name ?? null,
            frozenTime,
          });
          return { status: 201, body: clockView(state) };
        },
        `storefront:${edge.resolution.storefrontId}`,
      )) as never;
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/test-clocks/{id}',
      tags: ['Test clocks'],
      summary: 'A test clock',
      middleware: [storefront({ access: 'secret', feature: 'subscriptions' })] as const,
      security: [{ apiKey: [] }],
      request: { params: ClockParamSchema, headers: StorefrontHeadersSchema },
      responses: {
        200: { description: 'The clock', content: { 'application/json': { schema: ClockSchema } } },
        ...storefrontProblems,
      },
    }),
    async (c) => {
      requireMode(c.get('apiKey'), 'test', 'Test clocks');
      const { state } = await ownedClock(c, c.req.valid('param').id);
      return c.json(clockView(state), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/test-clocks/{id}/advance',
      tags: ['Test clocks'],
      summary: 'Move a test clock forward (at most two years at a time)',
      description:
        'Fires, in time order, everything due up to `to` for every subscription on the clock, ' +
        'and answers when it is done. `fired` counts the actions (renewals, trial ends, retries, ' +
        'expiries, resumes, cancellations at period end). One advance fires at most 5,000: ' +
        'beyond that the clock stops short of `to` (its `frozenTime` says where) — advance again.',
      middleware: [storefront({ access: 'secret', feature: 'subscriptions' })] as const,
      security: [{ apiKey: [] }],
      request: {
        params: ClockParamSchema,
        headers: idempotentHeaders,
        body: {
          required: true,
          content: { 'application/json': { schema: z.strictObject({ to: IsoTime }) } },
        },
      },
      responses: {
        200: {
          description: 'The clock after the advance',
          content: {
            'application/json': {
              schema: z.object({ id: z.string(), frozenTime: z.string(), fired: z.number().int() }),
            },
          },
        },
        ...storefrontProblems,
      },
    }),
    async (c) => {
      requireMode(c.get('apiKey'), 'test', 'Test clocks');
      const { stub, state } = await ownedClock(c, c.req.valid('param').id);
      const to = toSeconds(c.req.valid('json').to, 'to');
      if (to < state.frozenTime) {
        throw new ApiError(
          'validation_failed',
          `to must not be before the clock’s time (${new Date(state.frozenTime * 1000).toISOString()}): a clock only moves forward.`,
          { errors: [{ path: 'to', message: 'before the clock' }] },
        );
      }
      if (to - state.frozenTime > MAX_CLOCK_ADVANCE_SECONDS) {
        throw new ApiError('validation_failed', 'One advance covers at most two years.', {
          errors: [{ path: 'to', message: 'more than two years ahead' }],
        });
      }
      const { state: moved, fired } = await stub.advance(to);
      // The copy of the clock's time; the clock's object is what subscriptions read.
      c.executionCtx.waitUntil(
        (async () => {
          const { db, close } = getDb(c.env);
          try {
            await db
              .update(testClocks)
              .set({ frozenTime: new Date(moved.frozenTime * 1000), updatedAt: new Date() })
              .where(eq(testClocks.id, moved.id));
          } finally {
            await close().catch(() => {});
          }
        })().catch(() => {}),
      );
      return c.json(
        { id: moved.id, frozenTime: new Date(moved.frozenTime * 1000).toISOString(), fired },
        200,
      );
    },
  );
