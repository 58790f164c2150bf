import { createRoute, z } from '@hono/zod-openapi';
import { newRouter } from '../../app';

const HealthSchema = z.object({ status: z.literal('ok'), time: z.string() }).openapi('Health');

export const healthRoutes = newRouter().openapi(
  createRoute({
    method: 'get',
    path: '/healthz',
    tags: ['Operations'],
    summary: 'Liveness',
    description: 'Answers from the worker alone; touches neither KV nor Postgres.',
    responses: {
      200: {
        description: 'The worker is up',
        content: { 'application/json': { schema: HealthSchema } },
      },
    },
  }),
  (c) => c.json({ status: 'ok' as const, time: new Date().toISOString() }, 200),
);
