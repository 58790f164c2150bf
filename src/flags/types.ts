/**
 * Evaluation types. The reason and error-code strings are OpenFeature's, so the OpenFeature
 * provider passes them through unchanged; the engine itself does not depend on the SDK.
 */

export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** What a flag can serve. */
export type FlagValue = JsonValue;

/** `valueType` of a flag. `json` flags may serve any JSON value (usually an object). */
export type FlagValueType = 'boolean' | 'string' | 'number' | 'json';

/**
 * Who is being evaluated. `targetingKey` identifies the subject (usually the customer id) and is
 * the default bucketing value; `customerId` is accepted as its alias in both directions. Values
 * that are neither string, number nor boolean are treated as absent.
 */
export interface EvaluationContext {
  targetingKey?: string;
  storefront?: string;
  channel?: string;
  country?: string;
  platform?: string;
  appVersion?: string;
  [custom: string]: string | number | boolean | undefined;
}

export const EvaluationReason = {
  /** The flag has no rules and serves a fixed variation. */
  STATIC: 'STATIC',
  /** A targeting rule matched and served a fixed variation. */
  TARGETING_MATCH: 'TARGETING_MATCH',
  /** A percentage rollout (in a rule or the fallthrough) chose the variation. */
  SPLIT: 'SPLIT',
  /** The flag has rules, none matched, and the fallthrough serves a fixed variation. */
  DEFAULT: 'DEFAULT',
  /**
   * The flag is disabled: its `offVariation` is served, or, when it has none, the caller's
   * default value (no variant), as OpenFeature providers resolve a disabled flag.
   */
  DISABLED: 'DISABLED',
  /** Evaluation failed: the caller's default value is returned, see `errorCode`. */
  ERROR: 'ERROR',
} as const;
export type EvaluationReason = (typeof EvaluationReason)[keyof typeof EvaluationReason];

export const EvaluationErrorCode = {
  FLAG_NOT_FOUND: 'FLAG_NOT_FOUND',
  /** The caller asked for another type than the flag's `valueType`. */
  TYPE_MISMATCH: 'TYPE_MISMATCH',
  /** A rollout needs a bucketing value (targeting key or `bucketBy` attribute) and has none. */
  TARGETING_KEY_MISSING: 'TARGETING_KEY_MISSING',
  /** The flag's definition does not parse. */
  PARSE_ERROR: 'PARSE_ERROR',
  GENERAL: 'GENERAL',
} as const;
export type EvaluationErrorCode = (typeof EvaluationErrorCode)[keyof typeof EvaluationErrorCode];

/** Static facts about the flag, in OpenFeature's flag-metadata shape. */
export type FlagMetadata = Readonly<Record<string, string | number | boolean>>;

/**
 * The outcome of one evaluation. Never thrown: on error `value` is the caller's default,
 * `reason` is `ERROR` and `errorCode` says why.
 *
 * Successful results are precomputed per flag, frozen and shared between calls: do not mutate.
 */
export interface EvaluationResult<T extends FlagValue = FlagValue> {
  flagKey: string;
  value: T;
  /**
   * The variation's name (`variationNames`) or its index as a string; absent on error and when
   * a disabled flag without an off variation returned the caller's default.
   */
  variant?: string;
  reason: EvaluationReason;
  errorCode?: EvaluationErrorCode;
  errorMessage?: string;
  /** Index into the flag's `variations`; absent when none served. Record it with exposures. */
  variationIndex?: number;
  /** Index of the matching rule; absent when the fallthrough, the off variation or an error served. */
  ruleIndex?: number;
  /** `id` of the matching rule, when it has one (stable across rule reordering). */
  ruleId?: string;
  /** True when an experiment flag's rollout assigned the variation: record an exposure. */
  inExperiment: boolean;
  /** The flag's version, when the flag exists and parsed. */
  flagVersion?: number;
  flagMetadata?: FlagMetadata;
}

/** A flag or segment the compiler rejected or had to adjust. */
export interface CompileProblem {
  kind: 'flag' | 'segment';
  /** Its key, or `#<index>` when it has none. */
  key: string;
  message: string;
}
