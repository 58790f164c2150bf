import { createRoute, z } from '@hono/zod-openapi';
import { newRouter } from '../../app';
import { CATALOG_VARY, catalogBody } from '../../edge/catalog-body';
import { apiKeyAuth } from '../../middleware/api-key-auth';
import { featureGuard } from '../../middleware/storefront-context';
import { ResolvedStorefrontSchema, StorefrontHeadersSchema, storefrontProblems } from '../schemas';

const PriceSchema = z
  .object({
    id: z.string(),
    amount: z.number().int().openapi({ description: 'Integer minor units', example: 2900 }),
    currency: z.string().openapi({ description: 'ISO 4217', example: 'USD' }),
    interval: z.enum(['day', 'week', 'month', 'year']),
    intervalCount: z.number().int(),
    formatted: z.string().openapi({ example: '$29.00' }),
  })
  .openapi('Price');

const EntitlementSchema = z
  .object({
    key: z.string().openapi({ example: 'api_access' }),
    name: z.string().openapi({ example: 'API Access' }),
    type: z.enum(['quota', 'feature', 'slots', 'tier']),
    unit: z.string().nullable(),
    value: z
      .record(z.string(), z.unknown())
      .openapi({ example: { limit: 10000, period: 'month' } }),
  })
  .openapi('Entitlement');

const CatalogSchema = z
  .object({
    storefront: ResolvedStorefrontSchema,
    branding: z.object({
      displayName: z.string().optional(),
      primaryColor: z.string().optional(),
      logoUrl: z.string().optional(),
      tagline: z.string().optional(),
    }),
    bundles: z.array(
      z.object({
        id: z.string(),
        slug: z.string(),
        name: z.string(),
        description: z.string(),
        price: PriceSchema,
        entitlements: z.array(EntitlementSchema),
      }),
    ),
  })
  .openapi('Catalog');

const CompactCatalogSchema = z
  .object({
    sf: z.object({ id: z.string(), cur: z.string(), loc: z.string() }),
    b: z.array(
      z.object({
        id: z.string(),
        s: z.string(),
        n: z.string(),
        p: z.object({
          a: z.number().int(),
          c: z.string(),
          i: z.string(),
          ic: z.number().int(),
          f: z.string(),
        }),
        e: z.array(
          z.object({ k: z.string(), t: z.string(), v: z.record(z.string(), z.unknown()) }),
        ),
      }),
    ),
  })
  .openapi('CompactCatalog');

export const catalogRoutes = newRouter().openapi(
  createRoute({
    method: 'get',
    path: '/catalog',
    tags: ['Storefront'],
    summary: 'Bundles offered in the resolved storefront, with localized prices',
    description: 'Served from the published snapshot at the edge; never waits for Postgres.',
    middleware: [featureGuard('catalog'), apiKeyAuth('publishable')] as const,
    security: [{ apiKey: [] }],
    request: { headers: StorefrontHeadersSchema },
    responses: {
      200: {
        description: 'The catalog',
        content: { 'application/json': { schema: CatalogSchema } },
      },
      ...storefrontProblems,
    },
  }),
  (c) => {
    const edge = c.get('edge');
    c.header('vary', CATALOG_VARY);
    c.header('x-response-shape', edge.client.shape);
    return c.body(catalogBody(edge), 200, { 'content-type': 'application/json' }) as never;
  },
);
