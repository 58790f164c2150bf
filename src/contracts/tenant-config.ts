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
  /** Records an entitlement-token revocation (kept 10 minutes, longer than a token lives). */
  revoke(r: TokenRevocation): Promise<{ rev: number }>;
  /** The revocations, or only the revision when the caller already has it (`knownRev`). */
  revocations(knownRev?: number): Promise<RevocationsRead>;
}

/**
 * Entitlement tokens of a customer (in one storefront and mode) with a version below
 * `minVersion` are revoked: the customer lost something since they were signed.
 */
export interface TokenRevocation {
  storefrontId: string;
  mode: string;
  customerId: string;
  minVersion: number;
}

/** The key of a revocation: storefront, mode and customer. */
export function revocationSubject(r: {
  storefrontId: string;
  mode: string;
  customerId: string;
}): string {
  return `${r.storefrontId}:${r.mode}:${r.customerId}`;
}

/**
 * The tenant's revocations as of `rev` (absent when the caller already has that revision):
 * `[subject, minVersion]` pairs, and `cutoff` (unix seconds): every token issued before it is
 * refused (0: none).
 */
export interface RevocationsRead {
  rev: number;
  cutoff?: number;
  entries?: [string, number][];
}
