import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { hosts } from '../../src/edge/directory';
import { publishNow } from '../../src/routes/admin/support';
import {
  createTenant,
  globalcorpLikeSpec,
  publish,
  type TestTenant,
  unique,
} from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';

interface SfBody {
  id: string;
  slug: string;
  tenantId: string;
  currency: string;
  region: string;
  resolvedBy: string;
}

let a: TestTenant;
let b: TestTenant;

beforeAll(async () => {
  a = await createTenant();
  b = await createTenant();
  await publish();
});

async function resolve(host: string, path: string, init: Parameters<typeof call>[2] = {}) {
  const res = await call(host, path, init);
  expect(res.status, await res.clone().text()).toBe(200);
  return json<SfBody>(res);
}

describe('storefront resolution', () => {
  it('host: a storefront’s own host wins over everything else', async () => {
    const sf = await resolve(a.hosts['eu-store'] ?? '', '/v1/storefront', {
      headers: { 'x-storefront': 'apac-store' },
      cf: { country: 'US', continent: 'NA' },
    });
    expect(sf).toMatchObject({
      slug: 'eu-store',
      currency: 'EUR',
      resolvedBy: 'host',
      tenantId: a.tenantId,
    });
    expect(sf.id).toBe(a.storefronts['eu-store']);
  });

  it('path: a prefix on the shared host chooses the storefront and is stripped', async () => {
    const sf = await resolve(a.sharedHost, '/apac/v1/storefront', { cf: { country: 'US' } });
    expect(sf).toMatchObject({ slug: 'apac-store', currency: 'JPY', resolvedBy: 'path' });
  });

  it('path: an unknown prefix is a 404, not a silent fallback', async () => {
    await expectProblem(await call(a.sharedHost, '/nope/v1/storefront'), 404, 'not_found');
  });

  it('path: a reserved segment is never a storefront prefix (the API behind it answers)', async () => {
    for (const path of [
      '/admin/v1/catalog',
      '/admin/v1/flags/evaluate',
      '/internal/v1/storefront',
    ]) {
      const method = path.endsWith('evaluate') ? 'POST' : 'GET';
      const res = await call(a.sharedHost, path, {
        method,
        body: method === 'POST' ? {} : undefined,
      });
      const body = await expectProblem(res, 404, 'not_found');
      expect(body.detail).toMatch(/^No route for/);
    }
  });

  it('a host added by a publish resolves on its first request, even where it was a 404 a moment before', async () => {
    await resolve(a.hosts['us-store'] ?? '', '/v1/storefront'); // a warm isolate
    const late = await createTenant();
    const newHost = late.hosts['eu-store'] ?? '';
    // Asked for before it is published: a 404, negatively cached here.
    await expectProblem(await call(newHost, '/v1/storefront'), 404, 'unknown_host');
    const reads = hosts.kvReads;
    await expectProblem(await call(newHost, '/v1/storefront'), 404, 'unknown_host');
    expect(hosts.kvReads).toBe(reads); // from the negative cache: no KV read
    // Published without dropping the isolate's caches, as on a running edge.
    await publishNow(env, late.tenantId);
    await new Promise((r) => setTimeout(r, 1_100));
    const sf = await resolve(newHost, '/v1/storefront');
    expect(sf).toMatchObject({ slug: 'eu-store', tenantId: late.tenantId, resolvedBy: 'host' });
    // The directory's change superseded the negative entry: still no KV read for it.
    expect(hosts.kvReads).toBe(reads);
    // A host nobody publishes is still a 404.
    await expectProblem(await call(`nope-${unique()}.test`, '/v1/storefront'), 404, 'unknown_host');
  });

  it('header: X-Storefront by slug or id, within the host’s tenant', async () => {
    const bySlug = await resolve(a.sharedHost, '/v1/storefront', {
      headers: { 'x-storefront': 'eu-store' },
    });
    expect(bySlug).toMatchObject({ slug: 'eu-store', resolvedBy: 'header' });
    const byId = await resolve(a.sharedHost, '/v1/storefront', {
      headers: { 'x-storefront': a.storefronts['apac-store'] ?? '' },
    });
    expect(byId).toMatchObject({ slug: 'apac-store', resolvedBy: 'header' });
  });

  it('header: path prefix outranks the header', async () => {
    const sf = await resolve(a.sharedHost, '/eu/v1/storefront', {
      headers: { 'x-storefront': 'apac-store' },
    });
    expect(sf).toMatchObject({ slug: 'eu-store', resolvedBy: 'path' });
  });

  it('header naming another tenant’s storefront is not honoured (same answer as a made-up one)', async () => {
    const foreignId = b.storefronts['eu-store'] ?? '';
    const foreign = await call(a.sharedHost, '/v1/storefront', {
      headers: { 'x-storefront': foreignId },
    });
    const body = await expectProblem(foreign, 404, 'storefront_not_found');
    expect(JSON.stringify(body)).not.toContain(b.tenantId);
    const madeUp = await call(a.sharedHost, '/v1/storefront', {
      headers: { 'x-storefront': 'sf_01ZZZZZZZZZZZZZZZZZZZZZZZZ' },
    });
    await expectProblem(madeUp, 404, 'storefront_not_found');
  });

  it('geo: country, then continent', async () => {
    const de = await resolve(a.sharedHost, '/v1/storefront', {
      cf: { country: 'DE', continent: 'EU' },
    });
    expect(de).toMatchObject({ slug: 'eu-store', resolvedBy: 'geo' });
    const jp = await resolve(a.sharedHost, '/v1/storefront', {
      cf: { country: 'JP', continent: 'AS' },
    });
    expect(jp).toMatchObject({ slug: 'apac-store', resolvedBy: 'geo' });
    // Australia is not listed by country; Oceania routes to APAC.
    const au = await resolve(a.sharedHost, '/v1/storefront', {
      cf: { country: 'AU', continent: 'OC' },
    });
    expect(au).toMatchObject({ slug: 'apac-store', resolvedBy: 'geo' });
  });

  it('geo (dev only): CF-IPCountry stands in for request.cf, continent derived', async () => {
    const it_ = await resolve(a.sharedHost, '/v1/storefront', {
      headers: { 'cf-ipcountry': 'it' },
    });
    expect(it_).toMatchObject({ slug: 'eu-store', resolvedBy: 'geo' });
  });

  it('default: nothing matches → the tenant’s default storefront', async () => {
    const br = await resolve(a.sharedHost, '/v1/storefront', {
      cf: { country: 'BR', continent: 'SA' },
    });
    expect(br).toMatchObject({ slug: 'us-store', resolvedBy: 'default' });
    const none = await resolve(a.sharedHost, '/v1/storefront');
    expect(none).toMatchObject({ slug: 'us-store', resolvedBy: 'default' });
  });

  it('unknown host → 404 problem', async () => {
    const body = await expectProblem(
      await call(`nobody-${unique()}.test`, '/v1/storefront'),
      404,
      'unknown_host',
    );
    expect(body.instance).toBe('/v1/storefront');
  });

  it('hosts are case-insensitive and a trailing dot is ignored', async () => {
    const host = (a.hosts['apac-store'] ?? '').toUpperCase();
    expect(await resolve(`${host}.`, '/v1/storefront')).toMatchObject({ slug: 'apac-store' });
  });
});

describe('bad input is a 4xx problem, never a 5xx', () => {
  const cases: [string, Record<string, string>, number, string][] = [
    ['X-Storefront with bad characters', { 'x-storefront': 'EU Store!' }, 400, 'malformed_header'],
    ['X-Storefront empty', { 'x-storefront': '' }, 400, 'malformed_header'],
    ['X-Storefront oversized', { 'x-storefront': 'a'.repeat(5000) }, 431, 'header_too_large'],
    ['CF-IPCountry not two letters', { 'cf-ipcountry': 'Germany' }, 400, 'malformed_header'],
    ['CF-IPCountry digits', { 'cf-ipcountry': '12' }, 400, 'malformed_header'],
    ['CF-IPContinent unknown', { 'cf-ipcontinent': 'ZZ' }, 400, 'malformed_header'],
  ];
  for (const [name, headers, status, type] of cases) {
    it(name, async () => {
      await expectProblem(await call(a.sharedHost, '/v1/catalog', { headers }), status, type);
    });
  }

  it('an oversized Host header', async () => {
    const res = await call(a.sharedHost, '/v1/catalog', {
      headers: { host: `${'a'.repeat(300)}.test` },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it('a second tenant is resolved by its own host only', async () => {
    const sf = await resolve(b.hosts['us-store'] ?? '', '/v1/storefront');
    expect(sf.tenantId).toBe(b.tenantId);
    expect(sf.id).toBe(b.storefronts['us-store']);
  });
});

describe('spec validation', () => {
  it('rejects a reserved path prefix and a foreign host collision', async () => {
    const spec = globalcorpLikeSpec();
    const bad = {
      ...spec,
      storefronts: [{ ...spec.storefronts[0], pathPrefixes: ['/v1'] }],
    } as typeof spec;
    await expect(createTenant(bad)).rejects.toThrow(/reserved/);
    const clash = globalcorpLikeSpec(unique(), { sharedHosts: [a.sharedHost] });
    await expect(createTenant(clash)).rejects.toThrow();
  });
});
