import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { TenantConfigDurableObject } from '../../durable-objects/tenant-config';
import type { HotConfig } from '../../src/edge/snapshot';
import { createTenant } from '../helpers/factories';

const hot = (version: number): HotConfig => ({
  version,
  publishedAt: new Date().toISOString(),
  routing: {
    tenantId: 'ten_1',
    slug: 't',
    version,
    defaultStorefrontId: null,
    pathPrefixes: {},
    countries: {},
    continents: {},
    storefronts: {},
  },
  storefronts: {},
  keys: { recent: [], revoked: [] },
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
    const t = await createTenant();
    const stub = env.PUBLISHER.get(env.PUBLISHER.idFromName(t.tenantId));
    const results = await Promise.all([
      stub.publish(t.tenantId),
      stub.publish(t.tenantId),
      stub.publish(t.tenantId),
    ]);
    // One ran alone (whichever call arrived first); the other two waited for one follow-up
    // run, which found nothing changed: no snapshot written again.
    const [first, ...queued] = [...results].sort((x, y) => y.snapshotsWritten - x.snapshotsWritten);
    expect(first?.failure).toBeUndefined();
    expect(first?.snapshotsWritten).toBe(3);
    expect(queued[0]).toEqual(queued[1]);
    expect(queued[0]?.snapshotsWritten).toBe(0);
  });
});
