import { createRoute, z } from '@hono/zod-openapi';
import { newRouter } from '../../app';
import { getDb } from '../../db/client';
import { ApiError } from '../../errors';
import { timingSafeEqualText } from '../../lib/crypto';
import { durableObjectSignal, publishConfig } from '../../services/publish/publish';
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
          stage: z.enum(['snapshot', 'signal']),
          servingVersion: z.number().nullable(),
          detail: z.string(),
        }),
      )
      .openapi({ description: 'Tenants not (fully) published; every other tenant was' }),
    routingBytes: z.number(),
    snapshotsWritten: z.number(),
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
      const targets = { kv: c.env.CONFIG_KV, signal: durableObjectSignal(c.env.TENANT_CONFIG) };
      return c.json(await publishConfig(db, targets), 200);
    } finally {
      c.executionCtx.waitUntil(close());
    }
  },
);
