import { z } from '@hono/zod-openapi';
import { newRouter } from '../../app';
import { customerTokenIssuer } from '../../services/customers/issuer';
import { publishSigner } from '../../services/customers/signer';
import {
  currentSignerEntry,
  listSigningKeys,
  rotateSigningKey,
} from '../../services/customers/signing-keys';
import { authorizeTenant } from './authorize';
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

const SigningKeySchema = z
  .object({
    kid: z.string(),
    alg: z.enum(['EdDSA', 'ES256']),
    createdAt: z.string(),
    retiredAt: z.string().nullable(),
    publishedUntil: z
      .string()
      .nullable()
      .openapi({ description: 'When a retired key leaves the JWKS; null while it signs' }),
  })
  .openapi('SigningKey');

// Signing keys are credentials of the whole tenant, like API keys: `apikey.*` on every
// storefront (a grant narrowed to some storefronts does not cover them).
export const signingKeyAdminRoutes = newRouter()
  .openapi(
    adminRoute({
      method: 'get',
      path: '/tenants/{tenant}/signing-keys',
      summary: 'The tenant’s customer-token signing keys (public facts only)',
      request: { params: TenantParam },
      responses: listResponses('Keys, newest first', SigningKeySchema),
    }),
    async (c) => {
      const tenant = await authorizeTenant(c, c.req.valid('param').tenant, 'apikey.read');
      return c.json({ items: await listSigningKeys(c.get('db'), tenant.id) }, 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: '/tenants/{tenant}/signing-keys/rotate',
      summary: 'Rotate the customer-token signing key',
      description:
        'New tokens are signed with a new key at once; the retired key stays in the JWKS for ' +
        'the overlap window (48 h, longer than any token lives), so issued tokens keep working.',
      request: {
        params: TenantParam,
        headers: IdempotencyHeaderSchema,
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.object({
                reason: ReasonSchema,
                alg: z
                  .enum(['ES256', 'EdDSA'])
                  .optional()
                  .openapi({ description: 'default ES256' }),
              }),
            },
          },
        },
      },
      responses: {
        201: {
          description: 'The new key and the keys it retired',
          content: {
            'application/json': {
              schema: z.object({
                signingKey: SigningKeySchema,
                retired: z.array(SigningKeySchema),
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
      const body = c.req.valid('json');
      const tenant = await authorizeTenant(c, c.req.valid('param').tenant, 'apikey.write');
      return (await idempotent(c, tenant.id, async () => {
        const rotated = await rotateSigningKey(
          c.get('db'),
          c.env,
          tenant.id,
          { type: 'operator', id: c.get('operator').id },
          body.reason,
          { alg: body.alg, requestId: c.get('requestId') },
        );
        await publishNow(c.env, tenant.id);
        // Entitlement tokens switch to the new key too (signed by the entitlements objects).
        const signer = await currentSignerEntry(
          c.get('db'),
          tenant.id,
          customerTokenIssuer(tenant.slug),
        );
        if (signer) await publishSigner(c.env, signer);
        return { status: 201, body: { ...rotated, published: true } };
      })) as never;
    },
  );
