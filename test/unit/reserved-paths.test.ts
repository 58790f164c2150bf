import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import {
  isReservedSegment,
  PREFIX_MOUNT_PATH,
  RESERVED_SEGMENTS,
} from '../../src/edge/reserved-paths';
import { StorefrontSpecSchema } from '../../src/services/tenant-config/spec';

/** A storefront API whose middleware answers every request, as the real one's resolution does. */
function storefrontApi() {
  const api = new Hono();
  api.use('*', async (c) => c.text(`storefront ${c.req.param('sfPrefix') ?? ''}`, 404));
  return api;
}

describe('reserved path segments', () => {
  it('an admin router mounted after the prefix mount is still reached', async () => {
    const app = new Hono();
    app.route(PREFIX_MOUNT_PATH, storefrontApi());
    for (const segment of RESERVED_SEGMENTS) {
      app.get(`/${segment}/v1/catalog`, (c) => c.text(segment));
    }
    for (const segment of RESERVED_SEGMENTS) {
      const res = await app.request(`/${segment}/v1/catalog`);
      expect(await res.text()).toBe(segment);
    }
    // An ordinary prefix, and names that only start like a reserved one, are storefront prefixes.
    for (const prefix of ['eu', 'administrator', 'docs-jp', 'v1beta']) {
      expect(await (await app.request(`/${prefix}/v1/catalog`)).text()).toBe(
        `storefront ${prefix}`,
      );
    }
  });

  it('API versions are reserved', () => {
    expect(isReservedSegment('v1')).toBe(true);
    expect(isReservedSegment('v27')).toBe(true);
    expect(isReservedSegment('v1beta')).toBe(false);
    expect(isReservedSegment('eu')).toBe(false);
  });

  it('a tenant cannot configure a reserved path prefix', () => {
    const base = { slug: 'eu-store', name: 'EU', currency: 'EUR', region: 'EU' };
    for (const prefix of ['/admin', '/webhooks', '/v2', '/checkout']) {
      const parsed = StorefrontSpecSchema.safeParse({ ...base, pathPrefixes: [prefix] });
      expect(parsed.success, prefix).toBe(false);
    }
    expect(StorefrontSpecSchema.safeParse({ ...base, pathPrefixes: ['/eu'] }).success).toBe(true);
  });
});
