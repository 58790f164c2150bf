/**
 * HTTP caching of the cacheable storefront reads (catalog, `GET /v1/storefront`, JWKS): weak
 * ETags, `If-None-Match` → 304, and `Cache-Control` / `Vary` from the storefront's cache
 * policy (its config, published with the snapshot) per client channel.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/services/admin/api-keys';
import { applyTenantSpec } from '../../src/services/tenant-config/apply';
import {
  createTenant,
  globalcorpLikeSpec,
  publish,
  type TestTenant,
  unique,
  withDb,
} from '../helpers/factories';
import { call, expectProblem } from '../helpers/http';

let t: TestTenant;
let u: string;
let us: string;

const DEFAULT_BROWSE = 'private, max-age=60, stale-while-revalidate=300';
const DEFAULT_OTT = 'private, max-age=300, stale-while-revalidate=3600';
const ROKU = { 'user-agent': 'Roku/DVP-12.5 (12.5.0.4174)' };

/**
 * us-store is a partner storefront with its own policy: a partner CDN may keep the catalog,
 * every other client 30 s.
 */
function spec(overrides: Parameters<typeof globalcorpLikeSpec>[1] = {}) {
  const base = globalcorpLikeSpec(u);
  return {
    ...base,
    storefronts: base.storefronts.map((sf) =>
      sf.slug === 'us-store'
        ? {
            ...sf,
            channel: 'partner' as const,
            cachePolicy: {
              catalog: {
                partner: { scope: 'public' as const, maxAge: 120, staleWhileRevalidate: 600 },
                default: { maxAge: 30 },
              },
            },
          }
        : sf,
    ),
    ...overrides,
  };
}

async function etagOf(host: string, path: string, init: Parameters<typeof call>[2] = {}) {
  const res = await call(host, path, init);
  expect(res.status, await res.clone().text()).toBe(200);
  const etag = res.headers.get('etag');
  expect(etag).toMatch(/^W\/"[0-9a-z]+"$/);
  return etag as string;
}

beforeAll(async () => {
  u = unique();
  t = await createTenant(spec());
  us = t.hosts['us-store'] ?? '';
  await publish();
});

describe('GET /v1/catalog: ETag, Cache-Control, Vary', () => {
  it('a storefront without a policy gets the defaults, longer on OTT', async () => {
    const eu = t.hosts['eu-store'] ?? '';
    const web = await call(eu, '/v1/catalog');
    expect(web.status).toBe(200);
    expect(web.headers.get('cache-control')).toBe(DEFAULT_BROWSE);
    expect(web.headers.get('etag')).toMatch(/^W\/"[0-9a-z]+"$/);
    const vary = web.headers.get('vary') ?? '';
    for (const h of [
      'Authorization',
      'X-Api-Key',
      'X-Storefront',
      'User-Agent',
      'X-Client-Channel',
    ])
      expect(vary).toContain(h);
    const tv = await call(eu, '/v1/catalog', { headers: ROKU });
    expect(tv.headers.get('x-response-shape')).toBe('compact');
    expect(tv.headers.get('cache-control')).toBe(DEFAULT_OTT);
    expect(tv.headers.get('etag')).not.toBe(web.headers.get('etag'));
  });

  it('the storefront’s policy applies per channel', async () => {
    const partner = await call(us, '/v1/catalog', { headers: { 'x-client-channel': 'partner' } });
    expect(partner.headers.get('cache-control')).toBe(
      'public, max-age=120, stale-while-revalidate=600',
    );
    // Without a claim, the client is on the storefront's own channel.
    const own = await call(us, '/v1/catalog');
    expect(own.headers.get('cache-control')).toBe(
      'public, max-age=120, stale-while-revalidate=600',
    );
    const others: Record<string, string>[] = [
      ROKU,
      { 'x-client-channel': 'mobile' },
      { 'x-client-channel': 'web' },
    ];
    for (const headers of others) {
      const res = await call(us, '/v1/catalog', { headers });
      expect(res.headers.get('cache-control')).toBe('private, max-age=30');
    }
  });

  it('a claimed channel never makes a catalog public: a web storefront with a public partner rule', async () => {
    const u2 = unique();
    const web = await createTenant(
      globalcorpLikeSpec(u2, {
        storefronts: globalcorpLikeSpec(u2).storefronts.map((sf) => ({
          ...sf,
          cachePolicy: { catalog: { partner: { scope: 'public' as const, maxAge: 120 } } },
        })),
      }),
    );
    await publish();
    const claimed = await call(web.hosts['us-store'] ?? '', '/v1/catalog', {
      headers: { 'x-client-channel': 'partner' },
    });
    expect(claimed.status).toBe(200);
    expect(claimed.headers.get('cache-control')).toBe('private, max-age=120');
  });

  it('public only when the URL or X-Storefront chose the storefront, never geography', async () => {
    const pk = t.keys['us-store']?.publishable ?? '';
    const partner = { 'x-client-channel': 'partner', authorization: `Bearer ${pk}` };
    const byPath = await call(t.sharedHost, '/us/v1/catalog', { headers: partner });
    expect(byPath.headers.get('cache-control')).toMatch(/^public, max-age=120/);
    const byHeader = await call(t.sharedHost, '/v1/catalog', {
      headers: { ...partner, 'x-storefront': 'us-store' },
    });
    expect(byHeader.headers.get('cache-control')).toMatch(/^public, max-age=120/);
    const byGeo = await call(t.sharedHost, '/v1/catalog', {
      headers: partner,
      cf: { country: 'US' },
    });
    expect(byGeo.status).toBe(200);
    expect(byGeo.headers.get('cache-control')).toBe(
      'private, max-age=120, stale-while-revalidate=600',
    );
  });

  it('the ETag follows the body: shape, resolution and a new config version', async () => {
    const byHost = await etagOf(us, '/v1/catalog');
    expect(await etagOf(us, '/v1/catalog')).toBe(byHost);
    const pk = t.keys['us-store']?.publishable ?? '';
    const byPath = await etagOf(t.sharedHost, '/us/v1/catalog', {
      headers: { authorization: `Bearer ${pk}` },
    });
    expect(byPath).not.toBe(byHost); // resolvedBy is in the body
    expect(await etagOf(us, '/v1/catalog', { headers: ROKU })).not.toBe(byHost);

    const base = spec();
    await withDb((db) =>
      applyTenantSpec(db, {
        ...base,
        bundles: base.bundles?.map((b) => ({
          ...b,
          prices: b.prices.map((p) => (p.storefront === 'us-store' ? { ...p, amount: 3300 } : p)),
        })),
      }),
    );
    await publish();
    const after = await etagOf(us, '/v1/catalog');
    expect(after).not.toBe(byHost);
    const stale = await call(us, '/v1/catalog', { headers: { 'if-none-match': byHost } });
    expect(stale.status).toBe(200);
    expect((await stale.json()) as object).toHaveProperty('bundles');
  });
});

describe('If-None-Match on the catalog', () => {
  it('the current ETag → 304 with no body and the 200’s caching headers', async () => {
    const ok = await call(us, '/v1/catalog');
    const etag = ok.headers.get('etag') ?? '';
    const res = await call(us, '/v1/catalog', { headers: { 'if-none-match': etag } });
    expect(res.status).toBe(304);
    expect(await res.text()).toBe('');
    for (const h of ['etag', 'cache-control', 'vary', 'x-response-shape', 'ratelimit-policy'])
      expect(res.headers.get(h), h).toBe(ok.headers.get(h));
    expect(res.headers.get('ratelimit')).toMatch(/^"key";r=\d+;t=\d+/);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    expect(res.headers.get('content-type')).toBeNull();
  });

  it.each([
    ['a list', (e: string) => `"nope", ${e} , W/"other"`],
    ['the strong form (weak comparison)', (e: string) => e.slice(2)],
    ['*', () => '*'],
  ])('%s → 304', async (_, field) => {
    const etag = await etagOf(us, '/v1/catalog');
    const res = await call(us, '/v1/catalog', { headers: { 'if-none-match': field(etag) } });
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe(etag);
  });

  it.each([
    ['another tag', 'W/"0"'],
    ['a malformed field', 'nonsense'],
    ['an empty field', ''],
  ])('%s → the full 200', async (_, field) => {
    const res = await call(us, '/v1/catalog', { headers: { 'if-none-match': field } });
    expect(res.status).toBe(200);
    expect((await res.json()) as object).toHaveProperty('bundles');
  });

  it('HEAD with a matching tag → 304', async () => {
    const etag = await etagOf(us, '/v1/catalog');
    const res = await call(us, '/v1/catalog', {
      method: 'HEAD',
      headers: { 'if-none-match': etag },
    });
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe(etag);
  });

  it('goes through the key check: no 304 (nor ETag) without a valid key', async () => {
    const etag = await etagOf(us, '/v1/catalog');
    for (const [key, field] of [
      [null, etag],
      [null, '*'],
      [t.keys['eu-store']?.publishable ?? '', etag], // another storefront's key
      [`pk_live_${'A'.repeat(49)}`, '*'],
    ] as const) {
      const res = await call(us, '/v1/catalog', { key, headers: { 'if-none-match': field } });
      await expectProblem(res, 401, 'unauthenticated');
      expect(res.headers.get('etag')).toBeNull();
    }
  });

  it('goes through the rate limit: a 304 counts, and a refused one is a 429', async () => {
    const key = await withDb(async (db) =>
      createApiKey(
        db,
        {
          tenantId: t.tenantId,
          storefrontId: t.storefronts['us-store'] ?? '',
          actor: { type: 'system', id: 'tests' },
          requestId: null,
          reason: 'caching test',
        },
        { kind: 'publishable', name: 'one a minute', channels: [], expiresAt: null, rateLimit: 1 },
      ),
    );
    await publish();
    const first = await call(us, '/v1/catalog', {
      key: key.secret,
      headers: { 'if-none-match': '*' },
    });
    expect(first.status).toBe(304);
    const second = await call(us, '/v1/catalog', {
      key: key.secret,
      headers: { 'if-none-match': '*' },
    });
    await expectProblem(second, 429, 'rate_limited');
  });
});

describe('GET /v1/storefront and the JWKS', () => {
  it('/v1/storefront: ETag, the storefront’s policy, Vary: X-Storefront, 304', async () => {
    const eu = t.hosts['eu-store'] ?? '';
    const ok = await call(eu, '/v1/storefront', { key: null });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe(DEFAULT_BROWSE);
    expect(ok.headers.get('vary')).toContain('X-Storefront');
    const etag = ok.headers.get('etag') ?? '';
    expect(etag).toMatch(/^W\/"[0-9a-z]+"$/);
    const res = await call(eu, '/v1/storefront', { key: null, headers: { 'if-none-match': etag } });
    expect(res.status).toBe(304);
    expect(await res.text()).toBe('');
    expect(res.headers.get('etag')).toBe(etag);
    expect(res.headers.get('cache-control')).toBe(DEFAULT_BROWSE);
    // Another resolution is another body, so another tag.
    const byHeader = await call(t.sharedHost, '/v1/storefront', {
      key: null,
      headers: { 'x-storefront': 'eu-store', 'if-none-match': etag },
    });
    expect(byHeader.status).toBe(200);
  });

  it('the JWKS: public for 5 minutes, ETag, 304', async () => {
    const ok = await call(us, '/v1/.well-known/jwks.json', { key: null });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('public, max-age=300');
    const etag = ok.headers.get('etag') ?? '';
    expect(etag).toMatch(/^W\/"[0-9a-z]+"$/);
    const res = await call(us, '/v1/.well-known/jwks.json', {
      key: null,
      headers: { 'if-none-match': etag },
    });
    expect(res.status).toBe(304);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
  });
});
