/**
 * The RPC contract of a sandbox provider object (durable-objects/sandbox-provider.ts): one per
 * tenant and sandbox provider (`<tenantId>:<provider>`), its outage switch and ledger.
 */
import type { SandboxCharge, SandboxOutage } from '../payments/sandbox';
import type { RefundOutcome, RefundRequest } from '../payments/types';

export interface SandboxProviderContract extends Rpc.DurableObjectBranded {
  setOutage(outage: SandboxOutage & { reason: string }): Promise<SandboxOutage>;
  outage(): Promise<SandboxOutage>;
  /** Records a charge under its idempotency key; the key again answers the first charge. */
  record(charge: SandboxCharge): Promise<SandboxCharge>;
  find(idempotencyKey: string): Promise<SandboxCharge | null>;
  refund(req: RefundRequest, providerRefundId: string, createdAt: number): Promise<RefundOutcome>;
  /** Captured charges (tests: proving there is at most one). */
  captures(): Promise<SandboxCharge[]>;
}
