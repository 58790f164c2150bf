/**
 * Customers for the operator console: search by email or id, a customer with their
 * subscriptions, and a subscription's payments with the routing decision of each — read from the
 * Postgres copies. A storefront-scoped operator sees the customers of their storefronts only.
 */
import { z } from '@hono/zod-openapi';
import { newRouter } from '../../app';
import {
  billingIntervalEnum,
  keyModeEnum,
  paymentStatusEnum,
  subscriptionStatusEnum,
} from '../../db/schema/enums';
import { ApiError } from '../../errors';
import {
  customerSubscriptions,
  findTenantCustomer,
  findTenantSubscription,
  MAX_SEARCH_RESULTS,
  MAX_SUBSCRIPTION_PAYMENTS,
  searchCustomers,
  subscriptionPayments,
} from '../../services/admin/customers';
import { safeText } from '../schemas';
import { authorizeScope, readableStorefronts } from './authorize';
import { adminProblems, adminRoute, TenantParamSchema } from './support';

const CustomerIdSchema = z
  .string()
  .regex(/^cus_[0-9A-Z]{26}$/, 'a customer id (cus_…)')
  .openapi({ example: 'cus_01J8Z3X4ZK7M2N5P6Q7R8S9T0V' });
const SubscriptionIdSchema = z
  .string()
  .regex(/^sub_[0-9A-Z]{26}$/, 'a subscription id (sub_…)')
  .openapi({ example: 'sub_01J8Z3X4ZK7M2N5P6Q7R8S9T0V' });

const StorefrontRefSchema = z.object({ id: z.string(), slug: z.string(), name: z.string() });

const CustomerSummarySchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string().nullable(),
    externalId: z.string().nullable(),
    storefront: StorefrontRefSchema,
    subscriptionCount: z.number().int(),
    createdAt: z.string(),
  })
  .openapi('AdminCustomer');

const AdminSubscriptionSchema = z
  .object({
    id: z.string(),
    status: z.enum(subscriptionStatusEnum.enumValues),
    mode: z.enum(keyModeEnum.enumValues),
    bundle: z.object({ id: z.string(), slug: z.string(), name: z.string() }),
    price: z.object({
      id: z.string(),
      amount: z.number().int().openapi({ description: 'minor units of `currency`' }),
      currency: z.string().openapi({ example: 'USD' }),
      interval: z.enum(billingIntervalEnum.enumValues),
      intervalCount: z.number().int(),
    }),
    currentPeriodStart: z.string().nullable(),
    currentPeriodEnd: z.string().nullable(),
    nextRenewalAt: z.string().nullable().openapi({
      description:
        'When it next bills by itself: the period end (active) or trial end (trialing); null when cancelling at the period end, past due (dunning decides), paused or over',
    }),
    trialEnd: z.string().nullable(),
    cancelAtPeriodEnd: z.boolean(),
    cancelledAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    pausedAt: z.string().nullable(),
    billingIssue: z.boolean(),
    creditBalance: z.number().int(),
    testClockId: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('AdminSubscription');

const SkippedSchema = z.object({
  provider: z.string(),
  reason: z.enum(['killswitch', 'breaker_open', 'ineligible']),
});

const AdminPaymentSchema = z
  .object({
    id: z.string(),
    status: z.enum(paymentStatusEnum.enumValues),
    mode: z.enum(keyModeEnum.enumValues),
    amount: z.number().int(),
    currency: z.string(),
    amountRefunded: z.number().int(),
    provider: z.string().nullable().openapi({ description: 'The provider that settled it' }),
    declineCode: z.string().nullable(),
    declineClass: z.string().nullable(),
    idempotencyKey: z.string().openapi({
      description: 'The natural key the subscription charged under (`attempt:renewal:<start>:0`)',
    }),
    decision: z
      .object({
        configVersion: z.number().int(),
        rule: z.string().openapi({ description: 'The routing rule that matched, or `default`' }),
        bucket: z.number().int().openapi({ description: 'The payment’s bucket in [0, 10000)' }),
        order: z.array(z.string()).openapi({ description: 'The providers to try, in order' }),
        skipped: z.array(SkippedSchema),
      })
      .nullable()
      .openapi({ description: 'Why the payment went where it went (saved before any charge)' }),
    attempts: z.array(
      z.object({
        seq: z.number().int(),
        provider: z.string(),
        status: z.string(),
        declineCode: z.string().nullable(),
        declineClass: z.string().nullable(),
        latencyMs: z.number().int(),
        lookedUp: z.boolean(),
        createdAt: z.string(),
      }),
    ),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('AdminPayment');

export const customerAdminRoutes = newRouter()
  .openapi(
    adminRoute({
      method: 'get',
      path: '/tenants/{tenant}/customers',
      summary:
        'Find customers by email (a prefix) or by id (of the customer, a subscription or a payment)',
      description:
        'In email order, at most `limit` (≤ 50). A storefront-scoped operator searches their ' +
        'storefronts only; `storefront` narrows the search to one.',
      request: {
        params: TenantParamSchema,
        query: z.object({
          query: safeText({ max: 254 })
            .trim()
            .min(1, 'type an email (or its start) or an id')
            .openapi({ example: 'ada.active@' }),
          storefront: safeText({ max: 64 })
            .optional()
            .openapi({ description: 'Storefront slug or id' }),
          limit: z.coerce.number().int().min(1).max(MAX_SEARCH_RESULTS).default(20),
        }),
      },
      responses: {
        200: {
          description: 'The customers found',
          content: {
            'application/json': { schema: z.object({ items: z.array(CustomerSummarySchema) }) },
          },
        },
        ...adminProblems,
      },
    }),
    async (c) => {
      const { tenant: ref } = c.req.valid('param');
      const q = c.req.valid('query');
      const { tenant, storefrontIds } = await readableStorefronts(
        c,
        ref,
        'customer.read',
        q.storefront,
      );
      const items = await searchCustomers(c.get('db'), {
        tenantId: tenant.id,
        query: q.query,
        storefrontIds,
        limit: q.limit,
      });
      return c.json({ items }, 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/tenants/{tenant}/customers/{customer}',
      summary: 'A customer and their subscriptions (state, next renewal, bundle, price)',
      request: { params: TenantParamSchema.extend({ customer: CustomerIdSchema }) },
      responses: {
        200: {
          description: 'The customer',
          content: {
            'application/json': {
              schema: z.object({
                customer: CustomerSummarySchema.omit({ subscriptionCount: true }),
                subscriptions: z.array(AdminSubscriptionSchema),
              }),
            },
          },
        },
        ...adminProblems,
      },
    }),
    async (c) => {
      const { tenant: ref, customer: id } = c.req.valid('param');
      const db = c.get('db');
      // The tenant first (404 for one without a grant), then the customer's own storefront.
      const { tenant } = await readableStorefronts(c, ref, 'customer.read');
      const found = await findTenantCustomer(db, tenant.id, id);
      if (!found) throw new ApiError('not_found', `No customer ${id} in this tenant.`);
      await authorizeScope(c, ref, 'customer.read', { storefront: found.storefrontId });
      return c.json(
        {
          customer: {
            id: found.id,
            email: found.email,
            name: found.name,
            externalId: found.externalId,
            storefront: {
              id: found.storefrontId,
              slug: found.storefrontSlug,
              name: found.storefrontName,
            },
            createdAt: found.createdAt.toISOString(),
          },
          subscriptions: await customerSubscriptions(db, tenant.id, id),
        },
        200,
      );
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/tenants/{tenant}/subscriptions/{subscription}/payments',
      summary: 'A subscription’s payments, newest first, with every attempt and routing decision',
      request: {
        params: TenantParamSchema.extend({ subscription: SubscriptionIdSchema }),
        query: z.object({
          limit: z.coerce.number().int().min(1).max(MAX_SUBSCRIPTION_PAYMENTS).default(50),
        }),
      },
      responses: {
        200: {
          description: 'The payments',
          content: {
            'application/json': {
              schema: z.object({
                subscription: z.object({
                  id: z.string(),
                  customerId: z.string(),
                  storefrontId: z.string(),
                  status: z.enum(subscriptionStatusEnum.enumValues),
                }),
                items: z.array(AdminPaymentSchema),
              }),
            },
          },
        },
        ...adminProblems,
      },
    }),
    async (c) => {
      const { tenant: ref, subscription: id } = c.req.valid('param');
      const { limit } = c.req.valid('query');
      const db = c.get('db');
      const { tenant } = await readableStorefronts(c, ref, 'customer.read');
      const sub = await findTenantSubscription(db, tenant.id, id);
      if (!sub) throw new ApiError('not_found', `No subscription ${id} in this tenant.`);
      await authorizeScope(c, ref, 'customer.read', { storefront: sub.storefrontId });
      return c.json(
        { subscription: sub, items: await subscriptionPayments(db, tenant.id, id, limit) },
        200,
      );
    },
  );
