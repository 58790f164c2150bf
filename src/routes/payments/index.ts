/**
 * Payment methods (tokenization), payments (a charge through the storefront's routing, with
 * failover) and refunds. Every charge runs in its PaymentDurableObject; this file only
 * validates, resolves what the edge already holds (routing, killswitches, mode) and maps results
 * to HTTP.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { newRouter } from '../../app';
import { customers, paymentMethods, payments } from '../../db/schema';
import { unwrap } from '../../domain/errors';
import { killedProviders } from '../../edge/killswitch';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';
import { hmacSha256Hex, sha256Hex } from '../../lib/crypto';
import { idFromDigest, newId } from '../../lib/ids';
import { requestDb } from '../../middleware/request-db';
import { storefront } from '../../middleware/storefront';
import { normalizeCardNumber, tokenizeBankDebit, tokenizeCard } from '../../payments/cards';
import { isSandboxTestCard } from '../../payments/sandbox-cards';
import type { StoredPaymentMethod } from '../../payments/types';
import { paymentsSecret } from '../../services/payments/adapters';
import { storefrontRouting } from '../../services/payments/record';
import { storedMethodOf, vaultEntryOf } from '../../services/payments/vault';
import { IdempotencyHeaderSchema, idempotencyKeyOf, idempotent } from '../admin/support';
import {
  ProblemSchema,
  problem,
  StorefrontHeadersSchema,
  safeText,
  storefrontProblems,
} from '../schemas';

const digits = (max: number, what: string) => safeText({ max }).openapi({ description: what });

const CardInputSchema = z.strictObject({
  number: digits(32, 'The card number (spaces and dashes allowed); never stored'),
  expMonth: z.number().int().min(1).max(12),
  expYear: z.number().int().min(2000).max(2200),
  cvc: digits(8, '3 digits (4 for American Express); never stored'),
});

const BankDebitInputSchema = z.strictObject({
  accountNumber: digits(34, 'The account number; only its last 4 digits are kept'),
  routingNumber: digits(16, 'The 9-digit ABA routing number'),
});

const CUSTOMER_ID_RE = /^cus_[0-9A-Z]{26}$/;
const PAYMENT_ID_RE = /^pay_[0-9A-Z]{26}$/;
const PM_ID_RE = /^pm_[0-9A-Z]{26}$/;

const PaymentMethodInputSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('card'),
    card: CardInputSchema,
    customerId: z.string().regex(CUSTOMER_ID_RE, 'a customer id (cus_…)').optional(),
  }),
  z.strictObject({
    type: z.literal('bank_debit'),
    bankDebit: BankDebitInputSchema,
    customerId: z.string().regex(CUSTOMER_ID_RE, 'a customer id (cus_…)').optional(),
  }),
]);

const PaymentMethodSchema = z
  .object({
    id: z.string().openapi({ example: 'pm_01JD8Y3W5T6X2Q9R4M7N8P0K1A' }),
    object: z.literal('payment_method'),
    type: z.enum(['card', 'bank_debit']),
    livemode: z.boolean(),
    card: z
      .object({ brand: z.string(), last4: z.string(), expMonth: z.number(), expYear: z.number() })
      .optional(),
    bankDebit: z.object({ last4: z.string(), routingNumber: z.string() }).optional(),
    fingerprint: z.string(),
    customerId: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('PaymentMethod');

const AttemptSchema = z.object({
  provider: z.string(),
  status: z.enum(['captured', 'declined', 'error', 'unknown', 'failed']),
  declineCode: z.string().nullable(),
  declineClass: z.enum(['issuer', 'provider']).nullable(),
  latencyMs: z.number(),
  lookedUp: z.boolean(),
  settledByEvent: z
    .string()
    .optional()
    .openapi({ description: 'The provider’s webhook event that settled an unknown outcome' }),
});

const RefundSchema = z
  .object({
    id: z.string(),
    amount: z.number().int(),
    currency: z.string(),
    status: z.enum(['succeeded', 'failed']),
    reason: z.string().nullable(),
    failureReason: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('Refund');

const PaymentSchema = z
  .object({
    id: z.string().openapi({ example: 'pay_01JD8Y3W5T6X2Q9R4M7N8P0K1A' }),
    object: z.literal('payment'),
    livemode: z.boolean(),
    status: z.enum(['processing', 'succeeded', 'declined', 'failed', 'unknown']),
    amount: z.number().int().openapi({ description: 'Minor units of `currency`' }),
    currency: z.string(),
    provider: z.string().nullable(),
    customerId: z.string().nullable(),
    subscriptionId: z.string().nullable(),
    paymentMethodId: z.string(),
    declineCode: z.string().nullable(),
    declineClass: z.enum(['issuer', 'provider']).nullable(),
    attempts: z.array(AttemptSchema).openapi({
      description: 'Only providers actually called, in order',
    }),
    decision: z.object({
      configVersion: z.number(),
      rule: z.string(),
      bucket: z.number(),
      order: z.array(z.string()),
      skipped: z.array(
        z.object({
          provider: z.string(),
          reason: z.enum(['killswitch', 'breaker_open', 'ineligible']),
        }),
      ),
    }),
    amountRefunded: z.number().int(),
    refunds: z.array(RefundSchema),
    strayCaptures: z
      .array(
        z.object({
          provider: z.string(),
          amount: z.number().int(),
          refundStatus: z.enum(['succeeded', 'failed']),
          at: z.string(),
        }),
      )
      .openapi({
        description:
          'Captures a provider reported beside this payment’s result (late, after its lookup ' +
          'had found nothing), each refunded in full at once',
      }),
    createdAt: z.string(),
  })
  .openapi('Payment');

const paymentProblems = {
  ...storefrontProblems,
  402: {
    description: 'The payment was declined or failed: `payment` says why and where',
    content: {
      'application/problem+json': {
        schema: ProblemSchema.extend({ payment: PaymentSchema }).openapi('PaymentDeclinedProblem'),
      },
    },
  },
  409: problem(
    'A request with this Idempotency-Key is still running, or the payment cannot be refunded',
  ),
  422: problem('The Idempotency-Key was used for a different request'),
} as const;

type Ctx = Context<AppEnv>;

function methodView(row: typeof paymentMethods.$inferSelect) {
  const { card, bankDebit } = storedMethodOf(row);
  return {
    id: row.id,
    object: 'payment_method' as const,
    type: row.type,
    livemode: row.mode === 'live',
    ...(card ? { card } : { bankDebit }),
    fingerprint: row.fingerprint,
    customerId: row.customerId,
    createdAt: row.createdAt.toISOString(),
  };
}

async function requireCustomer(c: Ctx, customerId: string | undefined): Promise<string | null> {
  if (!customerId) return null;
  const edge = c.get('edge');
  const [row] = await c
    .get('db')
    .select({ id: customers.id })
    .from(customers)
    .where(
      and(eq(customers.id, customerId), eq(customers.storefrontId, edge.resolution.storefrontId)),
    );
  if (!row) throw new ApiError('not_found', `No customer ${customerId} in this storefront.`);
  return row.id;
}

/** The payment object of `id`, if it belongs to the caller's storefront and mode. */
async function ownedPayment(c: Ctx, id: string) {
  const edge = c.get('edge');
  const stub = c.env.PAYMENT.get(c.env.PAYMENT.idFromName(id));
  const owner = await stub.owner();
  if (
    !owner ||
    owner.tenantId !== edge.resolution.tenantId ||
    owner.storefrontId !== edge.resolution.storefrontId ||
    owner.mode !== c.get('apiKey').mode
  ) {
    throw new ApiError(
      'not_found',
      `No payment ${id} in this storefront (in ${c.get('apiKey').mode} mode).`,
    );
  }
  return stub;
}

/** The deployment's secret that keys payment-method fingerprints. */
function fingerprintSecret(c: Ctx): string {
  return paymentsSecret(c.env, 'pm-fingerprint');
}

/** A tokenization request as the idempotency store keeps it: keyed, no card data. */
async function requestFingerprintOf(
  c: Ctx,
  body: z.infer<typeof PaymentMethodInputSchema>,
): Promise<string> {
  return `pm-request:${await hmacSha256Hex(fingerprintSecret(c), JSON.stringify(body))}`;
}

/** A payment id derived from the caller's Idempotency-Key (so a retry reaches the same object). */
async function paymentIdFor(scope: string, key: string | undefined): Promise<string> {
  if (key === undefined) return newId('pay');
  return idFromDigest('pay', await sha256Hex(`payment:${scope}:${key}`));
}

export const paymentRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/payment-methods',
      tags: ['Payments'],
      summary: 'Tokenize a card or bank account (publishable or secret key)',
      description:
        'Checks the number (Luhn), expiry and CVC; keeps only the brand, last 4 digits, expiry ' +
        'and a fingerprint, never the number or the CVC. The payment method belongs to this ' +
        'storefront and to the key’s mode (test or live). In test mode the card’s number decides ' +
        'what a charge does (Stripe’s test cards: 4242424242424242 succeeds, 4000000000009995 ' +
        'insufficient funds, …); live mode refuses test cards.',
      middleware: [storefront({ access: 'publishable', feature: 'payments' }), requestDb] as const,
      security: [{ apiKey: [] }],
      request: {
        headers: StorefrontHeadersSchema.extend(IdempotencyHeaderSchema.shape),
        body: {
          required: true,
          content: { 'application/json': { schema: PaymentMethodInputSchema } },
        },
      },
      responses: {
        201: {
          description: 'The payment method',
          content: { 'application/json': { schema: PaymentMethodSchema } },
        },
        ...paymentProblems,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const edge = c.get('edge');
      const apiKey = c.get('apiKey');
      const tenantId = edge.resolution.tenantId;
      return (await idempotent(
        c,
        tenantId,
        async () => {
          if (body.type === 'card' && apiKey.mode === 'live') {
            const digits = normalizeCardNumber(body.card.number);
            if (digits && isSandboxTestCard(digits)) {
              throw new ApiError(
                'validation_failed',
                'card.number: this is a sandbox test card, which live mode refuses. Use a test key (pk_test_…) to try it.',
                { errors: [{ path: 'card.number', message: 'a test card in live mode' }] },
              );
            }
          }
          const ctx = {
            tenantId,
            mode: apiKey.mode,
            now: Date.now(),
            fingerprintSecret: fingerprintSecret(c),
          };
          const result =
            body.type === 'card'
              ? await tokenizeCard(body.card, ctx)
              : await tokenizeBankDebit(body.bankDebit, ctx);
          if (!result.ok) {
            const first = result.errors[0];
            throw new ApiError(
              'validation_failed',
              first ? `${first.path}: ${first.message}` : 'The payment method is invalid.',
              { errors: result.errors },
            );
          }
          if (body.customerId && apiKey.kind !== 'secret') {
            throw new ApiError(
              'forbidden',
              'Attaching a payment method to a customer needs the secret key (sk_…): a publishable key may only tokenize.',
            );
          }
          const customerId = await requireCustomer(c, body.customerId);
          const m = result.method;
          const [row] = await c
            .get('db')
            .insert(paymentMethods)
            .values({
              id: newId('pm'),
              tenantId,
              storefrontId: edge.resolution.storefrontId,
              customerId,
              mode: m.mode,
              type: m.type,
              details: (m.card ?? m.bankDebit ?? {}) as Record<string, string | number>,
              fingerprint: m.fingerprint,
              sandboxOutcome: m.sandboxOutcome ?? null,
              expMonth: m.card?.expMonth ?? null,
              expYear: m.card?.expYear ?? null,
            })
            .returning();
          if (!row) throw new Error('payment method insert returned nothing');
          // Its object too, so checkouts and renewals find it without Postgres.
          await c.env.PAYMENT_METHOD.get(c.env.PAYMENT_METHOD.idFromName(row.id)).save(
            vaultEntryOf(row),
          );
          return { status: 201, body: methodView(row) };
        },
        apiKey.id,
        // Never the card data, not even hashed: the keyed fingerprint stands for it.
        await requestFingerprintOf(c, body),
      )) as never;
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/payments',
      tags: ['Payments'],
      summary: 'Charge a payment method through the storefront’s payment routing (secret key)',
      description:
        'Routes by the storefront’s rules (method, country, currency, amount), weighted split ' +
        'and priority, skipping killswitched, ineligible and unhealthy providers; fails over on ' +
        'provider errors and timeouts (after looking the charge up), never on issuer declines. ' +
        'With an `Idempotency-Key` a retry returns the first result and never charges twice. ' +
        '201: succeeded; 202: the provider did not answer and the outcome is unknown; 402: ' +
        'declined or failed (the problem’s `payment` says why).',
      middleware: [storefront({ access: 'secret', feature: 'payments' }), requestDb] as const,
      security: [{ apiKey: [] }],
      request: {
        headers: StorefrontHeadersSchema.extend(IdempotencyHeaderSchema.shape),
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.strictObject({
                amount: z
                  .number()
                  .int()
                  .min(1)
                  .max(99_999_999_999)
                  .openapi({ description: 'Minor units (cents; yen have none)' }),
                currency: z
                  .string()
                  .regex(/^[A-Za-z]{3}$/, 'an ISO 4217 code')
                  .optional()
                  .openapi({ description: 'Default: the storefront’s; must be the storefront’s' }),
                paymentMethodId: z.string().regex(PM_ID_RE, 'a payment method id (pm_…)'),
                customerId: z.string().regex(CUSTOMER_ID_RE, 'a customer id (cus_…)').optional(),
                country: z
                  .string()
                  .regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2, upper case')
                  .optional()
                  .openapi({ description: 'Default: the request’s country' }),
                description: safeText({ max: 500 }).optional(),
              }),
            },
          },
        },
      },
      responses: {
        201: {
          description: 'Succeeded',
          content: { 'application/json': { schema: PaymentSchema } },
        },
        202: {
          description: 'Outcome unknown (a provider timed out and could not be asked)',
          content: { 'application/json': { schema: PaymentSchema } },
        },
        ...paymentProblems,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const edge = c.get('edge');
      const apiKey = c.get('apiKey');
      const key = idempotencyKeyOf(c);
      const sf = edge.snapshot.storefront;
      const currency = (body.currency ?? sf.currency).toUpperCase();
      if (currency !== sf.currency) {
        throw new ApiError(
          'validation_failed',
          `This storefront charges in ${sf.currency}; currency ${currency} is not accepted here.`,
          { errors: [{ path: 'currency', message: `must be ${sf.currency}` }] },
        );
      }
      const [pm] = await c
        .get('db')
        .select()
        .from(paymentMethods)
        .where(
          and(
            eq(paymentMethods.id, body.paymentMethodId),
            eq(paymentMethods.storefrontId, edge.resolution.storefrontId),
            eq(paymentMethods.mode, apiKey.mode),
          ),
        );
      if (!pm) {
        throw new ApiError(
          'not_found',
          `No payment method ${body.paymentMethodId} in this storefront (in ${apiKey.mode} mode).`,
        );
      }
      const customerId = await requireCustomer(c, body.customerId ?? pm.customerId ?? undefined);
      const method: StoredPaymentMethod = storedMethodOf(pm);
      const country = body.country ?? edge.geo.country;
      // What the caller sent, not what the edge filled in (a retry from another location must
      // still be a replay).
      const terms = {
        amount: body.amount,
        currency: body.currency?.toUpperCase() ?? null,
        pm: body.paymentMethodId,
        customerId: body.customerId ?? null,
        country: body.country ?? null,
        d: body.description ?? null,
      };
      const scope = `${edge.resolution.storefrontId}:${apiKey.mode}`;
      const paymentId = await paymentIdFor(scope, key);
      const stub = c.env.PAYMENT.get(c.env.PAYMENT.idFromName(paymentId));
      const charged = unwrap(
        await stub.charge({
          paymentId,
          requestHash: await sha256Hex(JSON.stringify(terms)),
          idempotencyKey: key ?? paymentId,
          tenantId: edge.resolution.tenantId,
          storefrontId: edge.resolution.storefrontId,
          mode: apiKey.mode,
          amount: body.amount,
          currency,
          country,
          customerId,
          subscriptionId: null,
          description: body.description,
          paymentMethod: method,
          routing: storefrontRouting(sf.paymentRouting, sf.paymentProviders),
          configVersion: edge.snapshot.version,
          killed: [
            ...killedProviders(edge.hot.killswitches, edge.resolution.storefrontId, edge.fresh),
          ],
        }),
      );
      const { payment, replayed } = charged;
      if (replayed) c.header('idempotent-replayed', 'true');
      if (payment.status === 'succeeded') return c.json(payment, 201);
      if (payment.status === 'unknown' || payment.status === 'processing')
        return c.json(payment, 202);
      throw new ApiError(
        'payment_declined',
        payment.declineClass === 'issuer'
          ? `The card was declined (${payment.declineCode}). Ask the customer for another payment method.`
          : `The payment failed at every provider tried (${payment.declineCode ?? 'no provider available'}).`,
        { extensions: { payment } },
      );
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/payments/{id}',
      tags: ['Payments'],
      summary: 'A payment, with every attempt and its routing decision (secret key)',
      middleware: [storefront({ access: 'secret', feature: 'payments' })] as const,
      security: [{ apiKey: [] }],
      request: {
        params: z.object({ id: z.string().regex(PAYMENT_ID_RE, 'a payment id (pay_…)') }),
        headers: StorefrontHeadersSchema,
      },
      responses: {
        200: {
          description: 'The payment',
          content: { 'application/json': { schema: PaymentSchema } },
        },
        ...storefrontProblems,
      },
    }),
    async (c) => {
      const stub = await ownedPayment(c, c.req.valid('param').id);
      const payment = await stub.get();
      if (!payment) throw new ApiError('not_found', 'No such payment.');
      c.header('cache-control', 'private, no-store');
      return c.json(payment, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/payments',
      tags: ['Payments'],
      summary: 'Payment history of a customer or subscription, newest first (secret key)',
      middleware: [storefront({ access: 'secret', feature: 'payments' }), requestDb] as const,
      security: [{ apiKey: [] }],
      request: {
        query: z.object({
          customerId: z.string().regex(CUSTOMER_ID_RE, 'a customer id (cus_…)').optional(),
          subscriptionId: z
            .string()
            .regex(/^sub_[0-9A-Z]{26}$/, 'a subscription id (sub_…)')
            .optional(),
          limit: z.coerce.number().int().min(1).max(100).default(20),
        }),
        headers: StorefrontHeadersSchema,
      },
      responses: {
        200: {
          description:
            'Payments (as copied to Postgres; `GET /v1/payments/{id}` is always current)',
          content: {
            'application/json': {
              schema: z.object({
                items: z.array(
                  z.object({
                    id: z.string(),
                    status: z.string(),
                    amount: z.number(),
                    currency: z.string(),
                    provider: z.string().nullable(),
                    amountRefunded: z.number(),
                    customerId: z.string().nullable(),
                    subscriptionId: z.string().nullable(),
                    createdAt: z.string(),
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
      const q = c.req.valid('query');
      const edge = c.get('edge');
      if (!q.customerId && !q.subscriptionId) {
        throw new ApiError('validation_failed', 'Give customerId or subscriptionId.', {
          errors: [{ path: 'query.customerId', message: 'required without subscriptionId' }],
        });
      }
      const conditions = [
        eq(payments.storefrontId, edge.resolution.storefrontId),
        eq(payments.mode, c.get('apiKey').mode),
      ];
      if (q.customerId) conditions.push(eq(payments.customerId, q.customerId));
      if (q.subscriptionId) conditions.push(eq(payments.subscriptionId, q.subscriptionId));
      const rows = await c
        .get('db')
        .select()
        .from(payments)
        .where(and(...conditions))
        .orderBy(desc(payments.createdAt))
        .limit(q.limit);
      c.header('cache-control', 'private, no-store');
      return c.json(
        {
          items: rows.map((r) => ({
            id: r.id,
            status: r.status,
            amount: r.amount,
            currency: r.currency,
            provider: r.provider,
            amountRefunded: r.refundedAmount,
            customerId: r.customerId,
            subscriptionId: r.subscriptionId,
            createdAt: r.createdAt.toISOString(),
          })),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/payments/{id}/refunds',
      tags: ['Payments'],
      summary: 'Refund a payment, fully or partly (secret key)',
      description:
        'Never more than was captured in all. With an `Idempotency-Key` a retry returns the first refund.',
      middleware: [storefront({ access: 'secret', feature: 'payments' })] as const,
      security: [{ apiKey: [] }],
      request: {
        params: z.object({ id: z.string().regex(PAYMENT_ID_RE, 'a payment id (pay_…)') }),
        headers: StorefrontHeadersSchema.extend(IdempotencyHeaderSchema.shape),
        body: {
          required: false,
          content: {
            'application/json': {
              schema: z.strictObject({
                amount: z
                  .number()
                  .int()
                  .min(1)
                  .max(99_999_999_999)
                  .optional()
                  .openapi({ description: 'Minor units; default: everything not yet refunded' }),
                reason: safeText({ max: 500 }).optional(),
              }),
            },
          },
        },
      },
      responses: {
        201: {
          description: 'The refund and the payment after it',
          content: {
            'application/json': {
              schema: z.object({ refund: RefundSchema, payment: PaymentSchema }),
            },
          },
        },
        ...paymentProblems,
      },
    }),
    async (c) => {
      const stub = await ownedPayment(c, c.req.valid('param').id);
      const body = c.req.valid('json') ?? {};
      const key = idempotencyKeyOf(c) ?? newId('re');
      const { refund, payment, replayed } = unwrap(
        await stub.refund({
          amount: body.amount,
          reason: body.reason ?? null,
          idempotencyKey: key,
        }),
      );
      if (replayed) c.header('idempotent-replayed', 'true');
      return c.json({ refund, payment }, 201);
    },
  );
