/**
 * What the edge serves for a tenant, read the way a storefront request reads it: the hot config
 * this isolate holds (`hotConfig`, refreshed in the background at most every 250 ms through the
 * location's cache) and the tenant's routing entry in KV. The console polls it after a flip,
 * from its own origin (the storefront hosts are other origins), to show "live at the edge after
 * N ms" — so it must never check harder than a request does: no cache bypass, no recheck.
 */
import { z } from '@hono/zod-openapi';
import { newRouter } from '../../app';
import { hotConfig } from '../../edge/hot-config';
import { KV_KEYS, TenantRoutingSchema } from '../../edge/snapshot';
import { safeText } from '../schemas';
import { authorizeScope } from './authorize';
import { adminProblems, adminRoute, TenantParamSchema } from './support';

const EdgeStatusSchema = z
  .object({
    tenant: z.object({ id: z.string(), slug: z.string() }),
    configVersion: z.number().int().openapi({
      description: 'The tenant’s latest config version in Postgres (what the last change saved)',
    }),
    edge: z.object({
      version: z.number().int().nullable().openapi({
        description: 'The hot config version this edge isolate serves (flags, killswitches)',
      }),
      publishedAt: z.string().nullable(),
      fresh: z.boolean().openapi({
        description: 'Checked within the last 10 s (else fail-closed switches count as engaged)',
      }),
      killswitches: z.array(z.object({ id: z.string(), engaged: z.boolean() })).openapi({
        description: 'The switches as the edge applies them (of `storefront` if given)',
      }),
    }),
    kv: z.object({
      version: z.number().int().nullable().openapi({
        description: 'The version of the tenant’s routing entry in KV (the bulk snapshot path)',
      }),
    }),
    live: z.boolean().openapi({ description: 'The edge serves `configVersion` or newer' }),
    checkedAt: z.string(),
  })
  .openapi('EdgeStatus');

export const edgeStatusAdminRoutes = newRouter().openapi(
  adminRoute({
    method: 'get',
    path: '/tenants/{tenant}/edge-status',
    summary: 'The config version the edge serves for the tenant (hot config and KV)',
    description:
      'Answered from this edge isolate as a storefront request would see it: the hot config it ' +
      'holds and the KV routing entry. The console polls it after a change to confirm that the ' +
      'edge applies it.',
    request: {
      params: TenantParamSchema,
      query: z.object({
        storefront: safeText({ max: 64 })
          .optional()
          .openapi({ description: 'Storefront slug or id: its switches only' }),
      }),
    },
    responses: {
      200: {
        description: 'What the edge serves',
        content: { 'application/json': { schema: EdgeStatusSchema } },
      },
      ...adminProblems,
    },
  }),
  async (c) => {
    const { tenant: ref } = c.req.valid('param');
    const q = c.req.valid('query');
    const { tenant, storefront } = await authorizeScope(c, ref, 'killswitch.read', {
      storefront: q.storefront,
    });
    const [signal, routing] = await Promise.all([
      hotConfig.get(c.env.TENANT_CONFIG, tenant.id, c.executionCtx),
      c.env.CONFIG_KV.get(KV_KEYS.tenantRouting(tenant.id), 'json').catch(() => null),
    ]);
    const config = signal.config;
    const switches = new Map<string, boolean>();
    for (const [sfId, sf] of Object.entries(config?.storefronts ?? {})) {
      if (storefront && sfId !== storefront.id) continue;
      for (const k of sf.killswitches) switches.set(k.id, k.engaged);
    }
    const kv = TenantRoutingSchema.safeParse(routing);
    const version = config?.version ?? null;
    return c.json(
      {
        tenant: { id: tenant.id, slug: tenant.slug },
        configVersion: tenant.configVersion,
        edge: {
          version,
          publishedAt: config?.publishedAt ?? null,
          fresh: signal.fresh,
          killswitches: [...switches].map(([id, engaged]) => ({ id, engaged })),
        },
        kv: { version: kv.success ? kv.data.version : null },
        live: version !== null && version >= tenant.configVersion,
        checkedAt: new Date().toISOString(),
      },
      200,
    );
  },
);
