import type { Resolution } from './edge/resolve';
import type { StorefrontSnapshot, TenantRouting } from './edge/snapshot';

/** Bindings and vars of the worker (see wrangler.toml). */
export interface Env {
  CONFIG_KV: KVNamespace;
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
  /** The snapshot is older than the routing table says (served from the last good copy). */
  stale: boolean;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    edge: EdgeContext;
  };
}
