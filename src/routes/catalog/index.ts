import { createRoute, z } from '@hono/zod-openapi';
import { billingIntervalEnum, entitlementTypeEnum } from '../../db/schema/enums';
import {
  CachingHeadersDoc,
  notModifiedResponse,
  ResolvedStorefrontSchema,
  StorefrontHeadersSchema,
  storefrontProblems,
} from '../schemas';

const PriceSchema = z
  .object({
    id: z.string(),
    amount: z.number().int().openapi({ description: 'Integer minor units', example: 2900 }),
    currency: z.string().openapi({ description: 'ISO 4217', example: 'USD' }),
    interval: z.enum(billingIntervalEnum.enumValues),
    intervalCount: z.number().int(),
    formatted: z.string().openapi({ example: '$29.00' }),
  })
  .openapi('Price');

const EntitlementSchema = z
  .object({
    key: z.string().openapi({ example: 'api_access' }),
    name: z.string().openapi({ example: 'API Access' }),
    type: z.enum(entitlementTypeEnum.enumValues),
    unit: z.string().nullable(),
    value: z
      .record(z.string(), z.unknown())
      .openapi({ example: { limit: 10000, period: 'month' } }),
    levels: z
      .array(z.string())
      .optional()
      .openapi({
        description: 'A tier’s levels, lowest first (the highest a customer holds applies)',
        example: ['email', 'priority', 'dedicated'],
      }),
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

/** `GET /v1/catalog`, served by src/edge/fast-path.ts; described here for the OpenAPI document. */
export const catalogRoute = createRoute({
  method: 'get',
  path: '/catalog',
  tags: ['Storefront'],
  summary: 'Bundles offered in the resolved storefront, with localized prices',
  description:
    'Served from the published snapshot at the edge; never waits for Postgres. Cacheable: a ' +
    'weak `ETag`, and `Cache-Control` from the storefront’s cache policy for the client’s ' +
    'channel; `If-None-Match` gets a 304. `HEAD` answers the same without a body.',
  security: [{ apiKey: [] }],
  request: { headers: StorefrontHeadersSchema },
  responses: {
    200: {
      description:
        'The catalog. Web, mobile and partner clients get the full shape; OTT / Smart TV clients (`X-Client-Channel: ott`, a TV user agent, or an OTT storefront) get the compact one (`X-Response-Shape: compact`); `X-Response-Shape: full | compact` in the request overrides.',
      headers: CachingHeadersDoc,
      content: { 'application/json': { schema: z.union([CatalogSchema, CompactCatalogSchema]) } },
    },
    ...notModifiedResponse,
    ...storefrontProblems,
  },
});
