/**
 * The flag evaluation engine: `compileFlags` parses and validates a snapshot's flags once, and
 * the evaluator it returns answers each evaluation from precompiled matchers and precomputed
 * results. Pure: no I/O, no clock, no randomness.
 */
import type { z } from 'zod';
import { bucketFromPrefix, bucketPrefixState, type Murmur3State } from './hash';
import {
  type AttributeReader,
  attributeReader,
  compileClause,
  compileSegment,
  type Matcher,
} from './matchers';
import { type Flag, FlagSchema, type Rollout, SegmentSchema } from './schema';
import {
  type CompileProblem,
  type EvaluationContext,
  EvaluationErrorCode,
  EvaluationReason,
  type EvaluationResult,
  type FlagMetadata,
  type FlagValue,
  type FlagValueType,
} from './types';

/** `boolean` for `false`, `string` for `'a'`: the value type a default value asks for. */
export type Widen<T> = T extends boolean
  ? boolean
  : T extends string
    ? string
    : T extends number
      ? number
      : T;

/** Evaluates one snapshot's flags. Build it with `compileFlags` and cache it per snapshot. */
export interface FlagEvaluator {
  /**
   * Evaluates `key` for `context`. Never throws: on any error the result carries `defaultValue`,
   * reason `ERROR` and an `errorCode`.
   *
   * `expectedType` defaults to the type of `defaultValue` (`json` for objects, arrays and null);
   * a flag of another type is a `TYPE_MISMATCH`.
   */
  evaluate<T extends FlagValue>(
    key: string,
    context: EvaluationContext | undefined,
    defaultValue: T,
    expectedType?: FlagValueType,
  ): EvaluationResult<Widen<T>>;
  /**
   * `evaluate` without a type check, for callers that accept any type (an HTTP API without a
   * default value). On error `value` is null.
   */
  evaluateUntyped(key: string, context: EvaluationContext | undefined): EvaluationResult;
  /**
   * Evaluates every flag for `context`, keyed by flag key, in snapshot order. Flags that fail
   * carry `value: null` and their error.
   */
  evaluateAll(context: EvaluationContext | undefined): Record<string, EvaluationResult>;
  /** Whether the snapshot defines `key` (parsed or not). */
  has(key: string): boolean;
  /** The flag keys, in snapshot order. */
  keys(): string[];
  /** Flags and segments that failed to parse, duplicates, ignored unknown fields. */
  readonly problems: readonly CompileProblem[];
}

interface FixedServe {
  kind: 'fixed';
  result: EvaluationResult;
}

interface SplitServe {
  kind: 'split';
  read: AttributeReader;
  prefix: Readonly<Murmur3State>;
  /** Cumulative weights: entry i serves `results[i]` when bucket < thresholds[i]. */
  thresholds: number[];
  results: EvaluationResult[];
  /** The `TARGETING_KEY_MISSING` message, prepared once. */
  missing: string;
}

type Serve = FixedServe | SplitServe;

interface CompiledRule {
  clauses: Matcher[];
  serve: Serve;
}

interface CompiledFlag {
  key: string;
  valueType: FlagValueType;
  enabled: boolean;
  version: number;
  metadata: FlagMetadata;
  /** What a disabled flag serves: its off variation, else undefined (the caller's default). */
  off: EvaluationResult | undefined;
  /** A disabled flag without an off variation, for callers whose default is null. */
  offNull: EvaluationResult;
  rules: CompiledRule[];
  fallthrough: Serve;
}

const EMPTY_CONTEXT: EvaluationContext = Object.freeze({});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, 5).map((i) => {
    const path = i.path.map(String).join('.');
    return path ? `${path}: ${i.message}` : i.message;
  });
  const more = issues.length > shown.length ? ` (+${issues.length - shown.length} more)` : '';
  return shown.join('; ') + more;
}

type Parsed<T> = { ok: true; data: T; ignored: string[] } | { ok: false; message: string };

/**
 * Parses with a strict schema but tolerates unknown keys (they are removed and reported): the
 * writer validates strictly, the reader must keep serving when a newer writer adds a field.
 */
function parseTolerant<T>(schema: z.ZodType<T>, input: unknown): Parsed<T> {
  const first = schema.safeParse(input);
  if (first.success) return { ok: true, data: first.data, ignored: [] };
  const issues = first.error.issues;
  if (!issues.every((i) => i.code === 'unrecognized_keys')) {
    return { ok: false, message: formatIssues(issues) };
  }
  const copy: unknown = structuredClone(input);
  const ignored: string[] = [];
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    let node: unknown = copy;
    for (const p of issue.path) {
      node =
        node !== null && typeof node === 'object'
          ? (node as Record<PropertyKey, unknown>)[p]
          : undefined;
    }
    if (node === null || typeof node !== 'object') continue;
    for (const k of issue.keys) {
      delete (node as Record<string, unknown>)[k];
      ignored.push([...issue.path.map(String), k].join('.'));
    }
  }
  const second = schema.safeParse(copy);
  return second.success
    ? { ok: true, data: second.data, ignored }
    : { ok: false, message: formatIssues(second.error.issues) };
}

function keyOf(input: unknown): string | undefined {
  if (
    input !== null &&
    typeof input === 'object' &&
    'key' in input &&
    typeof input.key === 'string'
  ) {
    return input.key;
  }
  return undefined;
}

/**
 * The publisher's reason for publishing a flag without its definition (see flagView in
 * src/services/publish/build.ts): the flag then evaluates to PARSE_ERROR, with this message.
 */
function unpublishable(input: unknown): string | undefined {
  if (input === null || typeof input !== 'object' || !('unpublishable' in input)) return undefined;
  const reason = input.unpublishable;
  const key = keyOf(input) ?? '?';
  return `flag "${key}" was not published: ${typeof reason === 'string' ? reason : 'unknown reason'}`;
}

function typeOfDefault(value: unknown): FlagValueType | undefined {
  switch (typeof value) {
    case 'boolean':
      return 'boolean';
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'object':
      return 'json';
    default:
      return undefined;
  }
}

/** Compiles one parsed flag: every success result it can return is built here, once. */
function compileFlag(flag: Flag, segments: ReadonlyMap<string, Matcher>): CompiledFlag {
  const meta: Record<string, string | number | boolean> = { version: flag.version };
  if (flag.scope !== undefined) meta.scope = flag.scope;
  const metadata: FlagMetadata = Object.freeze(meta);
  const values = flag.variations.map((v) => deepFreeze(v));
  const result = (
    index: number,
    reason: EvaluationReason,
    rule: { index: number; id: string | undefined } | undefined,
    inExperiment: boolean,
  ): EvaluationResult =>
    Object.freeze({
      flagKey: flag.key,
      value: values[index] ?? null,
      variant: flag.variationNames?.[index] ?? String(index),
      reason,
      errorCode: undefined,
      errorMessage: undefined,
      variationIndex: index,
      ruleIndex: rule?.index,
      ruleId: rule?.id,
      inExperiment,
      flagVersion: flag.version,
      flagMetadata: metadata,
    });

  const serve = (
    s: { variation?: number | undefined; rollout?: Rollout | undefined },
    fixedReason: EvaluationReason,
    rule: { index: number; id: string | undefined } | undefined,
  ): Serve => {
    const rollout = s.rollout;
    if (rollout === undefined)
      return { kind: 'fixed', result: result(s.variation ?? 0, fixedReason, rule, false) };
    // Zero weights can never be chosen; dropping them keeps the threshold scan short.
    const entries = rollout.variations.filter((v) => v.weight > 0);
    const results = entries.map((v) =>
      result(v.variation, EvaluationReason.SPLIT, rule, flag.experiment),
    );
    const only = results[0];
    // A rollout with all the weight on one variation needs no bucketing key.
    if (results.length === 1 && only) return { kind: 'fixed', result: only };
    let total = 0;
    const thresholds = entries.map((v) => (total += v.weight));
    const attribute = rollout.bucketBy ?? 'targetingKey';
    return {
      kind: 'split',
      read: attributeReader(attribute),
      prefix: bucketPrefixState(flag.key, flag.salt),
      thresholds,
      results,
      missing: `flag "${flag.key}" rolls out by "${attribute}", which the context does not have`,
    };
  };

  return {
    key: flag.key,
    valueType: flag.valueType,
    enabled: flag.enabled,
    version: flag.version,
    metadata,
    off:
      flag.offVariation === undefined
        ? undefined
        : result(flag.offVariation, EvaluationReason.DISABLED, undefined, false),
    offNull: disabledResult(flag.key, null, flag.version, metadata),
    rules: flag.rules.map((rule, index) => ({
      clauses: rule.clauses.map((c) => compileClause(c, segments)),
      serve: serve(rule, EvaluationReason.TARGETING_MATCH, { index, id: rule.id }),
    })),
    fallthrough: serve(
      flag.fallthrough,
      flag.rules.length === 0 ? EvaluationReason.STATIC : EvaluationReason.DEFAULT,
      undefined,
    ),
  };
}

/** The result, or the error message when a rollout has no bucketing value. */
function serveFor(serve: Serve, ctx: EvaluationContext): EvaluationResult | string {
  if (serve.kind === 'fixed') return serve.result;
  const value = serve.read(ctx);
  // An empty key would put every anonymous visitor in one bucket: treat it as missing.
  if (value === undefined || value === '') return serve.missing;
  const bucket = bucketFromPrefix(serve.prefix, typeof value === 'string' ? value : String(value));
  const { thresholds, results } = serve;
  for (let i = 0; i < thresholds.length; i++) {
    if (bucket < (thresholds[i] as number)) return results[i] as EvaluationResult;
  }
  // Unreachable: weights sum to the bucket scale. Serve the last entry rather than fail.
  return results[results.length - 1] as EvaluationResult;
}

/** A disabled flag without an off variation: the caller's default, reason DISABLED. */
function disabledResult<T extends FlagValue>(
  flagKey: string,
  value: T,
  flagVersion: number,
  flagMetadata: FlagMetadata,
): EvaluationResult<T> {
  return Object.freeze({
    flagKey,
    value,
    variant: undefined,
    reason: EvaluationReason.DISABLED,
    errorCode: undefined,
    errorMessage: undefined,
    variationIndex: undefined,
    ruleIndex: undefined,
    ruleId: undefined,
    inExperiment: false,
    flagVersion,
    flagMetadata,
  });
}

/** An enabled flag's result for `ctx` (see `resolve` for disabled ones). */
function resolveEnabled(flag: CompiledFlag, ctx: EvaluationContext): EvaluationResult | string {
  const rules = flag.rules;
  outer: for (let r = 0; r < rules.length; r++) {
    const rule = rules[r] as CompiledRule;
    const clauses = rule.clauses;
    for (let c = 0; c < clauses.length; c++) {
      if (!(clauses[c] as Matcher)(ctx)) continue outer;
    }
    return serveFor(rule.serve, ctx);
  }
  return serveFor(flag.fallthrough, ctx);
}

function errorResult<T extends FlagValue>(
  flagKey: string,
  value: T,
  errorCode: EvaluationErrorCode,
  errorMessage: string,
  flag?: CompiledFlag,
): EvaluationResult<T> {
  return {
    flagKey,
    value,
    variant: undefined,
    reason: EvaluationReason.ERROR,
    errorCode,
    errorMessage,
    variationIndex: undefined,
    ruleIndex: undefined,
    ruleId: undefined,
    inExperiment: false,
    flagVersion: flag?.version,
    flagMetadata: flag?.metadata,
  };
}

class CompiledFlags implements FlagEvaluator {
  constructor(
    private readonly flags: ReadonlyMap<string, CompiledFlag>,
    /** key → parse error message */
    private readonly broken: ReadonlyMap<string, string>,
    private readonly order: readonly string[],
    readonly problems: readonly CompileProblem[],
  ) {}

  evaluate<T extends FlagValue>(
    key: string,
    context: EvaluationContext | undefined,
    defaultValue: T,
    expectedType?: FlagValueType,
  ): EvaluationResult<Widen<T>> {
    return this.run(
      key,
      context,
      defaultValue as Widen<T>,
      expectedType ?? typeOfDefault(defaultValue),
    );
  }

  evaluateUntyped(key: string, context: EvaluationContext | undefined): EvaluationResult {
    return this.run(key, context, null, undefined);
  }

  evaluateAll(context: EvaluationContext | undefined): Record<string, EvaluationResult> {
    const out: Record<string, EvaluationResult> = {};
    for (const key of this.order) out[key] = this.run(key, context, null, undefined);
    return out;
  }

  /** `evaluate`, with the type check skipped when `expected` is undefined. */
  private run<T extends FlagValue>(
    key: string,
    context: EvaluationContext | undefined,
    fallback: T,
    expected: FlagValueType | undefined,
  ): EvaluationResult<T> {
    try {
      const flag = this.flags.get(key);
      if (flag === undefined) {
        const parseError = this.broken.get(key);
        return parseError === undefined
          ? errorResult(
              key,
              fallback,
              EvaluationErrorCode.FLAG_NOT_FOUND,
              `flag "${key}" is not defined`,
            )
          : errorResult(key, fallback, EvaluationErrorCode.PARSE_ERROR, parseError);
      }
      if (expected !== undefined && expected !== flag.valueType) {
        return errorResult(
          key,
          fallback,
          EvaluationErrorCode.TYPE_MISMATCH,
          `flag "${key}" is ${flag.valueType}, ${expected} was requested`,
          flag,
        );
      }
      if (!flag.enabled) {
        if (flag.off !== undefined) return flag.off as EvaluationResult<T>;
        return fallback === null
          ? (flag.offNull as EvaluationResult<T>)
          : disabledResult(key, fallback, flag.version, flag.metadata);
      }
      const result = resolveEnabled(flag, context ?? EMPTY_CONTEXT);
      if (typeof result === 'string') {
        return errorResult(key, fallback, EvaluationErrorCode.TARGETING_KEY_MISSING, result, flag);
      }
      // The flag's valueType matched the requested type, so its value is a T.
      return result as EvaluationResult<T>;
    } catch (err) {
      return errorResult(key, fallback, EvaluationErrorCode.GENERAL, String(err));
    }
  }

  has(key: string): boolean {
    return this.flags.has(key) || this.broken.has(key);
  }

  keys(): string[] {
    return [...this.order];
  }
}

/**
 * Parses and validates a snapshot's flags and segments once and returns their evaluator.
 *
 * Never throws. A flag that does not parse evaluates to `PARSE_ERROR` and leaves the others
 * alone; a segment that does not parse matches nobody. Both are listed in `problems`. When a key
 * appears twice the later entry wins (the publisher has already applied storefront overrides).
 */
export function compileFlags(
  flags: readonly unknown[],
  segments: readonly unknown[] = [],
): FlagEvaluator {
  const problems: CompileProblem[] = [];
  const segmentMatchers = new Map<string, Matcher>();
  (Array.isArray(segments) ? segments : []).forEach((input: unknown, i) => {
    const key = keyOf(input) ?? `#${i}`;
    const parsed = parseTolerant(SegmentSchema, input);
    if (!parsed.ok) {
      problems.push({ kind: 'segment', key, message: parsed.message });
      return;
    }
    if (parsed.ignored.length > 0) {
      problems.push({
        kind: 'segment',
        key,
        message: `ignored unknown fields: ${parsed.ignored.join(', ')}`,
      });
    }
    if (segmentMatchers.has(key))
      problems.push({ kind: 'segment', key, message: 'duplicate key; the later one wins' });
    segmentMatchers.set(key, compileSegment(parsed.data));
  });

  const compiled = new Map<string, CompiledFlag>();
  const broken = new Map<string, string>();
  const order: string[] = [];
  /** Sets `key` to a compiled flag or an error message (PARSE_ERROR); a later entry wins. */
  const replace = (key: string, outcome: CompiledFlag | string) => {
    if (compiled.has(key) || broken.has(key)) {
      problems.push({ kind: 'flag', key, message: 'duplicate key; the later one wins' });
      compiled.delete(key);
      broken.delete(key);
      order.splice(order.indexOf(key), 1);
    }
    order.push(key);
    if (typeof outcome === 'string') broken.set(key, outcome);
    else compiled.set(key, outcome);
  };
  (Array.isArray(flags) ? flags : []).forEach((input: unknown, i) => {
    const key = keyOf(input);
    let outcome: CompiledFlag | string;
    try {
      const notPublished = unpublishable(input);
      if (notPublished !== undefined) {
        problems.push({ kind: 'flag', key: key ?? `#${i}`, message: notPublished });
        if (key !== undefined) replace(key, notPublished);
        return;
      }
      const parsed = parseTolerant(FlagSchema, input);
      if (parsed.ok && parsed.ignored.length > 0) {
        problems.push({
          kind: 'flag',
          key: parsed.data.key,
          message: `ignored unknown fields: ${parsed.ignored.join(', ')}`,
        });
      }
      outcome = parsed.ok ? compileFlag(parsed.data, segmentMatchers) : parsed.message;
    } catch (err) {
      outcome = `could not compile: ${String(err)}`;
    }
    if (typeof outcome === 'string')
      problems.push({ kind: 'flag', key: key ?? `#${i}`, message: outcome });
    // Without a key nobody can ask for the flag: report it and move on.
    if (key === undefined) return;
    replace(
      key,
      typeof outcome === 'string' ? `flag "${key}" does not parse: ${outcome}` : outcome,
    );
  });
  return new CompiledFlags(compiled, broken, order, problems);
}
