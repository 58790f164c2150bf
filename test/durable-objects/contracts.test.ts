import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { HostDirectoryDurableObject } from '../../durable-objects/host-directory';
import { PaymentDurableObject } from '../../durable-objects/payment';
import { ProviderHealthDurableObject } from '../../durable-objects/provider-health';
import { PublisherDurableObject } from '../../durable-objects/publisher';
import { RateLimiterDurableObject } from '../../durable-objects/rate-limiter';
import { SandboxProviderDurableObject } from '../../durable-objects/sandbox-provider';
import { TenantConfigDurableObject } from '../../durable-objects/tenant-config';
import type { HostDirectoryContract } from '../../src/contracts/host-directory';
import type { PaymentContract } from '../../src/contracts/payment';
import type { ProviderHealthContract } from '../../src/contracts/provider-health';
import type { PublisherContract } from '../../src/contracts/publisher';
import type { RateLimiterContract } from '../../src/contracts/rate-limiter';
import type { SandboxProviderContract } from '../../src/contracts/sandbox-provider';
import type { TenantConfigContract } from '../../src/contracts/tenant-config';
import type { Env } from '../../src/env';
import { unique } from '../helpers/factories';

/**
 * Compiles only when instances of `cls` are a `C`: the worker types its bindings by the
 * contracts, so a class that drifted from its contract must fail `tsc`, not a call in production.
 * (The objects on the base say `implements` themselves; this covers every class in one place.)
 */
function implementsContract<C>(cls: new (ctx: DurableObjectState, env: Env) => C): string {
  return cls.name;
}

describe('RPC contracts', () => {
  it('every Durable Object class implements the contract its binding is typed with', () => {
    expect([
      implementsContract<HostDirectoryContract>(HostDirectoryDurableObject),
      implementsContract<PaymentContract>(PaymentDurableObject),
      implementsContract<ProviderHealthContract>(ProviderHealthDurableObject),
      implementsContract<PublisherContract>(PublisherDurableObject),
      implementsContract<RateLimiterContract>(RateLimiterDurableObject),
      implementsContract<SandboxProviderContract>(SandboxProviderDurableObject),
      implementsContract<TenantConfigContract>(TenantConfigDurableObject),
    ]).toHaveLength(7);
  });

  it('a stub typed by its contract calls the object', async () => {
    const stub: DurableObjectStub<ProviderHealthContract> = env.PROVIDER_HEALTH.get(
      env.PROVIDER_HEALTH.idFromName(`ten_${unique()}:sandbox_a`),
    );
    expect(await stub.status()).toBe('closed');
  });
});
