import { createRoute } from '@hono/zod-openapi';
import { newRouter } from '../../app';
import type { EdgeContext } from '../../env';
import { ResolvedStorefrontSchema, StorefrontHeadersSchema, storefrontProblems } from '../schemas';

/** The resolved storefront as the API shows it. */
export function storefrontView(edge: EdgeContext) {
  const { snapshot, resolution } = edge;
  const sf = snapshot.storefront;
  return {
    id: sf.id,
    slug: sf.slug,
    name: sf.name,
    tenantId: snapshot.tenant.id,
    tenant: snapshot.tenant.slug,
    channel: sf.channel,
    currency: sf.currency,
    region: sf.region,
    locale: sf.locale,
    resolvedBy: resolution.resolvedBy,
    configVersion: snapshot.version,
  };
}

export const storefrontRoutes = newRouter().openapi(
  createRoute({
    method: 'get',
    path: '/storefront',
    tags: ['Storefront'],
    summary: 'The storefront this request resolves to',
    description:
      'Resolution order: the storefront’s own host → a path prefix on the tenant’s shared host → ' +
      '`X-Storefront` (within the host’s tenant) → geography (country, then continent) → the ' +
      'tenant’s default storefront.',
    request: { headers: StorefrontHeadersSchema },
    responses: {
      200: {
        description: 'The resolved storefront',
        content: { 'application/json': { schema: ResolvedStorefrontSchema } },
      },
      ...storefrontProblems,
    },
  }),
  (c) => c.json(storefrontView(c.get('edge')), 200),
);
