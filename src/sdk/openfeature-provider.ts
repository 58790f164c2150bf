/**
 * OpenFeature server provider for Azotte flags. Evaluates locally with the same engine as the
 * edge, so a tenant's backend gets the same variation for a customer as the storefront does,
 * without a network call per evaluation. A disabled flag without an off variation resolves to
 * the caller's default with reason DISABLED and no variant, as flagd and OFREP providers do
 * (test/unit/openfeature-conformance.test.ts runs the specification's provider scenarios).
 *
 * ```ts
 * await OpenFeature.setProviderAndWait(
 *   new AzotteFlagsProvider({
 *     fetchFlags: async () => (await fetch(flagsUrl, { headers })).json(),
 *     refreshIntervalMs: 30_000,
 *   }),
 * );
 * const checkout = await OpenFeature.getClient().getBooleanValue('new-checkout', false, {
 *   targetingKey: customerId,
 * });
 * ```
 */
import {
  ErrorCode,
  type EvaluationContext,
  type FlagMetadata,
  type JsonValue,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { compileFlags } from '../flags/engine';
import type {
  EvaluationErrorCode,
  EvaluationResult,
  EvaluationContext as FlagsContext,
  FlagValue,
  FlagValueType,
} from '../flags/types';

/** What `fetchFlags` returns: the flag list (snapshot-shaped flags) and the segments. */
export interface AzotteFlagsPayload {
  flags: readonly unknown[];
  segments?: readonly unknown[];
}

export interface AzotteFlagsProviderOptions {
  /** Loads the tenant's flags (a bare array is read as `{ flags }`). May reject. */
  fetchFlags: () => Promise<AzotteFlagsPayload | readonly unknown[]>;
  /**
   * Re-fetch every this many milliseconds; 0 (the default) turns polling off, call `refresh()`.
   * On Cloudflare Workers timers only run while a request is in flight: prefer `refresh()`
   * there (e.g. from a cron trigger or when a request sees stale data).
   */
  refreshIntervalMs?: number;
  /** Told about background refreshes that fail (the previous flags stay in use). */
  onError?: (error: unknown) => void;
}

const ERROR_CODES: Record<EvaluationErrorCode, ErrorCode> = {
  FLAG_NOT_FOUND: ErrorCode.FLAG_NOT_FOUND,
  TYPE_MISMATCH: ErrorCode.TYPE_MISMATCH,
  TARGETING_KEY_MISSING: ErrorCode.TARGETING_KEY_MISSING,
  PARSE_ERROR: ErrorCode.PARSE_ERROR,
  GENERAL: ErrorCode.GENERAL,
};

/** The OpenFeature context minus what our engine cannot compare (dates, objects, arrays). */
function toFlagsContext(context: EvaluationContext): FlagsContext {
  const out: FlagsContext = {};
  for (const [key, value] of Object.entries(context)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      out[key] = value;
    }
  }
  return out;
}

/** Flag metadata plus what an exposure record needs, in OpenFeature's metadata shape. */
function metadataOf(result: EvaluationResult): FlagMetadata {
  const meta: Record<string, string | number | boolean> = { ...result.flagMetadata };
  if (result.variationIndex !== undefined) meta.variationIndex = result.variationIndex;
  if (result.ruleIndex !== undefined) meta.ruleIndex = result.ruleIndex;
  if (result.ruleId !== undefined) meta.ruleId = result.ruleId;
  meta.inExperiment = result.inExperiment;
  return meta;
}

function fingerprints(payload: AzotteFlagsPayload): Map<string, string> {
  const out = new Map<string, string>();
  payload.flags.forEach((flag, i) => {
    const key =
      flag !== null && typeof flag === 'object' && 'key' in flag && typeof flag.key === 'string'
        ? flag.key
        : `#${i}`;
    out.set(key, JSON.stringify(flag));
  });
  return out;
}

/** An OpenFeature server provider that evaluates Azotte flags locally. */
export class AzotteFlagsProvider implements Provider {
  readonly metadata = { name: 'azotte-flags' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();

  private evaluator: ReturnType<typeof compileFlags> | undefined;
  private flagPrints = new Map<string, string>();
  private segmentsPrint = '[]';
  private inFlight: Promise<void> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private initializing = false;
  private stale = false;

  constructor(private readonly options: AzotteFlagsProviderOptions) {}

  /** Called by the SDK: the first fetch. Rejecting marks the provider ERROR until one succeeds. */
  async initialize(): Promise<void> {
    this.initializing = true;
    this.startPolling();
    try {
      await this.refresh();
    } finally {
      this.initializing = false;
    }
  }

  async onClose(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Fetches and compiles the flags now (concurrent calls share one fetch). Rejects when the fetch
   * fails; the previous flags stay in use and the provider reports STALE.
   */
  refresh(): Promise<void> {
    this.inFlight ??= this.load().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** The compiled flags' problems (flags that failed to parse, …), for diagnostics. */
  get problems() {
    return this.evaluator?.problems ?? [];
  }

  resolveBooleanEvaluation(
    flagKey: string,
    defaultValue: boolean,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context, 'boolean'));
  }

  resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context, 'string'));
  }

  resolveNumberEvaluation(
    flagKey: string,
    defaultValue: number,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context, 'number'));
  }

  resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context, 'json'));
  }

  private resolve<T extends FlagValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
    type: FlagValueType,
  ): ResolutionDetails<T> {
    if (this.evaluator === undefined) {
      return {
        value: defaultValue,
        reason: 'ERROR',
        errorCode: ErrorCode.PROVIDER_NOT_READY,
        errorMessage: 'flags have not been loaded',
      };
    }
    const result = this.evaluator.evaluate(flagKey, toFlagsContext(context), defaultValue, type);
    return {
      // `type` was checked against the flag's valueType: the value is a T (or the default).
      value: result.value as T,
      variant: result.variant,
      reason: result.reason,
      errorCode: result.errorCode === undefined ? undefined : ERROR_CODES[result.errorCode],
      errorMessage: result.errorMessage,
      flagMetadata: metadataOf(result),
    };
  }

  private startPolling(): void {
    const ms = this.options.refreshIntervalMs ?? 0;
    if (ms <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.options.onError?.(err));
    }, ms);
  }

  private async load(): Promise<void> {
    let payload: AzotteFlagsPayload;
    try {
      const fetched = await this.options.fetchFlags();
      payload = Array.isArray(fetched) ? { flags: fetched } : (fetched as AzotteFlagsPayload);
      if (!Array.isArray(payload.flags))
        throw new TypeError('fetchFlags() returned no flags array');
    } catch (err) {
      if (this.evaluator !== undefined && !this.stale) {
        this.stale = true;
        this.events.emit(ProviderEvents.Stale, { message: `flag refresh failed: ${String(err)}` });
      }
      throw err;
    }
    const segments = payload.segments ?? [];
    const next = compileFlags(payload.flags, segments);
    const prints = fingerprints(payload);
    const segmentsPrint = JSON.stringify(segments);
    const previous = this.evaluator;
    const changed = new Set<string>();
    for (const [key, print] of prints) if (this.flagPrints.get(key) !== print) changed.add(key);
    for (const key of this.flagPrints.keys()) if (!prints.has(key)) changed.add(key);
    // A segment edit can change any flag that targets it; report them all rather than guess.
    if (segmentsPrint !== this.segmentsPrint) for (const key of prints.keys()) changed.add(key);

    this.evaluator = next;
    this.flagPrints = prints;
    this.segmentsPrint = segmentsPrint;
    const wasStale = this.stale;
    this.stale = false;

    if (previous === undefined) {
      // During initialize() the SDK emits READY itself; after a failed initialize we recover here.
      if (!this.initializing) this.events.emit(ProviderEvents.Ready, { message: 'flags loaded' });
      return;
    }
    if (wasStale) this.events.emit(ProviderEvents.Ready, { message: 'flag refresh recovered' });
    if (changed.size > 0) {
      this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: [...changed] });
    }
  }
}
