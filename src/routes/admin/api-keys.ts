import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { newRouter } from '../../app';
import { apiKeyKindEnum, channelEnum, keyModeEnum } from '../../db/schema/enums';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';
import {
  createApiKey,
  listApiKeys,
  revokeApiKey,
  rotateApiKey,
} from '../../services/admin/api-keys';
import { safeText } from '../schemas';
import { authorizeScope, operatorChange } from './authorize';
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

const Params = TenantParamSchema.extend({
  storefront: safeText({ max: 64 }).min(1).openapi({ description: 'Storefront slug or id' }),
});
const KeyParams = Params.extend({ key: z.string().regex(/^key_[0-9A-Z]{26}$/) });

const KeyMode = z.enum(keyModeEnum.enumValues).openapi({
  description:
    'test: reaches only the sandbox providers, test clocks and outage switches (pk_test_… / ' +
    'sk_test_…); live: only the real providers (pk_live_… / sk_live_…). Test and live data never mix.',
});

const ApiKeySchema = z
  .object({
    id: z.string(),
    storefrontId: z.string(),
    kind: z.enum(apiKeyKindEnum.enumValues),
    mode: KeyMode,
    name: z.string(),
    prefix: z.string().openapi({ example: 'pk_live_Ab12' }),
    channels: z.array(z.string()),
    rateLimit: z.number().nullable(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    rotatedFrom: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('ApiKey');

/** The key itself: in the first answer only, `null` in an Idempotency-Key replay. */
const ShownOnceKeySchema = z.string().nullable().openapi({
  description: 'The key, in the first answer only (null in an Idempotency-Key replay)',
});

const Channel = z.enum(channelEnum.enumValues);

async function scope(
  c: Context<AppEnv>,
  tenantRef: string,
  sfRef: string,
  action: 'apikey.read' | 'apikey.write',
) {
  const { tenant, storefront } = await authorizeScope(c, tenantRef, action, { storefront: sfRef });
  if (!storefront) throw new ApiError('not_found', `No storefront "${sfRef}" in this tenant.`);
  const sf = storefront;
  const ctx = (reason: string | null) => ({
    ...operatorChange(c, tenant.id, ''),
    storefrontId: sf.id,
    reason,
  });
  return { tenant, sf, ctx };
}

export const apiKeyAdminRoutes = newRouter()
  .openapi(
    adminRoute({
      method: 'get',
      path: '/tenants/{tenant}/storefronts/{storefront}/api-keys',
      summary: 'List a storefront’s API keys (prefixes only)',
      request: { params: Params },
      responses: listResponses('Keys', ApiKeySchema),
    }),
    async (c) => {
      const p = c.req.valid('param');
      const { tenant, sf } = await scope(c, p.tenant, p.storefront, 'apikey.read');
      return c.json({ items: await listApiKeys(c.get('db'), tenant.id, sf.id) }, 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: '/tenants/{tenant}/storefronts/{storefront}/api-keys',
      summary: 'Create an API key (the key is in this response only)',
      request: {
        params: Params,
        headers: IdempotencyHeaderSchema,
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.object({
                kind: z.enum(apiKeyKindEnum.enumValues),
                mode: KeyMode.default('live'),
                name: safeText({ max: 120 }).trim().min(1),
                channels: z.array(Channel).max(4).default([]),
                expiresAt: z.iso.datetime().optional(),
                rateLimit: z
                  .number()
                  .int()
                  .min(1)
                  .max(1_000_000)
                  .optional()
                  .openapi({ description: 'requests per minute' }),
                reason: ReasonSchema.optional(),
              }),
            },
          },
        },
      },
      responses: {
        201: {
          description: 'The new key; store `secret` now, it is never shown again',
          content: {
            'application/json': {
              schema: z.object({
                apiKey: ApiKeySchema,
                secret: ShownOnceKeySchema,
                configVersion: z.number(),
              }),
            },
          },
        },
        ...mutationProblems,
      },
    }),
    async (c) => {
      const p = c.req.valid('param');
      const body = c.req.valid('json');
      const { tenant, ctx } = await scope(c, p.tenant, p.storefront, 'apikey.write');
      if (body.expiresAt && Date.parse(body.expiresAt) <= Date.now()) {
        throw new ApiError('validation_failed', 'expiresAt must be in the future.', {
          errors: [{ path: 'expiresAt', message: 'in the past' }],
        });
      }
      return (await idempotent(c, tenant.id, async () => {
        const created = await createApiKey(c.get('db'), ctx(body.reason ?? null), {
          kind: body.kind,
          mode: body.mode,
          name: body.name,
          channels: body.channels,
          expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
          rateLimit: body.rateLimit ?? null,
        });
        await publishNow(c.env, tenant.id);
        return { status: 201, body: created };
      })) as never;
    },
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: '/tenants/{tenant}/storefronts/{storefront}/api-keys/{key}/rotate',
      summary:
        'Rotate a key: a new key (same kind and mode) now, the old one keeps working for the overlap window',
      request: {
        params: KeyParams,
        headers: IdempotencyHeaderSchema,
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.object({
                overlapSeconds: z
                  .number()
                  .int()
                  .min(0)
                  .max(30 * 86_400)
                  .default(86_400),
                reason: ReasonSchema,
              }),
            },
          },
        },
      },
      responses: {
        201: {
          description: 'The replacement key (shown once) and the old key with its new expiry',
          content: {
            'application/json': {
              schema: z.object({
                apiKey: ApiKeySchema,
                secret: ShownOnceKeySchema,
                previous: ApiKeySchema.nullable(),
                configVersion: z.number(),
              }),
            },
          },
        },
        ...mutationProblems,
      },
    }),
    async (c) => {
      const p = c.req.valid('param');
      const body = c.req.valid('json');
      const { tenant, ctx } = await scope(c, p.tenant, p.storefront, 'apikey.write');
      return (await idempotent(c, tenant.id, async () => {
        const rotated = await rotateApiKey(
          c.get('db'),
          ctx(body.reason),
          p.key,
          body.overlapSeconds,
        );
        await publishNow(c.env, tenant.id);
        return { status: 201, body: rotated };
      })) as never;
    },
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: '/tenants/{tenant}/storefronts/{storefront}/api-keys/{key}/revoke',
      summary: 'Revoke a key (refused at the edge within seconds)',
      request: {
        params: KeyParams,
        headers: IdempotencyHeaderSchema,
        body: {
          required: true,
          content: { 'application/json': { schema: z.object({ reason: ReasonSchema }) } },
        },
      },
      responses: {
        200: {
          description: 'Revoked',
          content: {
            'application/json': {
              schema: z.object({ apiKey: ApiKeySchema, configVersion: z.number() }),
            },
          },
        },
        ...mutationProblems,
      },
    }),
    async (c) => {
      const p = c.req.valid('param');
      const body = c.req.valid('json');
      const { tenant, ctx } = await scope(c, p.tenant, p.storefront, 'apikey.write');
      return (await idempotent(c, tenant.id, async () => {
        const revoked = await revokeApiKey(c.get('db'), ctx(body.reason), p.key);
        await publishNow(c.env, tenant.id);
        return { status: 200, body: revoked };
      })) as never;
    },
  );
