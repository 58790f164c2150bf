import { beforeAll, describe } from 'vitest';
import {
  type AdminRoute,
  adminAuthCases,
  type SecurityFixture,
  type StorefrontRoute,
  securityFixture,
  storefrontAuthCases,
} from '../helpers/security-cases';

let fx: SecurityFixture;
beforeAll(async () => {
  fx = await securityFixture();
});
const f = () => fx;

/** Every storefront route that needs an API key. */
const storefrontRoutes: Record<string, StorefrontRoute> = {
  'GET /v1/catalog': { method: 'GET', path: '/v1/catalog', needs: 'publishable' },
  'POST /v1/flags/evaluate': {
    method: 'POST',
    path: '/v1/flags/evaluate',
    body: {},
    needs: 'publishable',
  },
};

const keyId = 'key_01AAAAAAAAAAAAAAAAAAAAAAAA';
/** Every admin route. */
const adminRoutes: Record<string, AdminRoute> = {
  'GET killswitches': {
    method: 'GET',
    path: (t) => `/admin/v1/tenants/${t}/killswitches`,
    write: false,
  },
  'POST killswitches': {
    method: 'POST',
    path: (t) => `/admin/v1/tenants/${t}/killswitches`,
    body: {
      scope: 'feature',
      target: 'catalog',
      storefront: 'us-store',
      engaged: false,
      reason: 'security test',
    },
    write: true,
    storefrontScoped: true,
  },
  'GET flags': { method: 'GET', path: (t) => `/admin/v1/tenants/${t}/flags`, write: false },
  'PUT flag': {
    method: 'PUT',
    path: (t) => `/admin/v1/tenants/${t}/flags/sec-flag`,
    body: {
      storefront: 'us-store',
      valueType: 'boolean',
      definition: { variations: [false, true], offVariation: 0, fallthrough: { variation: 1 } },
      reason: 'security test',
    },
    write: true,
    storefrontScoped: true,
  },
  'POST flag toggle': {
    method: 'POST',
    path: (t) => `/admin/v1/tenants/${t}/flags/sec-flag/toggle`,
    body: { storefront: 'us-store', enabled: false, reason: 'security test' },
    write: true,
    storefrontScoped: true,
  },
  'GET audit': {
    method: 'GET',
    path: (t) => `/admin/v1/tenants/${t}/audit?storefront=us-store`,
    write: false,
    storefrontScoped: true,
  },
  'GET audit/verify': {
    method: 'GET',
    path: (t) => `/admin/v1/tenants/${t}/audit/verify?storefront=us-store`,
    write: false,
    storefrontScoped: true,
  },
  'GET api-keys': {
    method: 'GET',
    path: (t) => `/admin/v1/tenants/${t}/storefronts/us-store/api-keys`,
    write: false,
    storefrontScoped: true,
  },
  'POST api-keys': {
    method: 'POST',
    path: (t) => `/admin/v1/tenants/${t}/storefronts/us-store/api-keys`,
    body: { kind: 'publishable', name: 'security test' },
    write: true,
    storefrontScoped: true,
  },
  'POST api-keys rotate': {
    method: 'POST',
    path: (t) => `/admin/v1/tenants/${t}/storefronts/us-store/api-keys/${keyId}/rotate`,
    body: { reason: 'security test' },
    write: true,
    storefrontScoped: true,
  },
  'POST api-keys revoke': {
    method: 'POST',
    path: (t) => `/admin/v1/tenants/${t}/storefronts/us-store/api-keys/${keyId}/revoke`,
    body: { reason: 'security test' },
    write: true,
    storefrontScoped: true,
  },
};

for (const [name, route] of Object.entries(storefrontRoutes)) {
  describe(`security: ${name}`, () => storefrontAuthCases(route, f));
}
for (const [name, route] of Object.entries(adminRoutes)) {
  describe(`security: admin ${name}`, () => adminAuthCases(route, f));
}
