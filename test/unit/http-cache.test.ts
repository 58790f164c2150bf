import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEMO_TENANTS } from '../../src/demo/demo-tenants';
import {
  type CachePolicy,
  cacheControlFor,
  ifNoneMatch,
  weakEtag,
} from '../../src/edge/http-cache';
import { StorefrontSnapshotSchema } from '../../src/edge/snapshot';
import { TenantSpecSchema } from '../../src/services/tenant-config/spec';
import { globalcorpLikeSpec } from '../helpers/factories';

describe('ifNoneMatch (weak comparison, RFC 9110 §13.1.2)', () => {
  const etag = 'W/"abc123"';
  it.each([
    ['the tag itself', 'W/"abc123"'],
    ['the strong form', '"abc123"'],
    ['in a list', '"x", W/"abc123"'],
    ['in a list without spaces', '"x",W/"y","abc123"'],
    ['with whitespace around', '  W/"abc123"\t'],
    ['*', '*'],
  ])('matches %s', (_, field) => expect(ifNoneMatch(field, etag)).toBe(true));

  it.each([
    ['another tag', 'W/"abc124"'],
    ['a prefix', 'W/"abc12"'],
    ['a longer tag', '"abc1234"'],
    ['the opaque tag unquoted', 'abc123'],
    ['an unterminated tag', '"abc123'],
    ['empty', ''],
    ['a tag after a malformed member', 'junk, "abc123"'],
    ['lower-case w/', 'w/"abc123"'],
  ])('does not match %s', (_, field) => expect(ifNoneMatch(field, etag)).toBe(false));

  it('never throws and is linear on any input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        expect(typeof ifNoneMatch(s, etag)).toBe('boolean');
      }),
    );
    const long = `${'"x", '.repeat(20_000)}"abc123"`;
    const start = performance.now();
    expect(ifNoneMatch(long, etag)).toBe(true);
    expect(performance.now() - start).toBeLessThan(50);
  });
});

describe('weakEtag', () => {
  it('is a weak tag, the same for the same body, another for another', () => {
    const a = weakEtag('{"a":1}');
    expect(a).toMatch(/^W\/"[0-9a-z]+"$/);
    expect(weakEtag('{"a":1}')).toBe(a);
    expect(weakEtag('{"a":2}')).not.toBe(a);
  });

  it('no collisions over many similar bodies', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(weakEtag(`{"configVersion":${i},"x":"y"}`));
    expect(seen.size).toBe(20_000);
  });
});

describe('cacheControlFor', () => {
  const policy: CachePolicy = {
    catalog: {
      partner: { scope: 'public', maxAge: 120, staleWhileRevalidate: 600, staleIfError: 86_400 },
      default: { scope: 'private', maxAge: 30 },
    },
  };
  it('defaults per resource and channel', () => {
    expect(cacheControlFor({}, 'catalog', 'web', 'host')).toBe(
      'private, max-age=60, stale-while-revalidate=300',
    );
    expect(cacheControlFor({}, 'catalog', 'ott', 'host')).toBe(
      'private, max-age=300, stale-while-revalidate=3600',
    );
    expect(cacheControlFor({}, 'jwks', 'web', undefined)).toBe('public, max-age=300');
  });
  it('the storefront’s rule for the channel, else its default, else the built-in one', () => {
    expect(cacheControlFor(policy, 'catalog', 'partner', 'host')).toBe(
      'public, max-age=120, stale-while-revalidate=600, stale-if-error=86400',
    );
    expect(cacheControlFor(policy, 'catalog', 'web', 'host')).toBe('private, max-age=30');
    expect(cacheControlFor(policy, 'storefront', 'web', 'host')).toBe(
      'private, max-age=60, stale-while-revalidate=300',
    );
  });
  it('public only when the URL or X-Storefront chose the storefront', () => {
    for (const by of ['host', 'path', 'header'] as const)
      expect(cacheControlFor(policy, 'catalog', 'partner', by)).toMatch(/^public,/);
    for (const by of ['geo', 'default'] as const)
      expect(cacheControlFor(policy, 'catalog', 'partner', by)).toMatch(/^private,/);
  });
  it('public only for the storefront’s own channel, never one the client claims', () => {
    expect(cacheControlFor(policy, 'catalog', 'partner', 'host', 'partner')).toMatch(/^public,/);
    expect(cacheControlFor(policy, 'catalog', 'partner', 'host', 'web')).toBe(
      'private, max-age=120, stale-while-revalidate=600, stale-if-error=86400',
    );
    // Reads that need no key stay public whoever asks.
    expect(cacheControlFor({}, 'jwks', 'partner', undefined, 'web')).toBe('public, max-age=300');
  });
});

describe('the cache policy in the storefront config', () => {
  const withPolicy = (cachePolicy: unknown) => {
    const base = globalcorpLikeSpec();
    return { ...base, storefronts: base.storefronts.map((sf) => ({ ...sf, cachePolicy })) };
  };

  it('a valid policy is accepted and kept', () => {
    const policy = {
      catalog: { ott: { maxAge: 900, staleWhileRevalidate: 7200 } },
      jwks: { default: { scope: 'public', maxAge: 600 } },
    };
    const parsed = TenantSpecSchema.parse(withPolicy(policy));
    expect(parsed.storefronts[0]?.cachePolicy).toEqual({
      catalog: { ott: { scope: 'private', maxAge: 900, staleWhileRevalidate: 7200 } },
      jwks: { default: { scope: 'public', maxAge: 600 } },
    });
  });

  it.each([
    ['a max-age over a day', { catalog: { web: { maxAge: 86_401 } } }, 'catalog.web.maxAge'],
    ['a negative max-age', { catalog: { web: { maxAge: -1 } } }, 'catalog.web.maxAge'],
    ['a fraction', { catalog: { web: { maxAge: 1.5 } } }, 'catalog.web.maxAge'],
    ['no max-age', { catalog: { web: { scope: 'public' } } }, 'catalog.web.maxAge'],
    [
      'stale-while-revalidate over a week',
      { jwks: { default: { maxAge: 1, staleWhileRevalidate: 604_801 } } },
      'jwks.default.staleWhileRevalidate',
    ],
    [
      'an unknown scope',
      { catalog: { web: { scope: 'shared', maxAge: 60 } } },
      'catalog.web.scope',
    ],
    ['an unknown channel', { catalog: { tv: { maxAge: 60 } } }, 'catalog'],
    ['an unknown resource', { checkout: { web: { maxAge: 60 } } }, ''],
    ['an unknown directive', { catalog: { web: { maxAge: 60, noStore: true } } }, 'catalog.web'],
  ])('%s is refused', (_, policy, path) => {
    const parsed = TenantSpecSchema.safeParse(withPolicy(policy));
    expect(parsed.success).toBe(false);
    const paths = parsed.error?.issues.map((i) => i.path.join('.')) ?? [];
    expect(paths).toContain(`storefronts.0.cachePolicy${path ? `.${path}` : ''}`);
  });

  it('a snapshot published before the policy existed still parses (no policy: the defaults)', () => {
    const snapshot = {
      schemaVersion: 1,
      version: 1,
      publishedAt: new Date(0).toISOString(),
      tenant: { id: 'ten_1', slug: 't', name: 'T' },
      storefront: {
        id: 'sf_1',
        slug: 's',
        name: 'S',
        channel: 'web',
        currency: 'USD',
        region: 'US',
        locale: 'en-US',
        branding: {},
        paymentProviders: [],
      },
      bundles: [],
      flags: [],
      killswitches: [],
    };
    const parsed = StorefrontSnapshotSchema.parse(snapshot);
    expect(parsed.storefront.cachePolicy).toEqual({});
  });
});

describe('the demo data', () => {
  it('its cache policies are valid', () => {
    for (const spec of DEMO_TENANTS) expect(TenantSpecSchema.safeParse(spec).success).toBe(true);
  });
});
