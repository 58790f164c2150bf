/**
 * The RPC contract of a provider health object (durable-objects/provider-health.ts): the circuit
 * breaker of one provider for one tenant (`<tenantId>:<provider>`).
 */
import type { BreakerStatus } from '../payments/breaker';
import type { Attempt } from '../payments/types';

export interface ProviderHealthContract extends Rpc.DurableObjectBranded {
  /** Whether a payment may use the provider now (a half-open breaker admits one probe). */
  admit(): Promise<{ allowed: boolean; status: BreakerStatus }>;
  /** One attempt's outcome. */
  record(attempt: Pick<Attempt, 'status' | 'lookedUp'>): Promise<BreakerStatus>;
  status(): Promise<BreakerStatus>;
}
