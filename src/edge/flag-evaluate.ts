import { z } from '@hono/zod-openapi';
import type { EdgeContext, Env } from '../env';
import type { EvaluationContext, EvaluationResult, JsonValue } from '../flags';
import type { ExposureMessage } from '../queues/exposures';
import { evaluatorFor } from './flag-evaluator';

const Scalar = z.union([z.string().max(256), z.number(), z.boolean()]);

export const EvaluateRequestSchema = z
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
          'Evaluation context. `targetingKey` (the customer id) is the bucketing key. `storefront` and `channel` are always those of the request; `country` and `platform` are filled in from it when absent.',
        example: { targetingKey: 'cus_123', platform: 'ios', appVersion: '5.2.0' },
      }),
    flags: z
      .array(z.string().max(128))
      .max(100)
      .optional()
      .openapi({ description: 'Keys to evaluate; omit for every flag of the storefront' }),
    defaults: z.record(z.string(), z.unknown()).optional().openapi({
      description:
        'Per-flag default values, returned (with reason ERROR) when a flag cannot be evaluated',
    }),
    record: z.boolean().default(false).openapi({
      description:
        'Record every evaluation as an exposure (experiment exposures are always recorded)',
    }),
  })
  .openapi('FlagEvaluationRequest');

export type EvaluateRequest = z.infer<typeof EvaluateRequestSchema>;

const ATTRIBUTE_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The common case of {@link EvaluateRequestSchema} without zod's per-call cost (it is most of a
 * flag evaluation's CPU): returns exactly what the schema would for a valid body, or undefined
 * when the body is invalid or unusual, and the caller then lets the schema say why.
 * Property-tested against the schema (test/unit/flag-request.test.ts).
 */
export function quickParseEvaluateRequest(input: unknown): EvaluateRequest | undefined {
  if (!isPlainObject(input)) return undefined;
  const { context, flags, defaults, record } = input;
  if (context !== undefined) {
    if (!isPlainObject(context)) return undefined;
    const keys = Object.keys(context);
    if (keys.length > 50) return undefined;
    for (const k of keys) {
      const v = context[k];
      if (!ATTRIBUTE_RE.test(k)) return undefined;
      if (typeof v === 'string') {
        if (v.length > 256) return undefined;
      } else if (typeof v === 'number') {
        if (!Number.isFinite(v)) return undefined;
      } else if (typeof v !== 'boolean') return undefined;
    }
  }
  if (flags !== undefined) {
    if (!Array.isArray(flags) || flags.length > 100) return undefined;
    for (const f of flags) if (typeof f !== 'string' || f.length > 128) return undefined;
  }
  if (defaults !== undefined) {
    if (!isPlainObject(defaults) || Object.hasOwn(defaults, '__proto__')) return undefined;
    for (const k of Object.keys(defaults)) if (defaults[k] === undefined) return undefined;
  }
  if (record !== undefined && typeof record !== 'boolean') return undefined;
  const out: EvaluateRequest = {
    context: (context ?? {}) as EvaluateRequest['context'],
    record: record ?? false,
  };
  if (flags !== undefined) out.flags = flags as string[];
  if (defaults !== undefined) out.defaults = defaults;
  return out;
}

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

/**
 * Evaluates the requested flags for the request's storefront and context, queues the
 * exposures to record (experiments always; everything with `record: true`), and returns the
 * response body (`{ storefront, configVersion, flags: { <key>: result } }` as JSON). Never
 * throws.
 */
export function evaluateFlags(
  edge: EdgeContext,
  body: EvaluateRequest,
  env: Env,
  ctx: ExecutionContext,
): string {
  const ev = evaluatorFor(edge.hot);
  // The caller may set any attribute, including country and platform (a server evaluating on a
  // customer's behalf), but never the storefront or channel the request resolved to.
  const context: EvaluationContext = {};
  if (edge.client.family) context.platform = edge.client.family;
  if (edge.geo.country) context.country = edge.geo.country;
  // Attribute names are validated (a letter first), so `__proto__` cannot be among them.
  Object.assign(context, body.context);
  context.storefront = edge.snapshot.storefront.slug;
  context.channel = edge.client.channel;
  const keys = body.flags ?? ev.keys();
  let flags = '';
  const exposures: ExposureMessage[] = [];
  let now: string | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (keys.indexOf(key) !== i) continue; // asked twice: answered (and recorded) once
    const fallback = body.defaults?.[key];
    // A default fixes the expected type (a mismatch is TYPE_MISMATCH); without one, any type.
    const r =
      fallback === undefined
        ? ev.evaluateUntyped(key, context)
        : ev.evaluate(key, context, fallback as JsonValue); // parsed from a JSON body
    flags += `${flags === '' ? '' : ','}${JSON.stringify(key)}:${viewJson(r)}`;
    if (r.inExperiment || body.record) {
      now ??= new Date().toISOString();
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
  const queue = env.EXPOSURES;
  if (exposures.length > 0 && queue) {
    ctx.waitUntil(
      queue.sendBatch(exposures.map((body) => ({ body }))).catch((err: unknown) => {
        console.error(
          JSON.stringify({ level: 'warn', msg: 'exposures not queued', error: String(err) }),
        );
      }),
    );
  }
  return `{"storefront":${JSON.stringify(edge.snapshot.storefront.id)},"configVersion":${edge.snapshot.version},"flags":{${flags}}}`;
}

/**
 * A result's JSON, kept per result object: the engine serves precomputed results (one per
 * variation of a rule or split), so a busy flag is serialized once, not per request.
 */
const viewJsons = new WeakMap<EvaluationResult, string>();

function viewJson(r: EvaluationResult): string {
  // Results that served no variation (errors, a disabled flag without an off variation) carry
  // the caller's default and are made per call: nothing to keep.
  if (r.variationIndex === undefined) return JSON.stringify(view(r));
  let json = viewJsons.get(r);
  if (json === undefined) {
    json = JSON.stringify(view(r));
    viewJsons.set(r, json);
  }
  return json;
}
