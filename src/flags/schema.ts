/**
 * The flag and segment formats: what `feature_flags.definition` holds, what a published snapshot
 * carries per flag (`{ key, valueType, enabled, version, scope, ...definition }`), and segments.
 *
 * Objects are strict so that a typo (`negated`, `op`) is a validation error when a definition is
 * written, and so that a definition cannot carry `key`, `enabled`, … which the publisher's spread
 * would let override the columns. The engine reads tolerantly (unknown keys are ignored), so an
 * edge running older code never fails a flag because a newer writer added a field.
 */
import { z } from 'zod';
import { BUCKET_SCALE } from './hash';
import {
  jsonBytes,
  jsonValueProblem,
  MAX_CLAUSE_VALUES,
  MAX_CLAUSES_PER_RULE,
  MAX_DEFINITION_BYTES,
  MAX_JSON_DEPTH,
  MAX_PATTERN_PROGRAM_PER_FLAG,
  MAX_RULES,
  MAX_SEGMENT_KEYS,
  MAX_SEGMENT_RULES,
  MAX_VARIATION_BYTES,
  MAX_VARIATIONS,
  overLimitMessage,
} from './limits';
import { compileSafeRegex } from './regex';
import { parseSemver } from './semver';
import type { FlagValueType, JsonValue } from './types';

/** Flag and segment keys: safe in URLs, metric labels and as object keys. */
const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const FlagKeySchema = z
  .string()
  .regex(KEY_RE, 'letters, digits, ".", "_" or "-", at most 128');

export const FlagValueTypeSchema = z.enum([
  'boolean',
  'string',
  'number',
  'json',
] as const satisfies readonly FlagValueType[]);

export const ClauseOperatorSchema = z.enum([
  'in',
  'notIn',
  'startsWith',
  'endsWith',
  'contains',
  'matches',
  'lessThan',
  'greaterThan',
  'semverEq',
  'semverLessThan',
  'semverGreaterThan',
  'segmentMatch',
]);
export type ClauseOperator = z.infer<typeof ClauseOperatorSchema>;

const STRING_OPERATORS: ReadonlySet<ClauseOperator> = new Set([
  'startsWith',
  'endsWith',
  'contains',
  'matches',
  'segmentMatch',
]);
const NUMBER_OPERATORS: ReadonlySet<ClauseOperator> = new Set(['lessThan', 'greaterThan']);
const SEMVER_OPERATORS: ReadonlySet<ClauseOperator> = new Set([
  'semverEq',
  'semverLessThan',
  'semverGreaterThan',
]);

/**
 * One condition on the context. A clause matches when the attribute is present and matches ANY
 * of `values` (for `notIn`: none of them); `negate` inverts that, but a missing attribute never
 * matches, negated or not. `segmentMatch` ignores `attribute`: `values` are segment keys.
 * `matches` patterns are a linear-time subset of JavaScript regular expressions without flags
 * (src/flags/regex.ts); writes refuse others (`flagDefinitionSchema`), and one stored before
 * that never matches. An attribute longer than 1,024 characters does not match a pattern.
 */
export const ClauseSchema = z
  .strictObject({
    attribute: z.string().min(1).max(256).optional(),
    operator: ClauseOperatorSchema,
    values: z.array(z.union([z.string(), z.number(), z.boolean()])).max(MAX_CLAUSE_VALUES),
    negate: z.boolean().default(false),
  })
  .superRefine((clause, ctx) => {
    if (clause.operator !== 'segmentMatch' && clause.attribute === undefined) {
      ctx.addIssue({ code: 'custom', path: ['attribute'], message: 'required for this operator' });
    }
    clause.values.forEach((value, i) => {
      const path = ['values', i];
      if (STRING_OPERATORS.has(clause.operator) && typeof value !== 'string') {
        ctx.addIssue({ code: 'custom', path, message: `${clause.operator} takes strings` });
      } else if (NUMBER_OPERATORS.has(clause.operator) && typeof value !== 'number') {
        ctx.addIssue({ code: 'custom', path, message: `${clause.operator} takes numbers` });
      } else if (
        SEMVER_OPERATORS.has(clause.operator) &&
        (typeof value !== 'string' || parseSemver(value) === undefined)
      ) {
        ctx.addIssue({ code: 'custom', path, message: 'not a semantic version' });
      }
    });
  });
export type Clause = z.infer<typeof ClauseSchema>;

const VariationIndexSchema = z.number().int().nonnegative();

/**
 * A percentage split. Weights are in units of 1/100000 and sum to exactly 100000; `bucketBy`
 * names the context attribute to hash (default: the targeting key).
 */
export const RolloutSchema = z
  .strictObject({
    variations: z
      .array(
        z.strictObject({
          variation: VariationIndexSchema,
          weight: z.number().int().min(0).max(BUCKET_SCALE),
        }),
      )
      .min(1)
      .max(MAX_VARIATIONS),
    bucketBy: z.string().min(1).max(256).optional(),
  })
  .superRefine((rollout, ctx) => {
    const total = rollout.variations.reduce((sum, v) => sum + v.weight, 0);
    if (total !== BUCKET_SCALE) {
      ctx.addIssue({
        code: 'custom',
        path: ['variations'],
        message: `weights must sum to ${BUCKET_SCALE}, got ${total}`,
      });
    }
  });
export type Rollout = z.infer<typeof RolloutSchema>;

interface ServeShape {
  variation?: number | undefined;
  rollout?: Rollout | undefined;
}

function exactlyOneServe(serve: ServeShape, ctx: z.RefinementCtx): void {
  if ((serve.variation === undefined) === (serve.rollout === undefined)) {
    ctx.addIssue({ code: 'custom', path: [], message: 'set exactly one of variation, rollout' });
  }
}

/** A targeting rule: when all `clauses` match (an empty list matches everyone), serve. */
export const FlagRuleSchema = z
  .strictObject({
    id: z.string().min(1).max(128).optional(),
    description: z.string().max(1000).optional(),
    clauses: z.array(ClauseSchema).max(MAX_CLAUSES_PER_RULE).default([]),
    variation: VariationIndexSchema.optional(),
    rollout: RolloutSchema.optional(),
  })
  .superRefine(exactlyOneServe);
export type FlagRule = z.infer<typeof FlagRuleSchema>;

/** What is served when no rule matches. */
export const FallthroughSchema = z
  .strictObject({
    variation: VariationIndexSchema.optional(),
    rollout: RolloutSchema.optional(),
  })
  .superRefine(exactlyOneServe);
export type Fallthrough = z.infer<typeof FallthroughSchema>;

/**
 * A variation: any JSON value, at most MAX_JSON_DEPTH levels deep and MAX_VARIATION_BYTES
 * serialized. Checked without recursion (zod's z.json() recursed: a 3,000-level value
 * overflowed the stack), depth first, so nothing recursive ever sees a too-deep value.
 */
const VariationSchema = z.custom<JsonValue>().superRefine((value, ctx) => {
  const problem = jsonValueProblem(value, MAX_JSON_DEPTH);
  if (problem !== undefined) {
    ctx.addIssue({ code: 'custom', message: problem });
    return;
  }
  const bytes = jsonBytes(value);
  if (bytes > MAX_VARIATION_BYTES) {
    ctx.addIssue({ code: 'custom', message: overLimitMessage(bytes, MAX_VARIATION_BYTES) });
  }
});

const definitionShape = {
  variations: z.array(VariationSchema).min(1).max(MAX_VARIATIONS),
  /** Optional names (`control`, `treatment`) reported as the variant instead of the index. */
  variationNames: z.array(z.string().min(1).max(64)).max(MAX_VARIATIONS).optional(),
  /**
   * Served when the flag is disabled. Without one a disabled flag resolves to the caller's
   * default value (reason DISABLED, no variant), as OpenFeature providers do.
   */
  offVariation: VariationIndexSchema.optional(),
  /** Evaluated in order; the first rule whose clauses all match serves. */
  rules: z.array(FlagRuleSchema).max(MAX_RULES).default([]),
  fallthrough: FallthroughSchema,
  /** Part of the bucketing hash: changing it reshuffles this flag's rollouts. */
  salt: z.string().max(128).default(''),
  /** An A/B experiment: customers placed by a rollout are reported `inExperiment`. */
  experiment: z.boolean().default(false),
  description: z.string().max(1000).optional(),
};

interface DefinitionShape {
  variations: unknown[];
  variationNames?: string[] | undefined;
  offVariation?: number | undefined;
  rules: FlagRule[];
  fallthrough: Fallthrough;
}

function checkIndex(ctx: z.RefinementCtx, count: number, index: number, path: PropertyKey[]) {
  if (index >= count) {
    ctx.addIssue({ code: 'custom', path, message: `no variation ${index} (there are ${count})` });
  }
}

function checkServe(ctx: z.RefinementCtx, count: number, serve: ServeShape, path: PropertyKey[]) {
  if (serve.variation !== undefined)
    checkIndex(ctx, count, serve.variation, [...path, 'variation']);
  serve.rollout?.variations.forEach((v, i) => {
    checkIndex(ctx, count, v.variation, [...path, 'rollout', 'variations', i, 'variation']);
  });
}

/** Cross-field rules of a definition: indexes in range, names aligned, rule ids unique. */
function checkDefinition(def: DefinitionShape, ctx: z.RefinementCtx): void {
  const count = def.variations.length;
  if (def.offVariation !== undefined) checkIndex(ctx, count, def.offVariation, ['offVariation']);
  checkServe(ctx, count, def.fallthrough, ['fallthrough']);
  const ids = new Set<string>();
  def.rules.forEach((rule, i) => {
    checkServe(ctx, count, rule, ['rules', i]);
    if (rule.id === undefined) return;
    if (ids.has(rule.id)) {
      ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: 'duplicate rule id' });
    }
    ids.add(rule.id);
  });
  if (def.variationNames) {
    if (def.variationNames.length !== count) {
      ctx.addIssue({
        code: 'custom',
        path: ['variationNames'],
        message: `needs one name per variation (${count})`,
      });
    } else if (new Set(def.variationNames).size !== count) {
      ctx.addIssue({ code: 'custom', path: ['variationNames'], message: 'names must be unique' });
    }
  }
}

/** Whether `value` is a valid variation of a flag of type `valueType`. */
export function isValueOfType(value: unknown, valueType: FlagValueType): value is JsonValue {
  switch (valueType) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'json':
      return value !== undefined;
  }
}

function checkValueTypes(
  def: { variations: unknown[] },
  valueType: FlagValueType,
  ctx: z.RefinementCtx,
) {
  def.variations.forEach((value, i) => {
    if (!isValueOfType(value, valueType)) {
      ctx.addIssue({ code: 'custom', path: ['variations', i], message: `expected ${valueType}` });
    }
  });
}

/**
 * Write-time checks of `matches` patterns: each one in the linear-time subset, and all of them
 * together within MAX_PATTERN_PROGRAM_PER_FLAG instructions (which bounds what one evaluation
 * of the flag can cost). `path` leads to the clause list.
 */
function checkPatterns(
  clauseLists: { clauses: Clause[]; path: PropertyKey[] }[],
  ctx: z.RefinementCtx,
): void {
  let program = 0;
  for (const { clauses, path } of clauseLists) {
    clauses.forEach((clause, c) => {
      if (clause.operator !== 'matches') return;
      clause.values.forEach((value, v) => {
        if (typeof value !== 'string') return; // reported by ClauseSchema
        const compiled = compileSafeRegex(value);
        const at = [...path, c, 'values', v];
        if (!compiled.ok) {
          ctx.addIssue({
            code: 'custom',
            path: at,
            message: `pattern not supported: ${compiled.message} (at character ${compiled.index})`,
          });
          return;
        }
        program += compiled.regex.size;
        if (program > MAX_PATTERN_PROGRAM_PER_FLAG) {
          ctx.addIssue({
            code: 'custom',
            path: at,
            message: `the patterns of this flag are too complex together: ${overLimitMessage(program, MAX_PATTERN_PROGRAM_PER_FLAG, 'matcher instructions')}`,
          });
        }
      });
    });
  }
}

/** Write-time checks a definition must pass on top of its shape (see flagDefinitionSchema). */
function checkWrite(def: FlagDefinition, ctx: z.RefinementCtx): void {
  checkPatterns(
    def.rules.map((rule, i) => ({ clauses: rule.clauses, path: ['rules', i, 'clauses'] })),
    ctx,
  );
  // zod runs refinements after other issues too: a too-deep variation is reported already, and
  // must not reach JSON.stringify (definitions nest a few levels around their variations).
  if (jsonValueProblem(def, MAX_JSON_DEPTH + 8) !== undefined) return;
  const bytes = jsonBytes(def);
  if (bytes > MAX_DEFINITION_BYTES) {
    ctx.addIssue({
      code: 'custom',
      path: [],
      message: `the definition is too large: ${overLimitMessage(bytes, MAX_DEFINITION_BYTES)}`,
    });
  }
}

/**
 * `feature_flags.definition`, independent of the flag's value type (a column). Validate writes
 * with `flagDefinitionSchema(valueType)`, which also checks the variations' type, the
 * `matches` patterns and the definition's size.
 */
export const FlagDefinitionSchema = z.strictObject(definitionShape).superRefine(checkDefinition);
export type FlagDefinition = z.infer<typeof FlagDefinitionSchema>;
export type FlagDefinitionInput = z.input<typeof FlagDefinitionSchema>;

const definitionSchemas = new Map<FlagValueType, z.ZodType<FlagDefinition, FlagDefinitionInput>>();

/**
 * `FlagDefinitionSchema` plus "every variation is a `valueType`", supported `matches` patterns
 * and at most MAX_DEFINITION_BYTES serialized: use it to validate writes.
 */
export function flagDefinitionSchema(
  valueType: FlagValueType,
): z.ZodType<FlagDefinition, FlagDefinitionInput> {
  let schema = definitionSchemas.get(valueType);
  if (!schema) {
    schema = FlagDefinitionSchema.superRefine((def, ctx) => {
      checkValueTypes(def, valueType, ctx);
      checkWrite(def, ctx);
    });
    definitionSchemas.set(valueType, schema);
  }
  return schema;
}

/** One flag as published in a storefront snapshot (or served to the OpenFeature provider). */
export const FlagSchema = z
  .strictObject({
    key: FlagKeySchema,
    valueType: FlagValueTypeSchema,
    enabled: z.boolean(),
    version: z.number().int().nonnegative(),
    scope: z.enum(['tenant', 'storefront']).optional(),
    ...definitionShape,
  })
  .superRefine((flag, ctx) => {
    checkDefinition(flag, ctx);
    checkValueTypes(flag, flag.valueType, ctx);
  });
export type Flag = z.infer<typeof FlagSchema>;
export type FlagInput = z.input<typeof FlagSchema>;

const segmentDefinitionShape = {
  included: z.array(z.string().max(256)).max(MAX_SEGMENT_KEYS).default([]),
  excluded: z.array(z.string().max(256)).max(MAX_SEGMENT_KEYS).default([]),
  rules: z.array(ClauseSchema).max(MAX_SEGMENT_RULES).default([]),
  description: z.string().max(1000).optional(),
};

function noNestedSegments(segment: { rules: Clause[] }, ctx: z.RefinementCtx): void {
  segment.rules.forEach((clause, i) => {
    if (clause.operator === 'segmentMatch') {
      ctx.addIssue({
        code: 'custom',
        path: ['rules', i, 'operator'],
        message: 'segments cannot reference segments',
      });
    }
  });
}

/**
 * A named set of contexts, matched by `segmentMatch`. Membership, in order: a targeting key in
 * `included` is in; one in `excluded` is out; otherwise the context is in when `rules` is not
 * empty and all its clauses match. (For "A or B", list two segments in one `segmentMatch`.)
 * Segment rules cannot use `segmentMatch`, which rules out cycles.
 *
 * `segments.definition`: validate writes with it (strict, so it cannot carry `key`/`version`,
 * which the publisher spreads it over).
 */
export const SegmentDefinitionSchema = z
  .strictObject(segmentDefinitionShape)
  .superRefine((segment, ctx) => {
    noNestedSegments(segment, ctx);
    checkPatterns([{ clauses: segment.rules, path: ['rules'] }], ctx);
  });
export type SegmentDefinition = z.infer<typeof SegmentDefinitionSchema>;
export type SegmentDefinitionInput = z.input<typeof SegmentDefinitionSchema>;

/** One segment as published in a snapshot: `{ key, version, ...definition }`. */
export const SegmentSchema = z
  .strictObject({
    key: FlagKeySchema,
    version: z.number().int().nonnegative().optional(),
    ...segmentDefinitionShape,
  })
  .superRefine(noNestedSegments);
export type Segment = z.infer<typeof SegmentSchema>;
export type SegmentInput = z.input<typeof SegmentSchema>;
