/**
 * The sandbox providers' backend over their Durable Objects (one per tenant and provider), so
 * the sandbox adapters (src/payments/sandbox.ts) keep their ledger and outage switch where
 * every isolate and payment sees the same; and the deployment secrets the payments layer keys
 * its HMACs with.
 */
import type { SandboxOwner, SandboxProviderContract } from '../../contracts/sandbox-provider';
import type { Env } from '../../env';
import { hmacSha256Hex } from '../../lib/crypto';
import {
  SandboxAdapter,
  type SandboxAdapterOptions,
  type SandboxBackend,
  type SandboxCharge,
  type SandboxOutage,
} from '../../payments/sandbox';
import type { RefundOutcome, RefundRequest } from '../../payments/types';

export type { SandboxOwner };

/**
 * The deployment's secret for one purpose of the payments layer (payment-method fingerprints,
 * sandbox webhook secrets): never the raw secret, so one purpose's HMACs say nothing of
 * another's.
 */
export function paymentsSecret(
  env: Pick<Env, 'SIGNING_KEY_SECRET' | 'SESSION_SECRET'>,
  purpose: string,
): string {
  const secret = env.SIGNING_KEY_SECRET ?? env.SESSION_SECRET;
  if (!secret) throw new Error('SIGNING_KEY_SECRET is not set');
  return `${purpose}:${secret}`;
}

/**
 * The secret a tenant's sandbox provider signs its webhooks with: derived (HMAC under the
 * deployment's secret) from the tenant and the provider, so it is stable across deploys, differs
 * per tenant and provider, and is never stored. The tenant's operators read it from
 * `GET /admin/v1/tenants/{tenant}/sandbox/providers/{provider}`.
 */
export async function sandboxWebhookSecret(
  env: Pick<Env, 'SIGNING_KEY_SECRET' | 'SESSION_SECRET'>,
  owner: SandboxOwner,
): Promise<string> {
  const mac = await hmacSha256Hex(
    paymentsSecret(env, 'sandbox-webhook'),
    `${owner.tenantId}:${owner.provider}`,
  );
  return `whsec_${mac.slice(0, 40)}`;
}

export function sandboxStub(
  env: Pick<Env, 'SANDBOX_PROVIDER'>,
  owner: SandboxOwner,
): DurableObjectStub<SandboxProviderContract> {
  return env.SANDBOX_PROVIDER.get(
    env.SANDBOX_PROVIDER.idFromName(`${owner.tenantId}:${owner.provider}`),
  );
}

export class DurableObjectSandboxBackend implements SandboxBackend {
  private secret: Promise<string> | undefined;

  constructor(
    private readonly env: Pick<Env, 'SANDBOX_PROVIDER' | 'SIGNING_KEY_SECRET' | 'SESSION_SECRET'>,
    private readonly owner: SandboxOwner,
  ) {}

  private get stub(): DurableObjectStub<SandboxProviderContract> {
    return sandboxStub(this.env, this.owner);
  }

  webhookSecret(): Promise<string> {
    this.secret ??= sandboxWebhookSecret(this.env, this.owner);
    return this.secret;
  }

  outage(): Promise<SandboxOutage> {
    return this.stub.outage();
  }

  record(charge: SandboxCharge): Promise<SandboxCharge> {
    return this.stub.record(charge, this.owner) as Promise<SandboxCharge>;
  }

  find(idempotencyKey: string): Promise<SandboxCharge | null> {
    return this.stub.find(idempotencyKey) as Promise<SandboxCharge | null>;
  }

  refund(req: RefundRequest, providerRefundId: string, createdAt: number): Promise<RefundOutcome> {
    return this.stub.refund(req, providerRefundId, createdAt, this.owner) as Promise<RefundOutcome>;
  }
}

/** The sandbox adapter of one tenant's provider, over its object. */
export function sandboxAdapterFor(
  env: Pick<
    Env,
    'SANDBOX_PROVIDER' | 'SIGNING_KEY_SECRET' | 'SESSION_SECRET' | 'SANDBOX_TIMEOUT_MS'
  >,
  owner: SandboxOwner,
  opts: SandboxAdapterOptions = {},
): SandboxAdapter {
  return new SandboxAdapter(owner.provider, new DurableObjectSandboxBackend(env, owner), {
    timeoutMs: sandboxTimeoutMs(env),
    ...opts,
  });
}

/** The sandbox adapters' timeout: `SANDBOX_TIMEOUT_MS` (50–30,000), else 2,000 ms. */
export function sandboxTimeoutMs(env: Pick<Env, 'SANDBOX_TIMEOUT_MS'>): number {
  const n = Number(env.SANDBOX_TIMEOUT_MS ?? '');
  return Number.isInteger(n) && n >= 50 && n <= 30_000 ? n : 2_000;
}
