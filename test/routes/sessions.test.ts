import { beforeAll, describe, expect, it } from 'vitest';
import { createTenant, type TestTenant } from '../helpers/factories';
import { call, json } from '../helpers/http';
import { asOperator, createOperator, type TestOperator } from '../helpers/operators';

let t: TestTenant;
let owner: TestOperator;

beforeAll(async () => {
  t = await createTenant();
  owner = await createOperator(t.tenantId, 'owner');
});

const signIn = (email: string, password: string, headers: Record<string, string> = {}) =>
  call('admin.test', '/admin/v1/sessions', {
    method: 'POST',
    body: { email, password },
    headers,
  });

describe('Cache-Control: no-store on every response that carries a session or a secret', () => {
  const keys = () => `/admin/v1/tenants/${t.slug}/storefronts/us-store/api-keys`;
  const cases: [string, () => Promise<Response>][] = [
    [
      'POST /admin/v1/sessions (session token, CSRF token)',
      () => signIn(owner.email, owner.password),
    ],
    ['GET /admin/v1/me (CSRF token)', () => asOperator(owner, 'GET', '/admin/v1/me')],
    [
      'POST …/api-keys (the key, shown once)',
      () => asOperator(owner, 'POST', keys(), { kind: 'secret', name: 'no-store' }),
    ],
    [
      'POST …/api-keys/{key}/rotate (the new key, shown once)',
      async () => {
        const created = await asOperator(owner, 'POST', keys(), { kind: 'secret', name: 'rot' });
        const { apiKey } = await json<{ apiKey: { id: string } }>(created);
        return asOperator(owner, 'POST', `${keys()}/${apiKey.id}/rotate`, {
          reason: 'no-store test',
        });
      },
    ],
    [
      'POST /v1/customers/{id}/tokens (a customer token)',
      async () => {
        const host = t.hosts['us-store'] ?? '';
        const key = t.keys['us-store']?.secret ?? '';
        const created = await call(host, '/v1/customers', {
          method: 'POST',
          key,
          body: { email: `no-store-${Date.now()}@example.test` },
        });
        const { customer } = await json<{ customer: { id: string } }>(created);
        return call(host, `/v1/customers/${customer.id}/tokens`, { method: 'POST', key });
      },
    ],
    [
      'POST …/signing-keys/rotate',
      () =>
        asOperator(owner, 'POST', `/admin/v1/tenants/${t.slug}/signing-keys/rotate`, {
          reason: 'no-store test',
        }),
    ],
    ['GET /console', () => call('admin.test', '/console')],
  ];

  for (const [name, send] of cases) {
    it(name, async () => {
      const res = await send();
      expect(res.status, await res.clone().text()).toBeLessThan(300);
      expect(res.headers.get('cache-control')).toMatch(/(^|,\s*)no-store(\s*,|$)/);
    });
  }
});
