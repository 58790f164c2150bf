/**
 * The RPC contract of the host directory object (durable-objects/host-directory.ts): one for the
 * deployment (named `global`), which tenant holds each host.
 */
import type { DirectoryView, HostEntry } from '../edge/snapshot';
import type { HostApplyResult } from '../services/publish/publish';

/** A tenant's host as its publisher sends it (src/services/publish/build.ts, TenantHost). */
export interface DirectoryHost {
  host: string;
  storefrontId: string | null;
  /** When the host's route was created (epoch ms): the newer claim of a host wins. */
  since: number;
}

export interface HostDirectoryContract extends Rpc.DurableObjectBranded {
  /** Makes `hosts` the tenant's whole host set; writes the KV entries that change. */
  apply(tenantId: string, hosts: DirectoryHost[]): Promise<HostApplyResult>;
  /** The change counter and the recent changes, for the edge's host cache. */
  read(): Promise<DirectoryView>;
  /** Which tenant holds `host` (operations, tests). */
  owner(host: string): Promise<HostEntry | null>;
}
