/**
 * The RPC contract of the publisher object (durable-objects/publisher.ts): one per tenant, named
 * by the tenant id, the one writer of that tenant's published read model.
 */
import type { TenantRouting } from '../edge/snapshot';
import type { TenantPublishResult, TenantPublishState } from '../services/publish/publish';

/** What a publisher remembers between publishes. */
export type PublisherState = TenantPublishState & {
  /** A routing entry deferred by KV's write rate, written by the alarm. */
  pendingRouting?: TenantRouting;
  /** The tenant this publisher belongs to, once it has published. */
  tenantId?: string;
};

export interface PublisherContract extends Rpc.DurableObjectBranded {
  /**
   * Publishes `tenantId` (the object's own tenant) from Postgres. Calls that arrive while a
   * publish runs share the next one.
   */
  publish(tenantId: string): Promise<TenantPublishResult>;
  /** What the object remembers (tests, operations). */
  inspect(): Promise<PublisherState>;
}
