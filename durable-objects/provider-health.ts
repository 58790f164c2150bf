import type { ProviderHealthContract } from '../src/contracts/provider-health';
import * as breaker from '../src/payments/breaker';
import type { Attempt } from '../src/payments/types';
import { StatefulDurableObject } from './base';

/**
 * The circuit breaker of one provider for one tenant (named `<tenantId>:<provider>`), shared by
 * every isolate and payment: provider errors and timeouts open it, issuer declines never do, it
 * half-opens after a cool-down and lets one probe through. Load: the payment executor asks it
 * once per provider of a payment's route and tells it once per attempt, so its load is the
 * tenant's payment rate at that provider (a single object takes ~1,000 calls/s).
 *
 * On the base for its shape only: no alarm (a breaker's cool-down is compared with the clock
 * when asked), no `serialized` (no call awaits another object), no migrations; its state loads
 * lazily from key-value storage, so its calls, on every payment's path, skip `ready()`.
 */
export class ProviderHealthDurableObject
  extends StatefulDurableObject
  implements ProviderHealthContract
{
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
