import { createRoute, z } from '@hono/zod-openapi';
import { newRouter } from '../../app';
import { conditionalResponse, jwksRepresentation } from '../../edge/representation';
import { requestDb } from '../../middleware/request-db';
import { storefront } from '../../middleware/storefront';
import { MAX_CUSTOMER_TOKEN_TTL_SECONDS } from '../../security/customer-tokens';
import { issueCustomerToken, upsertCustomer } from '../../services/customers/customers';
import { publishSigner } from '../../services/customers/signer';
import { IdempotencyHeaderSchema, idempotent, publishNow } from '../admin/support';
import {
  CachingHeadersDoc,
  notModifiedResponse,
  problem,
  StorefrontHeadersSchema,
  safeText,
  storefrontProblems,
} from '../schemas';

const DEFAULT_TOKEN_TTL_SECONDS = 3600;
/** Longer than a publish takes to reach every isolate. */
const REPUBLISH_AFTER_MS = 30_000;

const CustomerSchema = z
  .object({
    id: z.string().openapi({ example: 'cus_01JD8Y3W5T6X2Q9R4M7N8P0K1A' }),
    storefrontId: z.string(),
    email: z.string(),
    name: z.string().nullable(),
    externalId: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('Customer');

const CustomerParams = z.object({
  id: z
    .string()
    .regex(/^cus_[0-9A-Z]{26}$/, 'a customer id (cus_…)')
    .openapi({ example: 'cus_01JD8Y3W5T6X2Q9R4M7N8P0K1A' }),
});

const JwkSchema = z
  .object({
    kty: z.string(),
    crv: z.string(),
    x: z.string(),
    y: z.string().optional(),
    kid: z.string(),
    alg: z.string(),
    use: z.string(),
  })
  .openapi('Jwk');

const customerProblems = {
  ...storefrontProblems,
  409: problem('A request with this Idempotency-Key is still running'),
  422: problem('The Idempotency-Key was used for a different request'),
} as const;

export const customerRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/customers',
      tags: ['Customers'],
      summary: 'Create the storefront’s customer with this email, or fetch the existing one',
      description:
        'A customer is unique within a storefront (emails compare case-insensitively): the same ' +
        'email in another storefront is another customer. Secret key only.',
      middleware: [storefront({ access: 'secret', feature: 'customers' }), requestDb] as const,
      security: [{ apiKey: [] }],
      request: {
        headers: StorefrontHeadersSchema.extend(IdempotencyHeaderSchema.shape),
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.object({
                email: z.email().max(254),
                name: safeText({ max: 200 }).trim().min(1).optional(),
                externalId: safeText({ max: 128 })
                  .trim()
                  .min(1)
                  .optional()
                  .openapi({ description: 'Your own id for this customer' }),
              }),
            },
          },
        },
      },
      responses: {
        200: {
          description: 'The existing customer',
          content: {
            'application/json': {
              schema: z.object({ customer: CustomerSchema, created: z.literal(false) }),
            },
          },
        },
        201: {
          description: 'A new customer',
          content: {
            'application/json': {
              schema: z.object({ customer: CustomerSchema, created: z.literal(true) }),
            },
          },
        },
        ...customerProblems,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const edge = c.get('edge');
      const apiKey = c.get('apiKey');
      const tenantId = edge.snapshot.tenant.id;
      return (await idempotent(
        c,
        tenantId,
        async () => {
          const result = await upsertCustomer(
            c.get('db'),
            {
              tenantId,
              storefrontId: edge.resolution.storefrontId,
              email: body.email,
              name: body.name,
              externalId: body.externalId,
            },
            { actor: { type: 'api_key', id: apiKey.id }, requestId: c.get('requestId') },
          );
          return { status: result.created ? 201 : 200, body: result };
        },
        apiKey.id,
      )) as never;
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/customers/{id}/tokens',
      tags: ['Customers'],
      summary: 'Issue a customer access token (a JWT for `Authorization: Bearer`)',
      description:
        'Signed with the tenant’s current key (ES256 or EdDSA, `kid` in the header); `iss` is ' +
        '`https://<tenant slug>.azotte.dev`, `aud` the storefront id, `sub` the customer id. ' +
        'Verify it against `GET /v1/.well-known/jwks.json`. Secret key only; the customer must ' +
        'belong to the resolved storefront.',
      middleware: [storefront({ access: 'secret', feature: 'customers' }), requestDb] as const,
      security: [{ apiKey: [] }],
      request: {
        params: CustomerParams,
        headers: StorefrontHeadersSchema,
        body: {
          required: false,
          content: {
            'application/json': {
              schema: z.object({
                ttlSeconds: z
                  .number()
                  .int()
                  .min(60)
                  .max(MAX_CUSTOMER_TOKEN_TTL_SECONDS)
                  .optional()
                  .openapi({ description: `Lifetime; default ${DEFAULT_TOKEN_TTL_SECONDS}` }),
              }),
            },
          },
        },
      },
      responses: {
        201: {
          description: 'The token; it is not stored, keep it on the client',
          content: {
            'application/json': {
              schema: z
                .object({
                  token: z.string(),
                  expiresAt: z.string(),
                  tokenType: z.literal('Bearer'),
                })
                .openapi('CustomerToken'),
            },
          },
        },
        ...storefrontProblems,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const edge = c.get('edge');
      const issued = await issueCustomerToken(c.get('db'), c.env, {
        tenantId: edge.snapshot.tenant.id,
        storefrontId: edge.resolution.storefrontId,
        customerId: id,
        ttlSeconds: body.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS,
        mode: c.get('apiKey').mode,
        requestId: c.get('requestId'),
      });
      // The edge must learn a new key's public half before its tokens verify: publish after
      // creating the tenant's first key, and again if an older key is still missing from the
      // snapshot (the publish after its creation failed).
      const published = edge.snapshot.jwks.some((k) => k.kid === issued.kid);
      const missed = !published && Date.now() - issued.keyCreatedAt.getTime() > REPUBLISH_AFTER_MS;
      if (issued.keyCreated || missed) await publishNow(c.env, edge.resolution.tenantId);
      // The entitlements objects sign entitlement tokens with the same key, read from KV.
      await publishSigner(c.env, issued.signer);
      c.header('cache-control', 'no-store');
      return c.json(
        { token: issued.token, expiresAt: issued.expiresAt, tokenType: 'Bearer' as const },
        201,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/me',
      tags: ['Customers'],
      summary: 'The customer of the presented access token',
      description:
        'Verified at the edge against the tenant’s published keys; never waits for Postgres. ' +
        'A missing, malformed, expired, not-yet-valid, foreign or tampered token is a 401 with ' +
        '`WWW-Authenticate: Bearer error="invalid_token"`.',
      middleware: [storefront({ access: 'customer', feature: 'customers' })] as const,
      security: [{ customerToken: [] }],
      request: { headers: StorefrontHeadersSchema },
      responses: {
        200: {
          description: 'The authenticated customer',
          content: {
            'application/json': {
              schema: z
                .object({
                  customerId: z.string(),
                  storefrontId: z.string(),
                  tenantId: z.string(),
                  expiresAt: z.string(),
                })
                .openapi('Me'),
            },
          },
        },
        ...storefrontProblems,
      },
    }),
    (c) => {
      const me = c.get('customer');
      c.header('cache-control', 'private, no-store');
      return c.json(me, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/.well-known/jwks.json',
      tags: ['Customers'],
      summary: 'The tenant’s public keys for verifying customer tokens (JWKS)',
      description:
        'Public keys only: the key that signs now and retired keys still within their overlap ' +
        'window. Cache it; refetch when a token names an unknown `kid`.',
      middleware: [storefront({ access: 'public' })] as const,
      request: { headers: StorefrontHeadersSchema },
      responses: {
        200: {
          description: 'RFC 7517 JSON Web Key Set, with `ETag` and `Cache-Control`',
          headers: CachingHeadersDoc,
          content: {
            'application/json': { schema: z.object({ keys: z.array(JwkSchema) }).openapi('Jwks') },
          },
        },
        ...notModifiedResponse,
        ...storefrontProblems,
      },
    }),
    (c) => conditionalResponse(jwksRepresentation(c.get('edge')), c.req.raw.headers),
  );
