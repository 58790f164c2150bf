import { z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { newRouter } from '../../app';
import { storefronts } from '../../db/schema';
import { ApiError } from '../../errors';
import { PaymentRoutingSchema } from '../../payments/routing';
import { SANDBOX_PROVIDERS, SANDBOX_SIGNATURE_HEADER } from '../../payments/sandbox';
import { bumpConfigVersion } from '../../services/admin/config-changes';
import { appendAudit } from '../../services/audit/audit';
import { sandboxStub, sandboxWebhookSecret } from '../../services/payments/adapters';
import { authorizeScope, authorizeTenant, operatorChange } from './authorize';
import {
  adminRoute,
  IdempotencyHeaderSchema,
  idempotent,
  mutationProblems,
  publishNow,
  ReasonSchema,
  TenantParamSchema,
} from './support';

const OutageSchema = z
  .object({
    provider: z.enum(SANDBOX_PROVIDERS),
    mode: z.enum(['ok', 'error', 'timeout', 'slow']),
    captureBeforeTimeout: z.boolean(),
    lookups: z.enum(['ok', 'error']),
    reason: z.string(),
  })
  .openapi('SandboxOutage');

const SandboxProviderSchema = z
  .object({
    provider: z.enum(SANDBOX_PROVIDERS),
    mode: z.enum(['ok', 'error', 'timeout', 'slow']),
    captureBeforeTimeout: z.boolean(),
    lookups: z.enum(['ok', 'error']),
    reason: z.string().nullable(),
    webhook: z.object({
      url: z.string(),
      secret: z.string(),
      signatureHeader: z.string(),
      pending: z.number().int(),
      failed: z.number().int(),
    }),
  })
  .openapi('SandboxProvider');

const ProviderParamsSchema = TenantParamSchema.extend({ provider: z.enum(SANDBOX_PROVIDERS) });

/**
 * The sandbox providers' outage switches, per tenant and provider: so failover can be tried
 * and shown. They exist only for the sandbox (test mode) providers; live providers have none.
 */
export const sandboxAdminRoutes = newRouter()
  .openapi(
    adminRoute({
      method: 'get',
      path: '/tenants/{tenant}/sandbox/providers/{provider}',
      summary: 'A sandbox provider: its outage mode and its webhook endpoint and secret',
      description:
        'The outage switch in effect, and where the provider delivers its webhooks ' +
        '(`POST /webhooks/test/{tenantId}/{provider}`, signed with `secret`), with the ' +
        'deliveries still pending or given up. Admin role (`sandbox.write`: the secret signs).',
      request: { params: ProviderParamsSchema },
      responses: {
        200: {
          description: 'The provider',
          content: { 'application/json': { schema: SandboxProviderSchema } },
        },
        ...mutationProblems,
      },
    }),
    async (c) => {
      const { tenant: ref, provider } = c.req.valid('param');
      const tenant = await authorizeTenant(c, ref, 'sandbox.write');
      const owner = { tenantId: tenant.id, provider };
      const stub = sandboxStub(c.env, owner);
      const [outage, deliveries, secret] = await Promise.all([
        stub.outage(),
        stub.deliveries(),
        sandboxWebhookSecret(c.env, owner),
      ]);
      const stored = outage as typeof outage & { reason?: string };
      return c.json(
        {
          provider,
          mode: outage.mode,
          captureBeforeTimeout: outage.captureBeforeTimeout,
          lookups: outage.lookups ?? 'ok',
          reason: stored.reason ?? null,
          webhook: {
            url: `${new URL(c.req.url).origin}/webhooks/test/${tenant.id}/${provider}`,
            secret,
            signatureHeader: SANDBOX_SIGNATURE_HEADER,
            pending: deliveries.pending.length,
            failed: deliveries.failed.length,
          },
        },
        200,
      );
    },
  )
  .openapi(
    adminRoute({
      method: 'put',
      path: '/tenants/{tenant}/sandbox/providers/{provider}',
      summary: 'Switch a sandbox provider’s outage mode (test mode; audited)',
      description:
        '`ok`: normal; `error`: every charge fails with a provider error (5xx), nothing captured; ' +
        '`timeout`: a charge takes longer than the adapter’s timeout (2 s locally, ' +
        '`SANDBOX_TIMEOUT_MS`) and so has an unknown outcome, while lookups still answer — with ' +
        '`captureBeforeTimeout` that charge did capture, to show there is no double charge; ' +
        '`slow`: slower, within the timeout. `lookups: "error"` makes status lookups fail too, ' +
        'so a timed-out charge stays unknown until the provider’s webhook settles it. Takes ' +
        'effect for the next charge. Admin role.',
      request: {
        params: ProviderParamsSchema,
        headers: IdempotencyHeaderSchema,
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.strictObject({
                mode: z.enum(['ok', 'error', 'timeout', 'slow']),
                captureBeforeTimeout: z.boolean().default(false),
                lookups: z.enum(['ok', 'error']).default('ok'),
                reason: ReasonSchema,
              }),
            },
          },
        },
      },
      responses: {
        200: {
          description: 'In effect',
          content: { 'application/json': { schema: OutageSchema } },
        },
        ...mutationProblems,
      },
    }),
    async (c) => {
      const { tenant: ref, provider } = c.req.valid('param');
      const body = c.req.valid('json');
      const tenant = await authorizeTenant(c, ref, 'sandbox.write');
      return (await idempotent(c, tenant.id, async () => {
        const stub = sandboxStub(c.env, { tenantId: tenant.id, provider });
        const before = await stub.outage();
        const after = {
          mode: body.mode,
          captureBeforeTimeout: body.captureBeforeTimeout,
          lookups: body.lookups,
        };
        // The audit row first: a switch that is not in the trail is never in effect.
        await appendAudit(c.get('db'), {
          ...operatorChange(c, tenant.id, body.reason),
          storefrontId: null,
          action: 'sandbox.outage',
          targetType: 'sandbox_provider',
          targetId: provider,
          before,
          after,
        });
        await stub.setOutage({ ...after, reason: body.reason });
        return { status: 200, body: { provider, ...after, reason: body.reason } };
      })) as never;
    },
  );

/**
 * A storefront's payment routing: validated on write (weights per tier sum to 100, known names,
 * bounded sizes; a 400 names the path), audited with the previous routing, then published.
 */
export const paymentRoutingAdminRoutes = newRouter().openapi(
  adminRoute({
    method: 'put',
    path: '/tenants/{tenant}/storefronts/{storefront}/payment-routing',
    summary: 'Set a storefront’s payment routing (rules, tiers, weights; audited, published)',
    description:
      'Replaces the storefront’s routing: `{ "routing": { "default": route, "rules": [...], ' +
      '"maxAttempts": 2 }, "reason" }` where a route is a priority list of tiers and a tier a ' +
      'weighted split whose weights sum to 100. Charges use it from the next publish (about a ' +
      'second). Admin role (`storefront.write`).',
    request: {
      params: TenantParamSchema.extend({
        storefront: z.string().min(1).max(64).openapi({ example: 'us-store' }),
      }),
      headers: IdempotencyHeaderSchema,
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z.strictObject({ routing: PaymentRoutingSchema, reason: ReasonSchema }),
          },
        },
      },
    },
    responses: {
      200: {
        description: 'Saved and published',
        content: {
          'application/json': {
            schema: z.object({
              storefront: z.string(),
              routing: z.record(z.string(), z.unknown()),
              configVersion: z.number().int(),
              published: z.boolean(),
            }),
          },
        },
      },
      ...mutationProblems,
    },
  }),
  async (c) => {
    const { tenant: ref, storefront: sfRef } = c.req.valid('param');
    const body = c.req.valid('json');
    const { tenant, storefront } = await authorizeScope(c, ref, 'storefront.write', {
      storefront: sfRef,
    });
    if (!storefront) throw new ApiError('not_found', `No storefront "${sfRef}".`);
    return (await idempotent(c, tenant.id, async () => {
      const configVersion = await c.get('db').transaction(async (tx) => {
        const [before] = await tx
          .select({ routing: storefronts.paymentRouting })
          .from(storefronts)
          .where(eq(storefronts.id, storefront.id))
          .for('update');
        await tx
          .update(storefronts)
          .set({ paymentRouting: body.routing })
          .where(eq(storefronts.id, storefront.id));
        const version = await bumpConfigVersion(tx, tenant.id);
        await appendAudit(tx, {
          ...operatorChange(c, tenant.id, body.reason),
          storefrontId: storefront.id,
          action: 'storefront.payment_routing',
          targetType: 'storefront',
          targetId: storefront.id,
          before: { routing: before?.routing ?? null },
          after: { routing: body.routing },
        });
        return version;
      });
      const published = await publishNow(c.env, tenant.id);
      return {
        status: 200,
        body: {
          storefront: storefront.slug,
          routing: body.routing,
          configVersion,
          published: !published.failure,
        },
      };
    })) as never;
  },
);
