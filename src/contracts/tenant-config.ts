/**
 * The RPC contract of the tenant config object (durable-objects/tenant-config.ts): one per
 * tenant, named by the tenant id, holding its latest hot config. The worker types its binding
 * and stubs with this interface, never with the class.
 */
import type { HotConfig } from '../edge/snapshot';

/** What {@link TenantConfigContract.read} answers: the version, and the config when newer. */
export interface TenantConfigRead {
  version: number;
  config?: HotConfig;
}

export interface TenantConfigContract extends Rpc.DurableObjectBranded {
  /** Stores `config` unless a newer version is already there (publishes may race). */
  publish(config: HotConfig): Promise<{ version: number; applied: boolean }>;
  /** The hot config, or only its version when the caller already has it (`knownVersion`). */
  read(knownVersion?: number): Promise<TenantConfigRead>;
}
