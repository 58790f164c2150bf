import { createRoute, z } from '@hono/zod-openapi';
import { newRouter } from '../../app';
import { getDb } from '../../db/client';
import { ApiError } from '../../errors';
import { timingSafeEqualText } from '../../lib/crypto';
import { publishAllTenants } from '../../services/publish/publish';
import { publishNow } from '../admin/support';
import { problem } from '../schemas';

const PublishResultSchema = z
  .object({
    tenants: z.array(
      z.object({ id: z.string(), slug: z.string(), version: z.number(), storefronts: z.number() }),
    ),
    failed: z
      .array(
        z.object({
          tenantId: z.string(),
          slug: z.string(),
          version: z.number(),
          stage: z.enum(['snapshot', 'signal', 'hosts']),
          servingVersion: z.number().nullable(),
          detail: z.string(),
        }),
      )
      .openapi({ description: 'Tenants not (fully) published; every other tenant was' }),
    snapshotsWritten: z.number(),
    kvWrites: z.number().openapi({
      description:
        'KV puts and deletes of the tenants’ publishers (snapshots, routing entries, API keys); the host directory’s host entries are not counted',
    }),
  })
  .openapi('PublishResult');

export const internalRoutes = newRouter().openapi(
  createRoute({
    method: 'post',
    path: '/publish',
    tags: ['Operations'],
    summary: 'Publish every tenant’s configuration from Postgres to KV',
    description:
      'Run by `npm start` after seeding and by deploy pipelines. Admin mutations publish on ' +
      'their own. Safe to repeat: it always publishes the committed state.',
    security: [{ bearer: [] }],
    responses: {
      200: {
        description: 'Published',
        content: { 'application/json': { schema: PublishResultSchema } },
      },
      401: problem('Missing or wrong token'),
    },
  }),
  async (c) => {
    const expected = c.env.PUBLISH_TOKEN;
    const auth = c.req.header('authorization') ?? '';
    const given = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!expected || !given || !(await timingSafeEqualText(given, expected))) {
      throw new ApiError(
        'unauthenticated',
        'POST /internal/publish needs `Authorization: Bearer <PUBLISH_TOKEN>`.',
        {
          headers: { 'www-authenticate': 'Bearer realm="azotte-internal"' },
        },
      );
    }
    const { db, close } = getDb(c.env);
    try {
      // Each tenant through its own publisher object, so this never races a tenant's changes.
      return c.json(await publishAllTenants(db, (id) => publishNow(c.env, id)), 200);
    } finally {
      c.executionCtx.waitUntil(close());
    }
  },
);
