import { z } from '@hono/zod-openapi';
import { newRouter } from '../../app';
import { SANDBOX_PROVIDERS } from '../../payments/sandbox';
import { appendAudit } from '../../services/audit/audit';
import { authorizeTenant, operatorChange } from './authorize';
import {
  adminRoute,
  IdempotencyHeaderSchema,
  idempotent,
  mutationProblems,
  ReasonSchema,
  TenantParamSchema,
} from './support';

const OutageSchema = z
  .object({
    provider: z.enum(SANDBOX_PROVIDERS),
    mode: z.enum(['ok', 'error', 'timeout', 'slow']),
    captureBeforeTimeout: z.boolean(),
    reason: z.string(),
  })
  .openapi('SandboxOutage');

/**
 * The sandbox providers' outage switches, per tenant and provider: so failover can be tried
 * and shown. They exist only for the sandbox (test mode) providers; live providers have none.
 */
export const sandboxAdminRoutes = newRouter().openapi(
  adminRoute({
    method: 'put',
    path: '/tenants/{tenant}/sandbox/providers/{provider}',
    summary: 'Switch a sandbox provider’s outage mode (test mode; audited)',
    description:
      '`ok`: normal; `error`: every charge fails with a provider error (5xx), nothing captured; ' +
      '`timeout`: a charge takes longer than the adapter’s timeout (2 s locally, ' +
      '`SANDBOX_TIMEOUT_MS`) and so has an unknown outcome, while lookups still answer — with ' +
      '`captureBeforeTimeout` that charge did capture, to show there is no double charge; ' +
      '`slow`: slower, within the timeout. Takes effect for the next charge. Admin role.',
    request: {
      params: TenantParamSchema.extend({ provider: z.enum(SANDBOX_PROVIDERS) }),
      headers: IdempotencyHeaderSchema,
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z.strictObject({
              mode: z.enum(['ok', 'error', 'timeout', 'slow']),
              captureBeforeTimeout: z.boolean().default(false),
              reason: ReasonSchema,
            }),
          },
        },
      },
    },
    responses: {
      200: { description: 'In effect', content: { 'application/json': { schema: OutageSchema } } },
      ...mutationProblems,
    },
  }),
  async (c) => {
    const { tenant: ref, provider } = c.req.valid('param');
    const body = c.req.valid('json');
    const tenant = await authorizeTenant(c, ref, 'sandbox.write');
    return (await idempotent(c, tenant.id, async () => {
      const stub = c.env.SANDBOX_PROVIDER.get(
        c.env.SANDBOX_PROVIDER.idFromName(`${tenant.id}:${provider}`),
      );
      const before = await stub.outage();
      const after = { mode: body.mode, captureBeforeTimeout: body.captureBeforeTimeout };
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
