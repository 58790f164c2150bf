/**
 * The attempt loop of one logical payment over the providers a routing decision chose.
 * Transport-free: adapters, persistence (`onAttempt`) and the clock are passed in.
 *
 * The rules, so that nothing is charged twice:
 * - `captured`: done. `declined` (an issuer's answer): done, never tried elsewhere. `failed`
 *   (not classified): done, never tried elsewhere.
 * - `error` (the provider failed without charging: 5xx, `processing_error`): the next provider,
 *   up to `maxAttempts` calls in all.
 * - `unknown` (a timeout, an adapter that threw, or no answer within the adapter's `timeoutMs`
 *   plus `graceMs`): the charge is looked up at the same provider by its idempotency key first.
 *   Captured or declined there: that is the result. Nothing there: as an `error`. The lookup
 *   cannot answer (throws, times out, says `unknown`): stop with `unknown`; the payment must be
 *   resolved later (lookup again, or the provider's webhook) before anything else is tried.
 *
 * The idempotency key per provider is `${paymentId}:${provider}`, so running the loop again for
 * the same payment replays each provider's charge rather than making a new one. A caller that
 * retries a payment (after a crash, or `onAttempt` failing) must pass the same decision it
 * persisted the first time, never a fresh one: a new order could skip a provider that captured.
 */
import { DEFAULT_MAX_ATTEMPTS } from './routing';
import type {
  Attempt,
  ChargeOutcome,
  ChargeRequest,
  PaymentResult,
  ProviderAdapter,
  RouteDecision,
} from './types';

/** The idempotency key of a payment's charge at one provider. */
export function attemptIdempotencyKey(paymentId: string, provider: string): string {
  return `${paymentId}:${provider}`;
}

export interface ExecutePaymentInput {
  decision: Pick<RouteDecision, 'order'>;
  adapters: (provider: string) => ProviderAdapter | undefined;
  request: Omit<ChargeRequest, 'idempotencyKey'>;
  /** The logical payment's id (`pay_…`): the idempotency keys derive from it. */
  paymentId: string;
  /** Providers called at most (default 2); `decision.order` is cut to it. */
  maxAttempts?: number;
  /**
   * Called with each attempt before the next provider is tried or the result returned; await
   * your write here. If it rejects, `executePayment` rejects with that error (retry with the
   * same decision: the keys make it a replay).
   */
  onAttempt?: (attempt: Attempt, index: number) => Promise<void>;
  /** Epoch-ms clock for latencies (default `Date.now`). */
  now?: () => number;
  /** How long past an adapter's own `timeoutMs` the executor waits for it (default 1,000 ms). */
  graceMs?: number;
}

type Settled<T> = { kind: 'value'; value: T } | { kind: 'threw' } | { kind: 'timeout' };

/** Waits for `promise` at most `ms`; never rejects. */
async function settle<T>(promise: () => Promise<T>, ms: number): Promise<Settled<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<Settled<T>>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), ms);
  });
  try {
    return await Promise.race([
      (async (): Promise<Settled<T>> => {
        try {
          return { kind: 'value', value: await promise() };
        } catch {
          return { kind: 'threw' };
        }
      })(),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** An outcome from an adapter we trust only as far as its status says. */
function known(outcome: ChargeOutcome | null | undefined): ChargeOutcome | null {
  if (outcome === null || outcome === undefined) return null;
  switch (outcome.status) {
    case 'captured':
      return typeof outcome.providerChargeId === 'string' ? outcome : null;
    case 'declined':
    case 'error':
    case 'failed':
      return outcome;
    default:
      return null;
  }
}

function attemptOf(
  provider: string,
  idempotencyKey: string,
  outcome: ChargeOutcome,
  latencyMs: number,
  lookedUp: boolean,
): Attempt {
  const a: Attempt = { provider, idempotencyKey, status: outcome.status, latencyMs };
  if (outcome.status === 'captured') a.providerChargeId = outcome.providerChargeId;
  if (outcome.status === 'declined' || outcome.status === 'error') {
    a.declineCode = outcome.declineCode;
    a.declineClass = outcome.declineClass;
  }
  if (outcome.status === 'failed') a.declineCode = outcome.declineCode;
  if (lookedUp) a.lookedUp = true;
  return a;
}

/** One call at one provider, with the lookup after an unknown outcome. */
async function attemptAt(
  provider: string,
  adapter: ProviderAdapter,
  request: ChargeRequest,
  now: () => number,
  graceMs: number,
): Promise<Attempt> {
  const started = now();
  const wait = Math.max(0, adapter.timeoutMs) + graceMs;
  const key = request.idempotencyKey;
  const charged = await settle(() => adapter.charge(request), wait);
  const outcome = charged.kind === 'value' ? known(charged.value) : null;
  if (outcome !== null) return attemptOf(provider, key, outcome, now() - started, false);

  const looked = await settle(() => adapter.lookup(key), wait);
  const latencyMs = now() - started;
  if (looked.kind === 'value' && looked.value === null) {
    // Nothing was charged there: as a provider error.
    return attemptOf(
      provider,
      key,
      { status: 'error', declineCode: 'timeout', declineClass: 'provider', latencyMs },
      latencyMs,
      true,
    );
  }
  const found = looked.kind === 'value' ? known(looked.value) : null;
  if (found === null)
    return { provider, idempotencyKey: key, status: 'unknown', latencyMs, lookedUp: true };
  return attemptOf(provider, key, found, latencyMs, true);
}

/** What a loop that ended at `attempts`' last one came to. */
export function resultOfAttempts(attempts: Attempt[]): PaymentResult {
  const last = attempts[attempts.length - 1];
  if (last === undefined) {
    return { status: 'failed', attempts, declineCode: 'no_provider_available' };
  }
  const result: PaymentResult = {
    status:
      last.status === 'captured'
        ? 'succeeded'
        : last.status === 'declined'
          ? 'declined'
          : last.status === 'unknown'
            ? 'unknown'
            : 'failed',
    provider: last.provider,
    attempts,
  };
  if (last.providerChargeId !== undefined) result.providerChargeId = last.providerChargeId;
  if (last.declineCode !== undefined) result.declineCode = last.declineCode;
  if (last.declineClass !== undefined) result.declineClass = last.declineClass;
  return result;
}

/**
 * Runs the attempt loop (see the rules at the top of this file). A provider in the order
 * without an adapter is passed over without being called (and without counting as an attempt);
 * `attempts` lists only providers actually called. With no attempt at all the result is
 * `failed` with `declineCode: 'no_provider_available'`. Throws (before any call) if an adapter's
 * mode differs from the payment method's: test and live never mix.
 */
export async function executePayment(input: ExecutePaymentInput): Promise<PaymentResult> {
  const now = input.now ?? Date.now;
  const graceMs = input.graceMs ?? 1_000;
  const maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const mode = input.request.paymentMethod.mode;
  const plan: [string, ProviderAdapter][] = [];
  for (const provider of input.decision.order) {
    const adapter = input.adapters(provider);
    if (adapter === undefined) continue;
    if (adapter.mode !== mode) {
      throw new Error(
        `executePayment: a ${mode} payment method cannot go to a ${adapter.mode} adapter`,
      );
    }
    plan.push([provider, adapter]);
  }

  const attempts: Attempt[] = [];
  for (const [provider, adapter] of plan) {
    if (attempts.length >= maxAttempts) break;
    const request: ChargeRequest = {
      ...input.request,
      idempotencyKey: attemptIdempotencyKey(input.paymentId, provider),
      reference: input.paymentId,
    };
    const attempt = await attemptAt(provider, adapter, request, now, graceMs);
    attempts.push(attempt);
    await input.onAttempt?.(attempt, attempts.length - 1);
    if (attempt.status !== 'error') break;
  }
  return resultOfAttempts(attempts);
}
