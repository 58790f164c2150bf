/**
 * The sandbox providers' backend over their Durable Objects (one per tenant and provider), so
 * the sandbox adapters (src/payments/sandbox.ts) keep their ledger and outage switch where
 * every isolate and payment sees the same.
 */
import type { SandboxProviderContract } from '../../contracts/sandbox-provider';
import type { SandboxBackend, SandboxCharge, SandboxOutage } from '../../payments/sandbox';
import type { RefundOutcome, RefundRequest } from '../../payments/types';

export class DurableObjectSandboxBackend implements SandboxBackend {
  /**
   * Signs this sandbox provider's webhooks. Sandbox only (test mode); a real adapter takes its
   * provider's secret from the environment.
   */
  readonly webhookSecret: string;

  constructor(
    private readonly stub: DurableObjectStub<SandboxProviderContract>,
    name: string,
  ) {
    this.webhookSecret = `whsec_sandbox_${name}`;
  }

  outage(): Promise<SandboxOutage> {
    return this.stub.outage();
  }

  record(charge: SandboxCharge): Promise<SandboxCharge> {
    return this.stub.record(charge) as Promise<SandboxCharge>;
  }

  find(idempotencyKey: string): Promise<SandboxCharge | null> {
    return this.stub.find(idempotencyKey) as Promise<SandboxCharge | null>;
  }

  refund(req: RefundRequest, providerRefundId: string, createdAt: number): Promise<RefundOutcome> {
    return this.stub.refund(req, providerRefundId, createdAt) as Promise<RefundOutcome>;
  }
}
