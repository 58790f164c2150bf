import type { TenantConfigDurableObject } from '../durable-objects/tenant-config';
import type { ClientInfo } from './edge/channel';
import type { Resolution } from './edge/resolve';
import type { HotStorefrontConfig, StorefrontSnapshot, TenantRouting } from './edge/snapshot';

/** Bindings and vars of the worker (see wrangler.toml). */
export interface Env {
  CONFIG_KV: KVNamespace;
  /** One object per tenant: config version + hot config (flags, killswitches). */
  TENANT_CONFIG: DurableObjectNamespace<TenantConfigDurableObject>;
  /** `development` | `test` | `production` */
  ENVIRONMENT?: string;
  /** `"true"` lets `CF-IPCountry` / `CF-IPContinent` stand in for `request.cf` (never in production). */
  DEV_GEO_HEADERS?: string;
  /** Postgres: a secret in production. */
  DATABASE_URL?: string;
  /** Local development and tests only: the WebSocket → TCP proxy in front of Postgres. */
  NEON_LOCAL_WS_PROXY?: string;
  /** Bearer token for `POST /internal/publish` (a secret; `npm start` generates one). */
  PUBLISH_TOKEN?: string;
}

/** What the storefront middleware resolved for this request. */
export interface EdgeContext {
  resolution: Extract<Resolution, { ok: true }>;
  tenant: TenantRouting;
  snapshot: StorefrontSnapshot;
  /** Flags and killswitches in effect: the tenant DO's when newer than the snapshot's. */
  hot: HotStorefrontConfig;
  /**
   * False when the edge cannot confirm it has fresh config: the snapshot is a last good copy,
   * or the tenant's config object has not answered for a while. Fail-closed switches engage.
   */
  fresh: boolean;
  client: ClientInfo;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    edge: EdgeContext;
  };
}
