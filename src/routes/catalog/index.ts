import { createRoute, z } from '@hono/zod-openapi';
import { newRouter } from '../../app';
import { formatMoney } from '../../lib/money';
import { apiKeyAuth } from '../../middleware/api-key-auth';
import { featureGuard } from '../../middleware/storefront-context';
import { ResolvedStorefrontSchema, StorefrontHeadersSchema, storefrontProblems } from '../schemas';
import { storefrontView } from '../storefront';

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
    const locale = edge.snapshot.storefront.locale;
    return c.json(
      {
        storefront: storefrontView(edge),
        bundles: edge.snapshot.bundles.map((b) => ({
          id: b.id,
          slug: b.slug,
          name: b.name,
          description: b.description,
          price: { ...b.price, formatted: formatMoney(b.price.amount, b.price.currency, locale) },
          entitlements: b.entitlements,
        })),
      },
      200,
    );
  },
);
