import { createRoute, z } from '@hono/zod-openapi';
import { EvaluateRequestSchema } from '../../edge/flag-evaluate';
import { StorefrontHeadersSchema, storefrontProblems } from '../schemas';

const ResultSchema = z
  .object({
    value: z
      .unknown()
      .openapi({ description: 'The variation served (boolean, string, number or JSON)' }),
    variant: z.string().optional(),
    reason: z.enum(['STATIC', 'TARGETING_MATCH', 'SPLIT', 'DEFAULT', 'DISABLED', 'ERROR']),
    errorCode: z
      .enum(['FLAG_NOT_FOUND', 'TYPE_MISMATCH', 'TARGETING_KEY_MISSING', 'PARSE_ERROR', 'GENERAL'])
      .optional(),
    errorMessage: z.string().optional(),
    inExperiment: z.boolean(),
    flagVersion: z.number().optional(),
  })
  .openapi('FlagEvaluation');

const EvaluateResponseSchema = z
  .object({
    storefront: z.string(),
    configVersion: z.number(),
    flags: z.record(z.string(), ResultSchema),
  })
  .openapi('FlagEvaluationResponse');

/** `POST /v1/flags/evaluate`, served by src/edge/fast-path.ts; described here for the OpenAPI document. */
export const flagEvaluateRoute = createRoute({
  method: 'post',
  path: '/flags/evaluate',
  tags: ['Storefront'],
  summary: 'Evaluate feature flags and experiments for a context',
  description:
    'Evaluates at the edge from the storefront’s published flags (never Postgres). Evaluation never fails: a flag that cannot be evaluated returns your default (or null) with reason `ERROR` and an OpenFeature `errorCode`. Bucketing is deterministic (see the README).',
  security: [{ apiKey: [] }],
  request: {
    headers: StorefrontHeadersSchema,
    body: { required: true, content: { 'application/json': { schema: EvaluateRequestSchema } } },
  },
  responses: {
    200: {
      description: 'Evaluations by flag key',
      content: { 'application/json': { schema: EvaluateResponseSchema } },
    },
    ...storefrontProblems,
  },
});
