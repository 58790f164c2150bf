/**
 * A circuit breaker per tenant and provider, as pure logic over a small JSON-serializable state
 * (held by a Durable Object; every function returns a new state and never mutates its input).
 *
 * The rule: the breaker opens after `failureThreshold` (5) failures within `windowMs` (60 s),
 * counted over a sliding window of failure times. Successes do not reset the count: five
 * errors in a minute open it whatever else succeeded (simple to reason about, and a provider
 * failing one call in three at volume still trips it within seconds).
 * - **Failure**: a provider error (`error`) or a timeout (`unknown`, also when a lookup later
 *   resolved it: `lookedUp`). **Success**: `captured` or `declined`: an issuer decline is the
 *   provider working. **Neutral**: `failed` (an error we cannot classify says nothing of the
 *   provider's health).
 * - **open** → **half-open** once `cooldownMs` (30 s) has passed since it opened. Half-open lets
 *   one probe through (`admit` claims it); a success closes the breaker, a failure re-opens it
 *   (a new cool-down), a neutral result frees the probe slot. A probe with no result after
 *   `probeTimeoutMs` (10 s) is presumed lost and another may go.
 * - Results of calls admitted before the breaker opened are ignored while it is open.
 */

export interface BreakerOptions {
  failureThreshold: number;
  windowMs: number;
  cooldownMs: number;
  probeTimeoutMs: number;
}

export const DEFAULT_BREAKER_OPTIONS: Readonly<BreakerOptions> = {
  failureThreshold: 5,
  windowMs: 60_000,
  cooldownMs: 30_000,
  probeTimeoutMs: 10_000,
};

export type BreakerStatus = 'closed' | 'open' | 'half_open';

/** Serializable breaker state (plain JSON: numbers, arrays, null). */
export interface BreakerState {
  /** The stored status; `open` becomes half-open by time alone (see `breakerStatus`). */
  status: BreakerStatus;
  /** Epoch ms of recent failures while closed, ascending, at most `failureThreshold`. */
  failures: number[];
  /** When it last opened (epoch ms), or null. */
  openedAt: number | null;
  /** Half-open: when the probe was admitted, or null when no probe is in flight. */
  probeAt: number | null;
}

/** Anything with an attempt's or a charge outcome's `status` (and an attempt's `lookedUp`). */
export interface BreakerObservation {
  status: 'captured' | 'declined' | 'error' | 'unknown' | 'failed';
  lookedUp?: boolean;
}

export type BreakerSignal = 'success' | 'failure' | 'neutral';

export function initialBreakerState(): BreakerState {
  return { status: 'closed', failures: [], openedAt: null, probeAt: null };
}

/** How an attempt counts for the provider's health. */
export function breakerSignal(o: BreakerObservation): BreakerSignal {
  if (o.status === 'error' || o.status === 'unknown' || o.lookedUp === true) return 'failure';
  if (o.status === 'failed') return 'neutral';
  return 'success';
}

/** The effective status at `now`: an open breaker past its cool-down is half-open. */
export function breakerStatus(
  state: BreakerState,
  now: number,
  opts: Readonly<BreakerOptions> = DEFAULT_BREAKER_OPTIONS,
): BreakerStatus {
  if (state.status === 'open' && now - (state.openedAt ?? now) >= opts.cooldownMs) {
    return 'half_open';
  }
  return state.status;
}

function probeInFlight(state: BreakerState, now: number, opts: Readonly<BreakerOptions>): boolean {
  return (
    state.status === 'half_open' &&
    state.probeAt !== null &&
    now - state.probeAt < opts.probeTimeoutMs
  );
}

/**
 * Whether calls to the provider are refused at `now`: open within its cool-down, or half-open
 * with its one probe in flight. Read-only; a caller that will make the call uses `admit`, so
 * that two callers cannot both take the half-open probe.
 */
export function isOpen(
  state: BreakerState,
  now: number,
  opts: Readonly<BreakerOptions> = DEFAULT_BREAKER_OPTIONS,
): boolean {
  const status = breakerStatus(state, now, opts);
  if (status === 'open') return true;
  return status === 'half_open' && probeInFlight(state, now, opts);
}

/**
 * Asks to make a call at `now`. Closed: allowed. Open: refused. Half-open: the first caller
 * gets the probe (the returned state records it), the others are refused until its result
 * (or `probeTimeoutMs`).
 */
export function admit(
  state: BreakerState,
  now: number,
  opts: Readonly<BreakerOptions> = DEFAULT_BREAKER_OPTIONS,
): { allowed: boolean; state: BreakerState } {
  const status = breakerStatus(state, now, opts);
  if (status === 'closed') return { allowed: true, state };
  if (status === 'open') return { allowed: false, state };
  if (state.status === 'half_open' && probeInFlight(state, now, opts)) {
    return { allowed: false, state };
  }
  return {
    allowed: true,
    state: { status: 'half_open', failures: [], openedAt: state.openedAt, probeAt: now },
  };
}

function opened(now: number): BreakerState {
  return { status: 'open', failures: [], openedAt: now, probeAt: null };
}

/** Folds one call's outcome (an `Attempt`, a `ChargeOutcome`, or a signal) into the state. */
export function record(
  state: BreakerState,
  outcome: BreakerObservation | BreakerSignal,
  now: number,
  opts: Readonly<BreakerOptions> = DEFAULT_BREAKER_OPTIONS,
): BreakerState {
  const signal = typeof outcome === 'string' ? outcome : breakerSignal(outcome);
  const status = breakerStatus(state, now, opts);
  if (status === 'open') return state;
  if (status === 'half_open') {
    if (signal === 'success') return initialBreakerState();
    if (signal === 'failure') return opened(now);
    return { status: 'half_open', failures: [], openedAt: state.openedAt, probeAt: null };
  }
  if (signal !== 'failure') return state;
  const since = now - opts.windowMs;
  const failures = state.failures.filter((t) => t > since && t <= now);
  failures.push(now);
  if (failures.length >= opts.failureThreshold) return opened(now);
  return { status: 'closed', failures, openedAt: state.openedAt, probeAt: null };
}
