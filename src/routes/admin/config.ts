import { z } from '@hono/zod-openapi';
import { newRouter } from '../../app';
import {
  CHANNELS,
  failModeEnum,
  flagValueTypeEnum,
  killswitchScopeEnum,
} from '../../db/schema/enums';
import { ApiError } from '../../errors';
import { authorize } from '../../security/rbac';
import {
  listFlags,
  listKillswitches,
  putFlag,
  setFlagEnabled,
  setKillswitch,
} from '../../services/admin/config-changes';
import { findTenant } from '../../services/admin/operators';
import { listStorefronts } from '../../services/admin/storefronts';
import { safeText } from '../schemas';
import { authorizeScope, authorizeTenant, operatorChange } from './authorize';
import {
  adminRoute,
  IdempotencyHeaderSchema,
  idempotent,
  listResponses,
  mutationProblems,
  publishNow,
  ReasonSchema,
  TenantParamSchema,
} from './support';

const TenantParam = TenantParamSchema;

const KillswitchSchema = z
  .object({
    id: z.string(),
    scope: z.enum(killswitchScopeEnum.enumValues),
    target: z.string(),
    storefrontId: z.string().nullable(),
    engaged: z.boolean(),
    failMode: z.enum(failModeEnum.enumValues),
    retryAfterSeconds: z.number().int(),
    reason: z.string().nullable(),
    updatedAt: z.string(),
  })
  .openapi('Killswitch');

const KillswitchChangeSchema = z
  .object({
    scope: z.enum(killswitchScopeEnum.enumValues),
    target: z
      .string()
      .regex(/^[a-z0-9_-]{0,64}$/)
      .default('')
      .openapi({
        description:
          'channel (ott…), feature (checkout…) or provider (stripe…); empty for tenant and storefront scopes',
      }),
    storefront: safeText({ max: 64 })
      .optional()
      .openapi({ description: 'Storefront slug or id; required for the storefront scope' }),
    engaged: z.boolean(),
    failMode: z.enum(failModeEnum.enumValues).optional(),
    retryAfterSeconds: z.number().int().min(1).max(86_400).optional(),
    reason: ReasonSchema,
  })
  .superRefine((v, ctx) => {
    if (v.scope === 'storefront' && !v.storefront) {
      ctx.addIssue({
        code: 'custom',
        path: ['storefront'],
        message: 'required for the storefront scope',
      });
    }
    if ((v.scope === 'tenant' || v.scope === 'storefront') && v.target !== '') {
      ctx.addIssue({ code: 'custom', path: ['target'], message: 'must be empty for this scope' });
    }
    if (v.scope === 'channel' && !(CHANNELS as readonly string[]).includes(v.target)) {
      ctx.addIssue({
        code: 'custom',
        path: ['target'],
        message: `one of ${CHANNELS.join(', ')}`,
      });
    }
    if ((v.scope === 'feature' || v.scope === 'provider') && v.target === '') {
      ctx.addIssue({ code: 'custom', path: ['target'], message: 'name the feature or provider' });
    }
  });

const FlagSchema = z
  .object({
    id: z.string(),
    key: z.string(),
    storefrontId: z.string().nullable(),
    valueType: z.enum(flagValueTypeEnum.enumValues),
    enabled: z.boolean(),
    version: z.number().int(),
    definition: z.record(z.string(), z.unknown()),
    updatedAt: z.string(),
  })
  .openapi('Flag');

const FlagKeyParam = TenantParam.extend({
  key: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]{0,127}$/)
    .openapi({ example: 'new-checkout' }),
});

const Published = z.object({ configVersion: z.number().int(), published: z.boolean() });

const flagChangeResponses = {
  200: {
    description: 'The flag',
    content: { 'application/json': { schema: Published.extend({ flag: FlagSchema }) } },
  },
  ...mutationProblems,
} as const;

/**
 * Publishes a committed change of `tenantId`. When the tenant's config cannot be published (it
 * exceeds a limit, or a write failed), the operator gets a 422 `config_not_published` saying
 * why and what the edge keeps serving, never a 500; the change stays saved, and the next
 * publish of the tenant (any later change) retries it.
 */
async function publishAfter<T extends { configVersion: number }>(
  env: Parameters<typeof publishNow>[0],
  tenantId: string,
  change: T,
) {
  const result = await publishNow(env, tenantId);
  const failure = result.failure;
  if (failure) {
    const serving =
      failure.stage === 'signal'
        ? 'It is in KV, so the edge applies it within about a minute, not a second.'
        : failure.stage === 'hosts'
          ? 'Host changes wait for the next publish; everything else is live.'
          : failure.servingVersion === null
            ? 'The tenant has no published configuration yet.'
            : `The edge keeps serving config version ${failure.servingVersion}.`;
    throw new ApiError(
      'config_not_published',
      `Saved as config version ${change.configVersion}, but the tenant's configuration could not be published: ${failure.detail}. ${serving}`,
      {
        extensions: {
          configVersion: change.configVersion,
          servingVersion: failure.servingVersion,
          stage: failure.stage,
          ...(failure.size ? { limit: failure.size } : {}),
        },
      },
    );
  }
  return { ...change, published: true };
}

export const configAdminRoutes = newRouter()
  .openapi(
    adminRoute({
      method: 'get',
      path: '/tenants/{tenant}/killswitches',
      summary: 'List killswitches',
      request: { params: TenantParam },
      responses: listResponses('Killswitches', KillswitchSchema),
    }),
    async (c) => {
      const tenantRef = c.req.valid('param').tenant;
      const db = c.get('db');
      const { grants } = c.get('operator');
      const tenant = await findTenant(db, tenantRef);
      if (!tenant || !grants.some((g) => g.tenantId === tenant.id)) {
        throw new ApiError('not_found', `No tenant "${tenantRef}".`);
      }
      const all = await listKillswitches(db, tenant.id);
      const may = (storefrontId?: string) =>
        authorize(grants, { tenantId: tenant.id, action: 'killswitch.read', storefrontId }).allowed;
      if (may()) return c.json({ items: all }, 200);
      // A storefront-scoped operator: the switches of their storefronts, and the tenant-wide
      // ones (tenant, channel, feature, provider), which apply to their storefronts too.
      const mine = all.filter((k) => (k.storefrontId ? may(k.storefrontId) : true));
      const readable = (await listStorefronts(db, tenant.id)).some((sf) => may(sf.id));
      if (!readable) {
        throw new ApiError('forbidden', 'Your role does not allow killswitch.read in this tenant.');
      }
      return c.json({ items: mine }, 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: '/tenants/{tenant}/killswitches',
      summary: 'Engage or release a killswitch',
      description:
        'Writes the switch and its audit row in one transaction, bumps the tenant’s config version and publishes. The edge applies it within about a second (see README: flip-to-effect).',
      request: {
        params: TenantParam,
        headers: IdempotencyHeaderSchema,
        body: {
          required: true,
          content: { 'application/json': { schema: KillswitchChangeSchema } },
        },
      },
      responses: {
        200: {
          description: 'The switch as it now is',
          content: {
            'application/json': { schema: Published.extend({ killswitch: KillswitchSchema }) },
          },
        },
        ...mutationProblems,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const db = c.get('db');
      const tenantRef = c.req.valid('param').tenant;
      const { tenant, storefront: sf } = await authorizeScope(c, tenantRef, 'killswitch.write', {
        storefront: body.storefront,
        channel: body.scope === 'channel' ? body.target : undefined,
      });
      // `idempotent` may replay a stored body, so its Response is not tied to the route's types.
      return (await idempotent(c, tenant.id, async () => {
        const change = await setKillswitch(db, operatorChange(c, tenant.id, body.reason), {
          scope: body.scope,
          target: body.target,
          storefrontId: sf?.id ?? null,
          engaged: body.engaged,
          failMode: body.failMode,
          retryAfterSeconds: body.retryAfterSeconds,
        });
        return { status: 200, body: await publishAfter(c.env, tenant.id, change) };
      })) as never;
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/tenants/{tenant}/flags',
      summary: 'List feature flags (tenant-wide and storefront overrides)',
      request: { params: TenantParam },
      responses: listResponses('Flags', FlagSchema),
    }),
    async (c) => {
      const tenant = await authorizeTenant(c, c.req.valid('param').tenant, 'flag.read');
      return c.json({ items: await listFlags(c.get('db'), tenant.id) }, 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'put',
      path: '/tenants/{tenant}/flags/{key}',
      summary: 'Create or replace a flag (or a storefront override)',
      request: {
        params: FlagKeyParam,
        headers: IdempotencyHeaderSchema,
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.object({
                storefront: safeText({ max: 64 }).optional(),
                valueType: z.enum(flagValueTypeEnum.enumValues),
                enabled: z.boolean().default(true),
                definition: z.record(z.string(), z.unknown()).openapi({
                  description:
                    'variations, offVariation (optional: without one a disabled flag resolves to the caller’s default), rules, fallthrough, salt, experiment. Bounded (see the README): 400 naming the field when over a bound, 422 config_budget_exceeded when the tenant’s published config would exceed its budget.',
                }),
                reason: ReasonSchema,
              }),
            },
          },
        },
      },
      responses: flagChangeResponses,
    }),
    async (c) => {
      const { tenant: tenantRef, key } = c.req.valid('param');
      const body = c.req.valid('json');
      const db = c.get('db');
      const { tenant, storefront: sf } = await authorizeScope(c, tenantRef, 'flag.write', {
        storefront: body.storefront,
      });
      // `idempotent` may replay a stored body, so its Response is not tied to the route's types.
      return (await idempotent(c, tenant.id, async () => {
        const change = await putFlag(db, operatorChange(c, tenant.id, body.reason), {
          key,
          storefrontId: sf?.id ?? null,
          valueType: body.valueType,
          enabled: body.enabled,
          definition: body.definition,
        });
        return { status: 200, body: await publishAfter(c.env, tenant.id, change) };
      })) as never;
    },
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: '/tenants/{tenant}/flags/{key}/toggle',
      summary: 'Turn a flag on or off',
      request: {
        params: FlagKeyParam,
        headers: IdempotencyHeaderSchema,
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.object({
                storefront: safeText({ max: 64 }).optional(),
                enabled: z.boolean(),
                reason: ReasonSchema,
              }),
            },
          },
        },
      },
      responses: flagChangeResponses,
    }),
    async (c) => {
      const { tenant: tenantRef, key } = c.req.valid('param');
      const body = c.req.valid('json');
      const db = c.get('db');
      const { tenant, storefront: sf } = await authorizeScope(c, tenantRef, 'flag.write', {
        storefront: body.storefront,
      });
      // `idempotent` may replay a stored body, so its Response is not tied to the route's types.
      return (await idempotent(c, tenant.id, async () => {
        const change = await setFlagEnabled(
          db,
          operatorChange(c, tenant.id, body.reason),
          key,
          sf?.id ?? null,
          body.enabled,
        );
        return { status: 200, body: await publishAfter(c.env, tenant.id, change) };
      })) as never;
    },
  );
