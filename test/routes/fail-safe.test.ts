import { env } from 'cloudflare:test';
import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { tenants } from '../../src/db/schema';
import { resetEdgeCaches } from '../../src/edge/caches';
import { hotConfig } from '../../src/edge/hot-config';
import type { HotConfig } from '../../src/edge/snapshot';
import { KV_KEYS } from '../../src/edge/snapshot';
import { tenantRouting } from '../../src/edge/tenant-routing';
import { setKillswitch } from '../../src/services/admin/config-changes';
import { createTenant, publish, type TestTenant, withDb } from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';

let t: TestTenant;
let host: string;

beforeAll(async () => {
  t = await createTenant();
  const ctx = {
    tenantId: t.tenantId,
    actor: { type: 'system' as const, id: 'tests' },
    requestId: null,
    reason: 'fail-safe fixture',
  };
  await withDb(async (db) => {
    // Both off; they differ only in what they do when the edge cannot trust its config.
    await setKillswitch(db, ctx, {
      scope: 'feature',
      target: 'catalog',
      storefrontId: null,
      engaged: false,
      failMode: 'closed',
    });
    await setKillswitch(db, ctx, {
      scope: 'feature',
      target: 'flags',
      storefrontId: null,
      engaged: false,
      failMode: 'open',
    });
  });
  await publish();
  host = t.hosts['us-store'] ?? '';
});

const catalog = () => call(host, '/v1/catalog');
const flags = () => call(host, '/v1/flags/evaluate', { method: 'POST', body: {} });

/**
 * Points the tenant's routing, in its hot config and in KV, at a newer version of us-store whose
 * snapshot is `value` (or missing), as a publish whose snapshot write went wrong would.
 */
async function breakNextSnapshot(value: string | null) {
  resetEdgeCaches();
  expect((await catalog()).status).toBe(200); // the isolate now holds a good snapshot
  const sf = t.storefronts['us-store'] ?? '';
  const stub = env.TENANT_CONFIG.get(env.TENANT_CONFIG.idFromName(t.tenantId));
  const { config } = (await stub.read(-1)) as { config?: HotConfig };
  if (!config) throw new Error('the tenant has no hot config');
  const next = config.version + 1;
  const routing = {
    ...config.routing,
    version: next,
    storefronts: {
      ...config.routing.storefronts,
      [sf]: {
        ...(config.routing.storefronts[sf] as HotConfig['routing']['storefronts'][string]),
        version: next,
      },
    },
  };
  const key = KV_KEYS.snapshot(sf, next);
  if (value === null) await env.CONFIG_KV.delete(key);
  else await env.CONFIG_KV.put(key, value);
  await env.CONFIG_KV.put(KV_KEYS.tenantRouting(t.tenantId), JSON.stringify(routing));
  await stub.publish({ ...config, version: next, routing });
  await hotConfig.forgetLocation(t.tenantId);
  hotConfig.reset();
  tenantRouting.reset();
}

/** A publish at a config version past the broken one. */
async function heal() {
  await withDb((db) =>
    db
      .update(tenants)
      .set({ configVersion: sql`${tenants.configVersion} + 2` })
      .where(eq(tenants.id, t.tenantId)),
  );
  await publish();
}

describe('when the edge cannot load fresh config, each switch fails its own way', () => {
  for (const [name, value] of [
    ['missing', null],
    ['corrupt', '{"schemaVersion": 1, "bundles": ['],
    ['oversized', JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024 + 10) })],
  ] as const) {
    it(`${name} snapshot: fail-closed catalog switch engages, fail-open flags switch stays off`, async () => {
      await breakNextSnapshot(value);
      const blocked = await catalog();
      await expectProblem(blocked, 503, 'killswitch_engaged');
      expect(blocked.headers.get('retry-after')).toBe('60');
      const served = await flags();
      expect(served.status).toBe(200);
      // The storefront itself keeps serving from the last good snapshot.
      expect((await json<{ slug: string }>(await call(host, '/v1/storefront'))).slug).toBe(
        'us-store',
      );
      await heal(); // a publish past the broken version: back to a good snapshot
      expect((await catalog()).status).toBe(200);
    });
  }
});
