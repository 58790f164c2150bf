import { describe, expect, it } from 'vitest';
import { call } from '../helpers/http';

describe('API reference', () => {
  it('GET /openapi.json describes every public route once', async () => {
    const res = await call('docs.test', '/openapi.json');
    expect(res.status, await res.clone().text()).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toMatch(/^3\.1/);
    for (const path of [
      '/healthz',
      '/v1/storefront',
      '/v1/catalog',
      '/v1/flags/evaluate',
      '/v1/customers',
      '/admin/v1/sessions',
      '/admin/v1/tenants/{tenant}/killswitches',
      '/admin/v1/tenants/{tenant}/flags/{key}',
      '/admin/v1/tenants/{tenant}/audit/verify',
      '/admin/v1/tenants/{tenant}/storefronts/{storefront}/api-keys',
    ]) {
      expect(Object.keys(doc.paths), path).toContain(path);
    }
    expect(Object.keys(doc.paths).some((p) => p.includes('sfPrefix'))).toBe(false);
  });

  it('GET /docs is a self-contained page listing the operations and problem types', async () => {
    const res = await call('docs.test', '/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('/v1/flags/evaluate');
    expect(html).toContain('https://azotte.dev/problems/killswitch_engaged');
    expect(html).not.toMatch(/<script[^>]+src="https?:/);
  });
});
