/**
 * The RPC contract of a sandbox provider object (durable-objects/sandbox-provider.ts): one per
 * tenant and sandbox provider (`<tenantId>:<provider>`), its outage switch and ledger.
 */
import type { SandboxCharge, SandboxOutage, SandboxProviderName } from '../payments/sandbox';
import type { ProviderEvent, RefundOutcome, RefundRequest } from '../payments/types';

/** Whose sandbox provider an object is. */
export interface SandboxOwner {
  tenantId: string;
  provider: SandboxProviderName;
}

/** A webhook event waiting to be delivered, as the provider's outbox keeps it. */
export interface SandboxDelivery {
  seq: number;
  event: ProviderEvent;
  /** Deliveries tried so far. */
  tries: number;
  /** Epoch ms of the next try. */
  dueAt: number;
  /** What the last try came to (`applied`, `duplicate`, `ignored`, or why it failed). */
  last?: string;
}

export interface SandboxProviderContract extends Rpc.DurableObjectBranded {
  setOutage(outage: SandboxOutage & { reason: string }): Promise<SandboxOutage>;
  outage(): Promise<SandboxOutage>;
  /** Records a charge under its idempotency key; the key again answers the first charge. */
  record(charge: SandboxCharge, owner: SandboxOwner): Promise<SandboxCharge>;
  find(idempotencyKey: string): Promise<SandboxCharge | null>;
  refund(
    req: RefundRequest,
    providerRefundId: string,
    createdAt: number,
    owner: SandboxOwner,
  ): Promise<RefundOutcome>;
  /** Captured charges (tests: proving there is at most one). */
  captures(): Promise<SandboxCharge[]>;
  /** Webhook events not delivered yet, and those given up. */
  deliveries(): Promise<{ pending: SandboxDelivery[]; failed: SandboxDelivery[] }>;
}
