import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { edgeConfig } from '../../src/edge/config-store';
import { KV_KEYS } from '../../src/edge/snapshot';
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

/** Points the routing table at a newer version whose snapshot is `value` (or missing). */
async function breakNextSnapshot(value: string | null) {
  edgeConfig.reset();
  expect((await catalog()).status).toBe(200); // the isolate now holds a good snapshot
  const routing = JSON.parse((await env.CONFIG_KV.get(KV_KEYS.routing)) ?? '{}');
  const next = routing.tenants[t.tenantId].version + 1;
  routing.tenants[t.tenantId].version = next;
  const key = KV_KEYS.snapshot(t.storefronts['us-store'] ?? '', next);
  if (value === null) await env.CONFIG_KV.delete(key);
  else await env.CONFIG_KV.put(key, value);
  await env.CONFIG_KV.put(KV_KEYS.routing, JSON.stringify(routing));
  await edgeConfig.refreshRouting(env.CONFIG_KV);
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
      await publish(); // heal: a good snapshot at a newer version
      expect((await catalog()).status).toBe(200);
    });
  }
});
