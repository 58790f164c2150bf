import { z } from '@hono/zod-openapi';
import { newRouter } from '../../app';
import { actorNames, listAudit, verifyAudit } from '../../services/audit/audit';
import { safeText } from '../schemas';
import { authorizeScope } from './authorize';
import { adminProblems, adminRoute, TenantParamSchema } from './support';

const Params = TenantParamSchema;
const Query = z.object({
  storefront: safeText({ max: 64 })
    .optional()
    .openapi({ description: 'Storefront slug or id; omit for the tenant-wide trail' }),
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const AuditRowSchema = z
  .object({
    id: z.string(),
    seq: z.number().int(),
    chain: z.string(),
    storefrontId: z.string().nullable(),
    actorType: z.string(),
    actorId: z.string(),
    actorName: z.string().openapi({
      description:
        'Who, readable: the operator’s name, the API key’s name, or System (…); not hashed',
      example: 'Olga Operator',
    }),
    action: z.string(),
    targetType: z.string(),
    targetId: z.string(),
    before: z.unknown(),
    after: z.unknown(),
    reason: z.string().nullable(),
    requestId: z.string().nullable(),
    createdAt: z.string(),
    prevHash: z.string(),
    hash: z.string(),
  })
  .openapi('AuditRow');

export const auditAdminRoutes = newRouter()
  .openapi(
    adminRoute({
      method: 'get',
      path: '/tenants/{tenant}/audit',
      summary: 'One storefront’s audit trail (or the tenant-wide one), oldest first',
      request: { params: Params, query: Query },
      responses: {
        200: {
          description: 'Rows of the hash chain',
          content: {
            'application/json': {
              schema: z.object({
                items: z.array(AuditRowSchema),
                nextAfter: z.number().nullable(),
              }),
            },
          },
        },
        ...adminProblems,
      },
    }),
    async (c) => {
      const { tenant: ref } = c.req.valid('param');
      const q = c.req.valid('query');
      const { tenant, storefront: sf } = await authorizeScope(c, ref, 'audit.read', {
        storefront: q.storefront,
      });
      const db = c.get('db');
      const page = await listAudit(db, tenant.id, sf?.id ?? null, q.after, q.limit);
      const names = await actorNames(db, tenant.id, page.items);
      return c.json(
        {
          ...page,
          items: page.items.map((r) => ({
            ...r,
            actorName: names.get(`${r.actorType}:${r.actorId}`) ?? r.actorId,
          })),
        },
        200,
      );
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/tenants/{tenant}/audit/verify',
      summary: 'Re-hash an audit trail and report the first break, if any',
      request: { params: Params, query: Query.pick({ storefront: true, after: true }) },
      responses: {
        200: {
          description: 'Verification result',
          content: {
            'application/json': {
              schema: z.object({
                chain: z.string(),
                head: z.string().nullable(),
                ok: z.boolean(),
                length: z.number().optional(),
                brokenAt: z.number().optional(),
                reason: z.string().optional(),
                nextAfter: z.number().nullable().openapi({
                  description: 'More rows remain: verify again with `after=<nextAfter>`',
                }),
              }),
            },
          },
        },
        ...adminProblems,
      },
    }),
    async (c) => {
      const { tenant: ref } = c.req.valid('param');
      const q = c.req.valid('query');
      const { tenant, storefront: sf } = await authorizeScope(c, ref, 'audit.read', {
        storefront: q.storefront,
      });
      return c.json(await verifyAudit(c.get('db'), tenant.id, sf?.id ?? null, q.after), 200);
    },
  );
