import { z } from '@hono/zod-openapi';
import { newRouter } from '../../app';
import { channelEnum } from '../../db/schema/enums';
import { ApiError } from '../../errors';
import { ACTIONS, authorize } from '../../security/rbac';
import { findTenant } from '../../services/admin/operators';
import { listStorefronts } from '../../services/admin/storefronts';
import { adminProblems, adminRoute, TenantParamSchema } from './support';

const TenantParam = TenantParamSchema;

const ActionsSchema = z.array(z.enum(ACTIONS)).openapi({
  description: 'What the signed-in operator may do here (the API checks again on every call)',
});

const StorefrontSummarySchema = z
  .object({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    channel: z.enum(channelEnum.enumValues),
    currency: z.string().openapi({ example: 'USD' }),
    region: z.string(),
    locale: z.string(),
    status: z.enum(['active', 'archived']),
    hosts: z.array(z.string()),
    pathPrefixes: z.array(z.string()),
    actions: ActionsSchema,
  })
  .openapi('StorefrontSummary');

export const storefrontAdminRoutes = newRouter().openapi(
  adminRoute({
    method: 'get',
    path: '/tenants/{tenant}/storefronts',
    summary: 'List the tenant’s storefronts the operator may see, with their hosts',
    request: { params: TenantParam },
    responses: {
      200: {
        description: 'The tenant and its storefronts',
        content: {
          'application/json': {
            schema: z.object({
              tenant: z.object({
                id: z.string(),
                slug: z.string(),
                name: z.string(),
                configVersion: z.number().int(),
              }),
              actions: ActionsSchema,
              items: z.array(StorefrontSummarySchema),
            }),
          },
        },
      },
      ...adminProblems,
    },
  }),
  async (c) => {
    const ref = c.req.valid('param').tenant;
    const { grants } = c.get('operator');
    const tenant = await findTenant(c.get('db'), ref);
    // Same rule as authorizeTenant: a tenant the operator holds no grant in does not exist.
    if (!tenant || !grants.some((g) => g.tenantId === tenant.id)) {
      throw new ApiError('not_found', `No tenant "${ref}".`);
    }
    // A grant narrowed to some storefronts lists only those (instead of a 403 for the tenant).
    const allowed = (storefrontId?: string) =>
      ACTIONS.filter(
        (action) => authorize(grants, { tenantId: tenant.id, action, storefrontId }).allowed,
      );
    const items = (await listStorefronts(c.get('db'), tenant.id))
      .map((sf) => ({ ...sf, actions: allowed(sf.id) }))
      .filter((sf) => sf.actions.includes('storefront.read'));
    return c.json(
      {
        tenant: {
          id: tenant.id,
          slug: tenant.slug,
          name: tenant.name,
          configVersion: tenant.configVersion,
        },
        actions: allowed(),
        items,
      },
      200,
    );
  },
);
