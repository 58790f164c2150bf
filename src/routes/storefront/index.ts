import { createRoute } from '@hono/zod-openapi';
import { newRouter } from '../../app';
import { conditionalResponse, storefrontRepresentation } from '../../edge/representation';
import { storefront } from '../../middleware/storefront';
import {
  CachingHeadersDoc,
  notModifiedResponse,
  ResolvedStorefrontSchema,
  StorefrontHeadersSchema,
  storefrontProblems,
} from '../schemas';

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
    middleware: [storefront({ access: 'public' })] as const,
    request: { headers: StorefrontHeadersSchema },
    responses: {
      200: {
        description: 'The resolved storefront, with `ETag` and the storefront’s `Cache-Control`',
        headers: CachingHeadersDoc,
        content: { 'application/json': { schema: ResolvedStorefrontSchema } },
      },
      ...notModifiedResponse,
      ...storefrontProblems,
    },
  }),
  (c) => conditionalResponse(storefrontRepresentation(c.get('edge')), c.req.raw.headers),
);
