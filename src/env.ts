import type { CustomerEntitlementsContract } from './contracts/customer-entitlements';
import type { HostDirectoryContract } from './contracts/host-directory';
import type { PaymentContract } from './contracts/payment';
import type { PaymentMethodContract } from './contracts/payment-method';
import type { ProviderHealthContract } from './contracts/provider-health';
import type { PublisherContract } from './contracts/publisher';
import type { RateLimiterContract } from './contracts/rate-limiter';
import type { SandboxProviderContract } from './contracts/sandbox-provider';
import type { SubscriptionContract } from './contracts/subscription';
import type { TenantConfigContract } from './contracts/tenant-config';
import type { TestClockContract } from './contracts/test-clock';
import type { Db } from './db/types';
import type { ClientInfo } from './edge/channel';
import type { Geo } from './edge/geo';
import type { HotKeyIndex } from './edge/key-store';
import type { Resolution } from './edge/resolve';
import type {
  EdgeApiKey,
  HotStorefrontConfig,
  StorefrontSnapshot,
  TenantRouting,
} from './edge/snapshot';
import type { OperatorPrincipal } from './services/admin/operators';

/**
 * Bindings and vars of the worker (see wrangler.toml). Durable Object namespaces are typed by
 * their RPC contracts (src/contracts/), so the worker depends on types, never on the classes.
 */
export interface Env {
  CONFIG_KV: KVNamespace;
  /** Flag exposures on their way to Postgres (consumed by `queue()` in src/index.ts). */
  EXPOSURES?: Queue<import('./queues/exposures').ExposureMessage>;
  /** One object per tenant (by id): the one writer of that tenant's published read model. */
  PUBLISHER: DurableObjectNamespace<PublisherContract>;
  /** One object (`global`): which tenant holds each host; writes the `host/…` KV entries. */
  HOST_DIRECTORY: DurableObjectNamespace<HostDirectoryContract>;
  /** One object per tenant: config version + hot config (flags, killswitches). */
  TENANT_CONFIG: DurableObjectNamespace<TenantConfigContract>;
  /** One object per logical payment (by id): its decision, attempts, result and refunds. */
  PAYMENT: DurableObjectNamespace<PaymentContract>;
  /** One object per tenant and sandbox provider (`<tenant>:<provider>`): ledger and outage switch. */
  SANDBOX_PROVIDER: DurableObjectNamespace<SandboxProviderContract>;
  /** One object per tenant and provider (`<tenant>:<provider>`): the circuit breaker. */
  PROVIDER_HEALTH: DurableObjectNamespace<ProviderHealthContract>;
  /** One per subscription: its live state, billing, payments and event log. */
  SUBSCRIPTION: DurableObjectNamespace<SubscriptionContract>;
  /** One per test clock (test mode only). */
  TEST_CLOCK: DurableObjectNamespace<TestClockContract>;
  /** One per tokenized payment method (read without Postgres). */
  PAYMENT_METHOD: DurableObjectNamespace<PaymentMethodContract>;
  /**
   * One per tenant, storefront, mode and customer (`entitlementsObjectName`): the customer's
   * entitlements folded from their subscriptions' states, and the quota counters.
   */
  CUSTOMER_ENTITLEMENTS: DurableObjectNamespace<CustomerEntitlementsContract>;
  /** How long a sandbox charge may take before it is abandoned as unknown (ms, default 2,000). */
  SANDBOX_TIMEOUT_MS?: string;
  /** One object per rate-limited subject (API key, client IP, customer): exact sliding windows. */
  RATE_LIMITER: DurableObjectNamespace<RateLimiterContract>;
  /** Requests per minute per publishable API key without a limit of its own (default 600). */
  RATE_LIMIT_KEY_PER_MINUTE?: string;
  /** Requests per minute per secret API key without a limit of its own (default 6000). */
  RATE_LIMIT_SECRET_KEY_PER_MINUTE?: string;
  /** Requests per minute per client IP and storefront, for public clients (default 1200). */
  RATE_LIMIT_IP_PER_MINUTE?: string;
  /** Requests per minute per signed-in customer and storefront (default 300). */
  RATE_LIMIT_CUSTOMER_PER_MINUTE?: string;
  /** `development` | `test` | `production` */
  ENVIRONMENT?: string;
  /** `"true"` lets `CF-IPCountry` / `CF-IPContinent` stand in for `request.cf` (never in production). */
  DEV_GEO_HEADERS?: string;
  /** Postgres: a secret in production. */
  DATABASE_URL?: string;
  /** Local development and tests only: the WebSocket → TCP proxy in front of Postgres. */
  NEON_LOCAL_WS_PROXY?: string;
  /** At least 32 bytes; signs console sessions and CSRF tokens (a secret). */
  SESSION_SECRET?: string;
  /** Bearer token for `POST /internal/publish` (a secret; `npm start` generates one). */
  PUBLISH_TOKEN?: string;
  /**
   * At least 32 bytes; encrypts the tenants' customer-token signing keys at rest (a secret;
   * `npm start` keeps one in `.local/secrets.json`). Changing it makes stored keys unreadable.
   */
  SIGNING_KEY_SECRET?: string;
}

/** What the storefront middleware resolved for this request. */
export interface EdgeContext {
  resolution: Extract<Resolution, { ok: true }>;
  tenant: TenantRouting;
  snapshot: StorefrontSnapshot;
  /** Flags and killswitches in effect: the tenant DO's when newer than the snapshot's. */
  hot: HotStorefrontConfig;
  /** Recent and revoked API keys from the tenant's hot config (never the key set). */
  keys: HotKeyIndex;
  /**
   * False when the edge cannot confirm it has fresh config: the snapshot is a last good copy,
   * or the tenant's config object has not answered for a while. Fail-closed switches engage.
   */
  fresh: boolean;
  client: ClientInfo;
  /** The request's geography (request.cf, or the development stand-in headers). */
  geo: Geo;
}

/** A verified customer token, as routes see it. */
export interface CustomerPrincipal {
  customerId: string;
  storefrontId: string;
  tenantId: string;
  /** The mode of the key that issued the token: its customer reaches that mode's data only. */
  mode: 'test' | 'live';
  /** ISO time the token expires. */
  expiresAt: string;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    edge: EdgeContext;
    /** The storefront API key that authenticated this request. */
    apiKey: EdgeApiKey;
    /** The signed-in operator, with their session's id and expiry. */
    operator: OperatorPrincipal & { sessionId: string; sessionExpiresAt: Date };
    /** The customer whose token authenticated this request (verified at the edge). */
    customer: CustomerPrincipal;
    /** A database handle for this request (admin routes and the customer-writing routes). */
    db: Db;
  };
}
