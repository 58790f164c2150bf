import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { tenants } from '../../src/db/schema';
import { type HotConfig, KV_KEYS } from '../../src/edge/snapshot';
import {
  SNAPSHOT_REFRESH_AFTER_MS,
  type TenantPublishState,
} from '../../src/services/publish/publish';
import { createTenant, withDb } from '../helpers/factories';

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
    await runInDurableObject(stub, async (_obj, state) => {
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

describe('PublisherDurableObject alarms', () => {
  it('writes a routing entry deferred by KV’s write rate, and refreshes snapshots before their TTL ends', async () => {
    const t = await createTenant();
    const stub = env.PUBLISHER.get(env.PUBLISHER.idFromName(t.tenantId));
    const first = await stub.publish(t.tenantId);
    expect(first.routing).toBe('written');
    // A second change within the second: its routing entry waits for the alarm.
    await withDb((db) =>
      db
        .update(tenants)
        .set({ configVersion: sql`${tenants.configVersion} + 1` })
        .where(eq(tenants.id, t.tenantId)),
    );
    const second = await stub.publish(t.tenantId);
    expect(second.routing).toBe('deferred');
    const key = KV_KEYS.tenantRouting(t.tenantId);
    const stored = async () => JSON.parse((await env.CONFIG_KV.get(key)) ?? '{}').version;
    expect(await stored()).toBe(first.version);
    expect(await runDurableObjectAlarm(stub)).toBe(true); // (due a second after the first write)
    expect(await stored()).toBe(second.version);
    expect((await stub.inspect()).pendingRouting).toBeUndefined();

    // Two days later the served snapshots are due: the alarm writes them again (same versions,
    // a fresh TTL), and nothing else changes.
    await runInDurableObject(stub, async (obj, state) => {
      const s = await state.storage.get<TenantPublishState>('state');
      if (!s) throw new Error('no publisher state');
      for (const sf of Object.values(s.snapshots)) sf.writtenAt -= SNAPSHOT_REFRESH_AFTER_MS;
      await state.storage.put('state', s);
      // Its memory reloaded from storage, as after an eviction.
      (obj as unknown as { state: unknown }).state = undefined;
      await state.storage.setAlarm(Date.now() + 60_000); // run below, not by the clock
    });
    const versions = Object.values((await stub.inspect()).snapshots).map((s) => s.version);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const after = await stub.inspect();
    expect(Object.values(after.snapshots).map((s) => s.version)).toEqual(versions);
    for (const sf of Object.values(after.snapshots)) {
      expect(sf.writtenAt).toBeGreaterThan(Date.now() - 60_000);
    }
  });
});
