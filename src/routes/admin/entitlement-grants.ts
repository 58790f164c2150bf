/**
 * Complimentary entitlements granted by operators to one customer of one storefront: grant
 * (with an expiry and a reason; audited), list, revoke. The record is Postgres; the customer's
 * entitlements object holds the live copy (src/services/entitlement-grants/grants.ts says in
 * which order, and how a failure between the two is repaired).
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { newRouter } from '../../app';
import { entitlementsObjectName } from '../../contracts/customer-entitlements';
import { entitlementTypeEnum, keyModeEnum } from '../../db/schema/enums';
import { forgetTenantViews } from '../../edge/entitlement-views';
import type { AppEnv, Env } from '../../env';
import { ApiError } from '../../errors';
import { findStorefrontCustomer } from '../../services/customers/customers';
import {
  type CompSink,
  grantEntitlement,
  listEntitlementGrants,
  revokeEntitlementGrant,
} from '../../services/entitlement-grants/grants';
import { problem, safeText } from '../schemas';
import { authorizeScope } from './authorize';
import {
  adminRoute,
  IdempotencyHeaderSchema,
  idempotencyKeyOf,
  idempotent,
  listResponses,
  mutationProblems,
  ReasonSchema,
  TenantParamSchema,
} from './support';

const Params = TenantParamSchema.extend({
  storefront: safeText({ max: 64 }).min(1).openapi({ description: 'Storefront slug or id' }),
  customer: z
    .string()
    .regex(/^cus_[0-9A-Z]{26}$/, 'a customer id (cus_…)')
    .openapi({ example: 'cus_01JD8Y3W5T6X2Q9R4M7N8P0K1A' }),
});
const GrantParams = Params.extend({
  grantId: z.string().regex(/^comp_[0-9A-Z]{26}$/, 'a grant id (comp_…)'),
});

const Mode = z.enum(keyModeEnum.enumValues).openapi({
  description:
    'Whose entitlements: the customer’s in test mode (test keys and tokens) or live mode',
});

/** A grant's value: the bundle value of its type, a few scalar members. */
const ValueSchema = z
  .record(
    z.string().regex(/^[a-z][a-zA-Z]{0,31}$/),
    z.union([safeText({ max: 200 }), z.number().finite(), z.boolean()]),
  )
  .refine((v) => Object.keys(v).length <= 8, 'at most 8 members')
  .openapi({
    description:
      'As a bundle grants the type: quota `{ limit, period }`, slots `{ count }`, tier ' +
      '`{ level, detail? }` (a declared level), feature `{ enabled }` (default `{ enabled: true }`)',
    example: { limit: 1000, period: 'month' },
  });

const GrantSchema = z
  .object({
    id: z.string().openapi({ example: 'comp_01JD8Y3W5T6X2Q9R4M7N8P0K1A' }),
    customerId: z.string(),
    storefrontId: z.string(),
    mode: z.enum(keyModeEnum.enumValues),
    key: z.string(),
    type: z.enum(entitlementTypeEnum.enumValues),
    value: z.record(z.string(), z.unknown()),
    expiresAt: z.string(),
    reason: z.string(),
    createdBy: z.string().openapi({ description: 'The operator who granted it' }),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
    revokedBy: z.string().nullable(),
    revokeReason: z.string().nullable(),
    deliveredAt: z
      .string()
      .nullable()
      .openapi({
        description:
          'When the customer’s entitlements object took the grant’s current state (null: ' +
          'recorded, not yet live; a retry of the request delivers it)',
      }),
  })
  .openapi('EntitlementGrant');

const GrantAnswer = (description: string) => ({
  description,
  content: { 'application/json': { schema: z.object({ grant: GrantSchema }) } },
});

/** Delivers grants to a customer's entitlements object (once more at once on a failure). */
function compSink(env: Env): CompSink {
  return (owner, comps) => {
    forgetTenantViews(owner.tenantId); // this isolate's held yes-answers (src/edge/entitlement-views.ts)
    const ns = env.CUSTOMER_ENTITLEMENTS;
    const name = entitlementsObjectName(owner);
    return ns
      .get(ns.idFromName(name))
      .putComps(comps, owner)
      .catch(() => ns.get(ns.idFromName(name)).putComps(comps, owner));
  };
}

async function scope(
  c: Context<AppEnv>,
  p: { tenant: string; storefront: string },
  action: 'entitlement.read' | 'entitlement.write',
) {
  const { tenant, storefront } = await authorizeScope(c, p.tenant, action, {
    storefront: p.storefront,
  });
  if (!storefront) {
    throw new ApiError('not_found', `No storefront "${p.storefront}" in this tenant.`);
  }
  return {
    tenant,
    ctx: {
      tenantId: tenant.id,
      storefrontId: storefront.id,
      actor: { type: 'operator' as const, id: c.get('operator').id },
      requestId: c.get('requestId'),
    },
  };
}

const PATH = '/tenants/{tenant}/storefronts/{storefront}/customers/{customer}/entitlement-grants';

export const entitlementGrantAdminRoutes = newRouter()
  .openapi(
    adminRoute({
      method: 'get',
      path: PATH,
      summary: 'A customer’s complimentary grants, active and past, newest first (at most 100)',
      request: {
        params: Params,
        query: z.object({ mode: Mode.optional() }),
      },
      responses: listResponses('Grants', GrantSchema),
    }),
    async (c) => {
      const p = c.req.valid('param');
      const { ctx } = await scope(c, p, 'entitlement.read');
      const db = c.get('db');
      await findStorefrontCustomer(db, ctx.tenantId, ctx.storefrontId, p.customer);
      const items = await listEntitlementGrants(db, ctx, p.customer, c.req.valid('query').mode);
      return c.json({ items }, 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: PATH,
      summary: 'Grant a customer a complimentary entitlement until an expiry (audited)',
      description:
        'Active at once beside what the customer’s subscriptions grant, unioned by the same ' +
        'rules (quotas and slots add, features OR, the highest tier), until `expiresAt` (in the ' +
        'future, at most 5 years ahead) or a revoke. Its id is shown in `source` of ' +
        '`GET /v1/entitlements`. At most 50 standing grants per customer and mode. A 503 ' +
        '`grant_not_delivered` means the grant is recorded but not yet live: retry with the ' +
        'same Idempotency-Key.',
      request: {
        params: Params,
        headers: IdempotencyHeaderSchema,
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.strictObject({
                key: z
                  .string()
                  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'an entitlement key (a-z, 0-9, _; at most 64)'),
                value: ValueSchema.optional(),
                expiresAt: z.iso.datetime({ offset: true }),
                reason: ReasonSchema,
                mode: Mode.default('live'),
              }),
            },
          },
        },
      },
      responses: {
        201: GrantAnswer('The grant, live for the customer'),
        ...mutationProblems,
        409: problem(
          '`too_many_grants` (50 standing), or a request with this Idempotency-Key is still running',
        ),
        503: problem('`grant_not_delivered`: recorded, not yet live; retry the request'),
      },
    }),
    async (c) => {
      const p = c.req.valid('param');
      const body = c.req.valid('json');
      const { tenant, ctx } = await scope(c, p, 'entitlement.write');
      const requestKey = idempotencyKeyOf(c) ?? null;
      return (await idempotent(c, tenant.id, async () => {
        const { grant } = await grantEntitlement(c.get('db'), compSink(c.env), ctx, {
          customerId: p.customer,
          mode: body.mode,
          key: body.key,
          value: body.value,
          expiresAt: new Date(body.expiresAt),
          reason: body.reason,
          requestKey,
        });
        return { status: 201, body: { grant } };
      })) as never;
    },
  )
  .openapi(
    adminRoute({
      method: 'delete',
      path: `${PATH}/{grantId}`,
      summary: 'Revoke a complimentary grant now (audited)',
      description:
        'It stops granting at once. Revoking a revoked grant records nothing and answers it as ' +
        'it is (delivering it again).',
      request: {
        params: GrantParams,
        headers: IdempotencyHeaderSchema,
        body: {
          required: true,
          content: { 'application/json': { schema: z.strictObject({ reason: ReasonSchema }) } },
        },
      },
      responses: {
        200: GrantAnswer('The revoked grant'),
        ...mutationProblems,
        503: problem('`grant_not_delivered`: revoked, not yet for the customer; retry'),
      },
    }),
    async (c) => {
      const p = c.req.valid('param');
      const body = c.req.valid('json');
      const { tenant, ctx } = await scope(c, p, 'entitlement.write');
      return (await idempotent(c, tenant.id, async () => {
        const grant = await revokeEntitlementGrant(c.get('db'), compSink(c.env), ctx, {
          customerId: p.customer,
          grantId: p.grantId,
          reason: body.reason,
        });
        return { status: 200, body: { grant } };
      })) as never;
    },
  );
