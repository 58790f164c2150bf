import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../src/env';
import * as breaker from '../src/payments/breaker';
import type { Attempt } from '../src/payments/types';

/**
 * The circuit breaker of one provider for one tenant (named `<tenantId>:<provider>`), shared by
 * every isolate and payment: provider errors and timeouts open it, issuer declines never do, it
 * half-opens after a cool-down and lets one probe through. Load: the payment executor asks it
 * once per provider of a payment's route and tells it once per attempt, so its load is the
 * tenant's payment rate at that provider (a single object takes ~1,000 calls/s).
 */
export class ProviderHealthDurableObject extends DurableObject<Env> {
  private state: breaker.BreakerState | undefined;

  private async load(): Promise<breaker.BreakerState> {
    this.state ??=
      (await this.ctx.storage.get<breaker.BreakerState>('breaker')) ??
      breaker.initialBreakerState();
    return this.state;
  }

  /** Whether a payment may use the provider now (a half-open breaker admits one probe). */
  async admit(): Promise<{ allowed: boolean; status: breaker.BreakerStatus }> {
    const now = Date.now();
    const { allowed, state } = breaker.admit(await this.load(), now);
    this.state = state;
    await this.ctx.storage.put('breaker', state);
    return { allowed, status: breaker.breakerStatus(state, now) };
  }

  /** One attempt's outcome. */
  async record(attempt: Pick<Attempt, 'status' | 'lookedUp'>): Promise<breaker.BreakerStatus> {
    const now = Date.now();
    const state = breaker.record(await this.load(), attempt, now);
    this.state = state;
    await this.ctx.storage.put('breaker', state);
    return breaker.breakerStatus(state, now);
  }

  async status(): Promise<breaker.BreakerStatus> {
    return breaker.breakerStatus(await this.load(), Date.now());
  }
}
