import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { resetEdgeCaches } from '../../src/edge/caches';
import { KV_KEYS } from '../../src/edge/snapshot';
import { tenantRouting } from '../../src/edge/tenant-routing';
import worker from '../../src/index';
import { applyTenantSpec } from '../../src/services/tenant-config/apply';
import {
  createTenant,
  globalcorpLikeSpec,
  publish,
  type TestTenant,
  withDb,
} from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';

interface Catalog {
  storefront: { slug: string; currency: string; configVersion: number };
  bundles: {
    slug: string;
    price: { amount: number; currency: string; interval: string; formatted: string };
    entitlements: { key: string; type: string; value: Record<string, unknown> }[];
  }[];
}

let t: TestTenant;

beforeAll(async () => {
  t = await createTenant();
  await publish();
});

describe('GET /v1/catalog', () => {
  it.each([
    ['us-store', 'USD', 2900, 9900, '$29.00'],
    ['eu-store', 'EUR', 2500, 8500, '25,00 €'],
    ['apac-store', 'JPY', 3200, 9800, '￥3,200'],
  ])('%s: prices in %s minor units', async (slug, currency, pro, ent, formatted) => {
    const res = await call(t.hosts[slug] ?? '', '/v1/catalog');
    expect(res.status).toBe(200);
    const body = await json<Catalog>(res);
    expect(body.storefront).toMatchObject({ slug, currency });
    const bySlug = Object.fromEntries(body.bundles.map((b) => [b.slug, b]));
    expect(bySlug['pro-plan']?.price).toMatchObject({ amount: pro, currency, interval: 'month' });
    expect(bySlug.enterprise?.price).toMatchObject({ amount: ent, currency });
    expect(bySlug['pro-plan']?.price.formatted.replace(/\s/g, ' ')).toBe(
      formatted.replace(/\s/g, ' '),
    );
    for (const b of body.bundles) expect(Number.isInteger(b.price.amount)).toBe(true);
  });

  it('lists the pro plan’s entitlements in order', async () => {
    const body = await json<Catalog>(await call(t.hosts['us-store'] ?? '', '/v1/catalog'));
    const pro = body.bundles.find((b) => b.slug === 'pro-plan');
    expect(pro?.entitlements).toEqual([
      {
        key: 'api_access',
        name: 'API Access',
        type: 'quota',
        unit: 'calls',
        value: { limit: 10000, period: 'month' },
      },
      {
        key: 'analytics_dashboard',
        name: 'Analytics Dashboard',
        type: 'feature',
        unit: null,
        value: { enabled: true },
      },
      { key: 'integrations', name: 'Integrations', type: 'slots', unit: null, value: { count: 5 } },
      {
        key: 'support',
        name: 'Support',
        type: 'tier',
        unit: null,
        value: { level: 'email', detail: 'business hours' },
        levels: ['email', 'priority', 'dedicated'],
      },
    ]);
  });

  it('a price change is visible after the next publish, under a new config version', async () => {
    const before = await json<Catalog>(await call(t.hosts['us-store'] ?? '', '/v1/catalog'));
    const spec = globalcorpLikeSpec(t.slug.slice(2));
    const changed = {
      ...spec,
      bundles: spec.bundles?.map((b) =>
        b.slug === 'pro-plan'
          ? {
              ...b,
              prices: b.prices.map((p) =>
                p.storefront === 'us-store' ? { ...p, amount: 3100 } : p,
              ),
            }
          : b,
      ),
    };
    await withDb((db) => applyTenantSpec(db, changed));
    await publish();
    const after = await json<Catalog>(await call(t.hosts['us-store'] ?? '', '/v1/catalog'));
    expect(after.storefront.configVersion).toBeGreaterThan(before.storefront.configVersion);
    expect(after.bundles.find((b) => b.slug === 'pro-plan')?.price.amount).toBe(3100);
  });
});

/** Points the tenant's KV routing at a newer version of `storefrontId` whose snapshot is `value` (or missing). */
async function pointAtBrokenSnapshot(tenantId: string, storefrontId: string, value: string | null) {
  const routingKey = KV_KEYS.tenantRouting(tenantId);
  const routing = JSON.parse((await env.CONFIG_KV.get(routingKey)) ?? '{}');
  const next = routing.version + 1;
  routing.version = next;
  routing.storefronts[storefrontId].version = next;
  const key = KV_KEYS.snapshot(storefrontId, next);
  if (value === null) await env.CONFIG_KV.delete(key);
  else await env.CONFIG_KV.put(key, value);
  await env.CONFIG_KV.put(routingKey, JSON.stringify(routing));
  tenantRouting.reset(); // the isolate reads the tenant's routing again
}

describe('the read path never waits for Postgres', () => {
  it('serves the catalog from a cold isolate when Postgres is unreachable', async () => {
    resetEdgeCaches();
    const broken = {
      ...env,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:9/nowhere',
      NEON_LOCAL_WS_PROXY: 'ws://127.0.0.1:9',
    };
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`https://${t.hosts['eu-store']}/v1/catalog`, {
        headers: { authorization: `Bearer ${t.keys['eu-store']?.publishable}` },
      }),
      broken,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await json<Catalog>(res)).storefront.currency).toBe('EUR');

    // And the same env really cannot reach Postgres: publishing through it fails.
    const ctx2 = createExecutionContext();
    const pub = await worker.fetch(
      new Request('https://ops.test/internal/publish', {
        method: 'POST',
        headers: { authorization: 'Bearer test-publish-token' },
      }),
      broken,
      ctx2,
    );
    await waitOnExecutionContext(ctx2);
    expect(pub.status).toBe(500);
  });

  it('keeps serving the last good config when KV fails, and 503s on a cold isolate with no KV', async () => {
    // Warm the cache, then break KV.
    expect((await call(t.hosts['us-store'] ?? '', '/v1/catalog')).status).toBe(200);
    const failingKv = {
      get: async () => {
        throw new Error('KV is down');
      },
    } as unknown as KVNamespace;
    const broken = { ...env, CONFIG_KV: failingKv };
    const warm = await worker.fetch(
      new Request(`https://${t.hosts['us-store']}/v1/catalog`, {
        headers: { authorization: `Bearer ${t.keys['us-store']?.publishable}` },
      }),
      broken,
      createExecutionContext(),
    );
    expect(warm.status).toBe(200);

    resetEdgeCaches();
    const cold = await worker.fetch(
      new Request(`https://${t.hosts['us-store']}/v1/catalog`, {
        headers: { authorization: `Bearer ${t.keys['us-store']?.publishable}` },
      }),
      broken,
      createExecutionContext(),
    );
    const body = await expectProblem(cold, 503, 'config_unavailable');
    expect(cold.headers.get('retry-after')).toBe('5');
    expect(body.detail).not.toMatch(/KV is down/);
  });

  it('a corrupt snapshot falls back to the last good one of that storefront', async () => {
    resetEdgeCaches();
    const host = t.hosts['apac-store'] ?? '';
    const good = await json<Catalog>(await call(host, '/v1/catalog'));
    const key = KV_KEYS.snapshot(
      t.storefronts['apac-store'] ?? '',
      good.storefront.configVersion + 1,
    );
    // The tenant's routing points at a newer version whose snapshot is garbage.
    expect(key).toBeTruthy();
    await pointAtBrokenSnapshot(
      t.tenantId,
      t.storefronts['apac-store'] ?? '',
      '{"not": "a snapshot"',
    );
    const res = await call(host, '/v1/catalog');
    expect(res.status).toBe(200);
    expect((await json<Catalog>(res)).storefront.configVersion).toBe(good.storefront.configVersion);
    await publish(); // restore
  });
});

describe('POST /internal/publish', () => {
  it('needs the publish token', async () => {
    const none = await call('ops.test', '/internal/publish', { method: 'POST' });
    const body = await expectProblem(none, 401, 'unauthenticated');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(JSON.stringify(body)).not.toContain('test-publish-token');
    const wrong = await call('ops.test', '/internal/publish', {
      method: 'POST',
      headers: { authorization: 'Bearer nope' },
    });
    await expectProblem(wrong, 401, 'unauthenticated');
  });

  it('publishes every tenant and is safe to repeat', async () => {
    const ok = await call('ops.test', '/internal/publish', {
      method: 'POST',
      headers: { authorization: 'Bearer test-publish-token' },
    });
    expect(ok.status).toBe(200);
    const body = await json<{ tenants: { id: string; storefronts: number }[] }>(ok);
    expect(body.tenants.find((x) => x.id === t.tenantId)?.storefronts).toBe(3);
  });
});

describe('applying a spec is idempotent', () => {
  it('keeps ids and bumps the version', async () => {
    const spec = globalcorpLikeSpec();
    const first = await withDb((db) => applyTenantSpec(db, spec));
    const second = await withDb((db) => applyTenantSpec(db, spec));
    expect(second.storefronts).toEqual(first.storefronts);
    expect(second.bundles).toEqual(first.bundles);
    expect(second.configVersion).toBe(first.configVersion + 1);
  });
});

describe('channel shaping', () => {
  it('OTT clients get the compact shape of the same data; web gets the full one', async () => {
    const host = t.hosts['us-store'] ?? '';
    const full = await json<Catalog & { branding: unknown }>(await call(host, '/v1/catalog'));
    const tv = await call(host, '/v1/catalog', {
      headers: { 'user-agent': 'Roku/DVP-12.5 (12.5.0.4174)' },
    });
    expect(tv.headers.get('x-response-shape')).toBe('compact');
    expect(tv.headers.get('vary')).toContain('User-Agent');
    const compact = await json<{
      sf: { cur: string };
      b: { s: string; n: string; p: { a: number; c: string; f: string }; e: { k: string }[] }[];
    }>(tv);
    expect(compact.sf.cur).toBe('USD');
    expect(compact.b.map((b) => [b.s, b.p.a, b.p.c, b.p.f, b.e.map((e) => e.k)])).toEqual(
      full.bundles.map((b) => [
        b.slug,
        b.price.amount,
        b.price.currency,
        b.price.formatted,
        b.entitlements.map((e) => e.key),
      ]),
    );
    expect(JSON.stringify(compact)).not.toContain('description');
    expect(JSON.stringify(compact).length).toBeLessThan(JSON.stringify(full).length / 1.5);
  });

  it('X-Client-Channel and X-Response-Shape choose explicitly; a bad channel is a 400', async () => {
    const host = t.hosts['us-store'] ?? '';
    expect(
      (await call(host, '/v1/catalog', { headers: { 'x-client-channel': 'ott' } })).headers.get(
        'x-response-shape',
      ),
    ).toBe('compact');
    const forcedFull = await call(host, '/v1/catalog', {
      headers: { 'x-client-channel': 'ott', 'x-response-shape': 'full' },
    });
    expect(forcedFull.headers.get('x-response-shape')).toBe('full');
    await expectProblem(
      await call(host, '/v1/catalog', { headers: { 'x-client-channel': 'fax' } }),
      400,
      'malformed_header',
    );
  });
});
