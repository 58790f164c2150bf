import { createRoute, z } from '@hono/zod-openapi';
import { newRouter } from '../../app';
import { evaluatorFor } from '../../edge/flag-evaluator';
import type { EvaluationContext, EvaluationResult } from '../../flags';
import { apiKeyAuth } from '../../middleware/api-key-auth';
import { featureGuard } from '../../middleware/storefront-context';
import type { ExposureMessage } from '../../queues/exposures';
import { StorefrontHeadersSchema, storefrontProblems } from '../schemas';

const Scalar = z.union([z.string().max(256), z.number(), z.boolean()]);

const EvaluateRequestSchema = z
  .object({
    context: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'attribute names: letters, digits, _ . -'),
        Scalar,
      )
      .refine((c) => Object.keys(c).length <= 50, 'at most 50 attributes')
      .default({})
      .openapi({
        description:
          'Evaluation context. `targetingKey` (the customer id) is the bucketing key. `storefront`, `channel` and `country` are filled in from the request when absent.',
        example: { targetingKey: 'cus_123', platform: 'ios', appVersion: '5.2.0' },
      }),
    flags: z
      .array(z.string().max(128))
      .max(100)
      .optional()
      .openapi({ description: 'Keys to evaluate; omit for every flag of the storefront' }),
    defaults: z
      .record(z.string(), z.json())
      .optional()
      .openapi({
        description:
          'Per-flag default values, returned (with reason ERROR) when a flag cannot be evaluated',
      }),
    record: z
      .boolean()
      .default(false)
      .openapi({
        description:
          'Record every evaluation as an exposure (experiment exposures are always recorded)',
      }),
  })
  .openapi('FlagEvaluationRequest');

const ResultSchema = z
  .object({
    value: z.json(),
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

function view(r: EvaluationResult) {
  return {
    value: r.value,
    variant: r.variant,
    reason: r.reason,
    errorCode: r.errorCode,
    errorMessage: r.errorMessage,
    inExperiment: r.inExperiment,
    flagVersion: r.flagVersion,
  };
}

export const flagRoutes = newRouter().openapi(
  createRoute({
    method: 'post',
    path: '/flags/evaluate',
    tags: ['Storefront'],
    summary: 'Evaluate feature flags and experiments for a context',
    description:
      'Evaluates at the edge from the storefront’s published flags (never Postgres). Evaluation never fails: a flag that cannot be evaluated returns your default (or null) with reason `ERROR` and an OpenFeature `errorCode`. Bucketing is deterministic (see the README).',
    middleware: [featureGuard('flags'), apiKeyAuth('publishable')] as const,
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
  }),
  (c) => {
    const edge = c.get('edge');
    const body = c.req.valid('json');
    const ev = evaluatorFor(edge.hot);
    const context: EvaluationContext = {
      storefront: edge.snapshot.storefront.slug,
      channel: edge.client.channel,
      ...(edge.client.family ? { platform: edge.client.family } : {}),
      ...body.context,
    };
    const country =
      c.req.header('cf-ipcountry') ?? (c.req.raw as { cf?: { country?: string } }).cf?.country;
    if (context.country === undefined && country) context.country = country.toUpperCase();

    const keys = body.flags ?? ev.keys();
    const out: Record<string, ReturnType<typeof view>> = {};
    const exposures: ExposureMessage[] = [];
    const now = new Date().toISOString();
    for (const key of keys) {
      const fallback = body.defaults?.[key];
      // A default fixes the expected type (a mismatch is TYPE_MISMATCH); without one, any type.
      const r =
        fallback === undefined
          ? ev.evaluateUntyped(key, context)
          : ev.evaluate(key, context, fallback);
      out[key] = view(r);
      if (r.inExperiment || body.record) {
        exposures.push({
          tenantId: edge.resolution.tenantId,
          storefrontId: edge.resolution.storefrontId,
          flagKey: key,
          flagVersion: r.flagVersion,
          variationIndex: r.variationIndex,
          variant: r.variant,
          reason: r.reason,
          inExperiment: r.inExperiment,
          targetingKey: typeof context.targetingKey === 'string' ? context.targetingKey : undefined,
          channel: edge.client.channel,
          occurredAt: now,
        });
      }
    }
    if (exposures.length > 0 && c.env.EXPOSURES) {
      const queue = c.env.EXPOSURES;
      c.executionCtx.waitUntil(
        queue.sendBatch(exposures.map((body) => ({ body }))).catch((err: unknown) => {
          console.error(
            JSON.stringify({ level: 'warn', msg: 'exposures not queued', error: String(err) }),
          );
        }),
      );
    }
    return c.json(
      { storefront: edge.snapshot.storefront.id, configVersion: edge.snapshot.version, flags: out },
      200,
    );
  },
);
