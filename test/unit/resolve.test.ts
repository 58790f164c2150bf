import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { continentOf, requestGeo } from '../../src/edge/geo';
import { type ResolutionInput, resolveStorefront as resolveWith } from '../../src/edge/resolve';
import type { HostEntry, TenantRouting } from '../../src/edge/snapshot';

/** The hosts' entries and the tenants' routing, as the edge finds them in KV. */
interface RoutingFixture {
  hosts: Record<string, HostEntry>;
  tenants: Record<string, TenantRouting>;
}

/** Resolution as the edge does it: the host's entry, then its tenant's routing. */
function resolveStorefront(table: RoutingFixture, input: ResolutionInput) {
  const host = table.hosts[input.host] ?? null;
  return resolveWith(host, host ? table.tenants[host.tenantId] : undefined, input);
}

const table: RoutingFixture = {
  hosts: {
    'shop.a.test': { tenantId: 'ten_a', storefrontId: null },
    'eu.a.test': { tenantId: 'ten_a', storefrontId: 'sf_eu' },
    'shop.b.test': { tenantId: 'ten_b', storefrontId: null },
  },
  tenants: {
    ten_a: {
      tenantId: 'ten_a',
      slug: 'a',
      version: 3,
      defaultStorefrontId: 'sf_us',
      pathPrefixes: { '/eu': 'sf_eu', '/us': 'sf_us' },
      countries: { DE: 'sf_eu', US: 'sf_us' },
      continents: { EU: 'sf_eu' },
      storefronts: {
        sf_us: { slug: 'us-store', channel: 'web', version: 3 },
        sf_eu: { slug: 'eu-store', channel: 'web', version: 2 },
      },
    },
    ten_b: {
      tenantId: 'ten_b',
      slug: 'b',
      version: 1,
      defaultStorefrontId: null,
      pathPrefixes: {},
      countries: {},
      continents: {},
      storefronts: { sf_b1: { slug: 'b1', channel: 'ott', version: 1 } },
    },
  },
};

describe('resolveStorefront', () => {
  it('follows host → path → header → geo → default', () => {
    const r = (input: Partial<Parameters<typeof resolveStorefront>[1]>) =>
      resolveStorefront(table, { host: 'shop.a.test', path: '/v1/catalog', ...input });
    expect(
      r({ host: 'eu.a.test', path: '/us/v1/x', storefrontHeader: 'us-store', country: 'US' }),
    ).toMatchObject({ storefrontId: 'sf_eu', resolvedBy: 'host' });
    expect(r({ path: '/eu/v1/x', storefrontHeader: 'us-store', country: 'US' })).toMatchObject({
      storefrontId: 'sf_eu',
      resolvedBy: 'path',
      pathPrefix: '/eu',
    });
    expect(r({ storefrontHeader: 'eu-store', country: 'US' })).toMatchObject({
      storefrontId: 'sf_eu',
      resolvedBy: 'header',
    });
    expect(r({ country: 'DE' })).toMatchObject({
      storefrontId: 'sf_eu',
      resolvedBy: 'geo',
      geoMatch: 'country',
    });
    expect(r({ country: 'FR', continent: 'EU' })).toMatchObject({
      storefrontId: 'sf_eu',
      resolvedBy: 'geo',
      geoMatch: 'continent',
    });
    expect(r({ country: 'BR', continent: 'SA' })).toMatchObject({
      storefrontId: 'sf_us',
      resolvedBy: 'default',
    });
  });

  it('a prefix matches whole segments only', () => {
    expect(resolveStorefront(table, { host: 'shop.a.test', path: '/europe/v1' })).toMatchObject({
      resolvedBy: 'default',
    });
    expect(resolveStorefront(table, { host: 'shop.a.test', path: '/eu' })).toMatchObject({
      resolvedBy: 'path',
    });
  });

  it('never crosses tenants, whatever the header names', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('shop.a.test', 'eu.a.test', 'shop.b.test'),
        fc.option(fc.constantFrom('us-store', 'eu-store', 'b1', 'sf_us', 'sf_eu', 'sf_b1', 'zzz'), {
          nil: undefined,
        }),
        fc.option(fc.constantFrom('DE', 'US', 'JP', 'BR'), { nil: undefined }),
        fc.constantFrom('/v1/catalog', '/eu/v1/catalog', '/us/v1/x', '/zz/v1'),
        (host, header, country, path) => {
          const res = resolveStorefront(table, { host, path, storefrontHeader: header, country });
          const hostTenant = table.hosts[host]?.tenantId ?? '';
          if (res.ok) {
            expect(res.tenantId).toBe(hostTenant);
            expect(Object.keys(table.tenants[hostTenant]?.storefronts ?? {})).toContain(
              res.storefrontId,
            );
          }
        },
      ),
    );
  });

  it('unknown host, foreign header, no default', () => {
    expect(resolveStorefront(table, { host: 'x.test', path: '/' })).toEqual({
      ok: false,
      reason: 'unknown_host',
    });
    expect(
      resolveStorefront(table, { host: 'shop.a.test', path: '/', storefrontHeader: 'b1' }),
    ).toEqual({ ok: false, reason: 'storefront_not_found' });
    expect(resolveStorefront(table, { host: 'shop.b.test', path: '/' })).toEqual({
      ok: false,
      reason: 'no_default',
    });
  });
});

describe('requestGeo', () => {
  const req = (headers: Record<string, string>, cf?: Record<string, unknown>) => {
    const r = new Request('https://x.test/', { headers });
    if (cf) Object.defineProperty(r, 'cf', { value: cf });
    return r;
  };
  it('prefers request.cf; dev headers only when enabled', () => {
    expect(
      requestGeo(req({ 'cf-ipcountry': 'DE' }, { country: 'US', continent: 'NA' }), false),
    ).toEqual({ country: 'US', continent: 'NA' });
    expect(
      requestGeo(req({ 'cf-ipcountry': 'de' }, { country: 'US', continent: 'NA' }), true),
    ).toEqual({ country: 'DE', continent: 'EU' });
  });
  it('treats XX and T1 as unknown', () => {
    expect(requestGeo(req({}, { country: 'XX' }), false).country).toBeUndefined();
    expect(requestGeo(req({}, { country: 'T1' }), false).country).toBeUndefined();
  });
  it('accepts T1 (Tor) in the development headers as no country and no continent', () => {
    expect(requestGeo(req({ 'cf-ipcountry': 't1' }), true)).toEqual({});
    expect(requestGeo(req({ 'cf-ipcountry': 'T1', 'cf-ipcontinent': 'T1' }), true)).toEqual({});
    expect(requestGeo(req({ 'cf-ipcountry': 'T1', 'cf-ipcontinent': 'EU' }), true)).toEqual({
      continent: 'EU',
    });
    expect(requestGeo(req({}, { country: 'T1', continent: 'T1' }), false)).toEqual({});
    expect(() => requestGeo(req({ 'cf-ipcountry': 'T2' }), true)).toThrow(/CF-IPCountry/);
  });
  it('knows every continent of the demo', () => {
    expect(['US', 'DE', 'JP', 'AU', 'BR', 'ZA'].map(continentOf)).toEqual([
      'NA',
      'EU',
      'AS',
      'OC',
      'SA',
      'AF',
    ]);
  });
});

describe('requestTarget', () => {
  it('matches the URL parser on the URLs a runtime hands over', async () => {
    const { requestTarget } = await import('../../src/edge/resolve-edge');
    fc.assert(
      fc.property(
        fc.constantFrom('http', 'https'),
        fc.oneof(
          fc.domain(),
          fc.ipV4(),
          fc.ipV6().map((ip) => `[${ip}]`),
        ),
        fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        fc.webPath(),
        fc.option(fc.webQueryParameters(), { nil: undefined }),
        (scheme, host, port, path, query) => {
          const url = new URL(
            `${scheme}://${host}${port ? `:${port}` : ''}${path}${query ? `?${query}` : ''}`,
          );
          const expected = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname;
          expect(requestTarget(url.href)).toEqual({ host: expected, pathname: url.pathname });
        },
      ),
      { numRuns: 2000 },
    );
  });
});
