import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { TenantConfigDurableObject } from '../../durable-objects/tenant-config';
import type { HotConfig } from '../../src/edge/snapshot';

const hot = (version: number): HotConfig => ({
  version,
  publishedAt: new Date().toISOString(),
  storefronts: {},
});

describe('TenantConfigDurableObject', () => {
  it('keeps the newest version, whatever order publishes arrive in, and persists it', async () => {
    const stub = env.TENANT_CONFIG.get(env.TENANT_CONFIG.idFromName(`ten_${crypto.randomUUID()}`));
    expect(await stub.read()).toEqual({ version: -1 });
    expect(await stub.publish(hot(5))).toEqual({ version: 5, applied: true });
    expect(await stub.publish(hot(3))).toEqual({ version: 5, applied: false });
    const newer: { version: number; config?: HotConfig } = await stub.read(4);
    expect(newer.config?.version).toBe(5);
    expect(await stub.read(5)).toEqual({ version: 5 }); // nothing newer: no payload
    await runInDurableObject(stub, async (_obj: TenantConfigDurableObject, state) => {
      expect((await state.storage.get<HotConfig>('hot'))?.version).toBe(5);
    });
  });
});

describe('PublisherDurableObject', () => {
  it('serializes publishes: concurrent callers share a run that starts after them', async () => {
    const stub = env.PUBLISHER.get(env.PUBLISHER.idFromName(`pub_${crypto.randomUUID()}`));
    const results = await Promise.all([stub.publish(), stub.publish(), stub.publish()]);
    for (const r of results) expect(r.routingBytes).toBeGreaterThan(0);
    // The first ran alone; the other two waited for one follow-up run.
    expect(results[1]).toEqual(results[2]);
  });
});
