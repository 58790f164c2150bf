/**
 * The standard security cases for every operation of the OpenAPI document, chosen by the
 * security scheme the operation declares. Each operation needs an entry in `ROUTES` (what to
 * send, and which role or key kind it needs); an operation without one fails the first test, so
 * a new route cannot ship without its security cases.
 */
import { SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AdminRoute,
  adminAuthCases,
  type CustomerRoute,
  customerAuthCases,
  entitlementsTokenCases,
  internalAuthCases,
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

const keyId = 'key_01AAAAAAAAAAAAAAAAAAAAAAAA';
const customerId = 'cus_01AAAAAAAAAAAAAAAAAAAAAAAA';

type RouteCase =
  | ({
      scheme: 'apiKey' /** Also takes a customer token (for the customer's own). */;
      orCustomer?: boolean;
    } & Omit<StorefrontRoute, 'method'>)
  | ({ scheme: 'customerToken' } & Omit<CustomerRoute, 'method'>)
  | ({ scheme: 'operator' } & Omit<AdminRoute, 'method'>)
  | { scheme: 'publishToken' }
  | { scheme: 'entitlementsToken'; path: string }
  /** No credential by design; `why` says so. */
  | { scheme: 'public'; why: string };

/** Every operation of the API, by `METHOD <OpenAPI path>`. */
const ROUTES: Record<string, RouteCase> = {
  'GET /healthz': { scheme: 'public', why: 'liveness probe' },
  'GET /v1/storefront': { scheme: 'public', why: 'storefront discovery before a key is chosen' },
  'GET /v1/.well-known/jwks.json': { scheme: 'public', why: 'public keys for token verification' },
  'POST /admin/v1/sessions': { scheme: 'public', why: 'operator sign-in' },
  'DELETE /admin/v1/sessions/current': {
    scheme: 'operator',
    path: () => '/admin/v1/sessions/current',
    write: true,
    tenantScoped: false,
    anyRole: true,
  },
  'DELETE /admin/v1/sessions': {
    scheme: 'operator',
    path: () => '/admin/v1/sessions',
    write: true,
    tenantScoped: false,
    anyRole: true,
  },
  'GET /v1/catalog': { scheme: 'apiKey', path: '/v1/catalog', needs: 'publishable' },
  'POST /v1/flags/evaluate': {
    scheme: 'apiKey',
    path: '/v1/flags/evaluate',
    body: {},
    needs: 'publishable',
  },
  'POST /v1/customers': {
    scheme: 'apiKey',
    path: '/v1/customers',
    body: { email: 'sec@example.test' },
    needs: 'secret',
  },
  'POST /v1/customers/{id}/tokens': {
    scheme: 'apiKey',
    path: '/v1/customers/cus_01AAAAAAAAAAAAAAAAAAAAAAAA/tokens',
    needs: 'secret',
  },
  'POST /v1/payment-methods': {
    scheme: 'apiKey',
    path: '/v1/payment-methods',
    body: {
      type: 'card',
      card: { number: '4242424242424242', expMonth: 12, expYear: 2099, cvc: '123' },
    },
    needs: 'publishable',
  },
  'POST /v1/payments': {
    scheme: 'apiKey',
    path: '/v1/payments',
    body: { amount: 100, paymentMethodId: 'pm_01AAAAAAAAAAAAAAAAAAAAAAAA' },
    needs: 'secret',
  },
  'GET /v1/payments': {
    scheme: 'apiKey',
    path: '/v1/payments?customerId=cus_01AAAAAAAAAAAAAAAAAAAAAAAA',
    needs: 'secret',
  },
  'GET /v1/payments/{id}': {
    scheme: 'apiKey',
    path: '/v1/payments/pay_01AAAAAAAAAAAAAAAAAAAAAAAA',
    needs: 'secret',
  },
  'POST /v1/payments/{id}/refunds': {
    scheme: 'apiKey',
    path: '/v1/payments/pay_01AAAAAAAAAAAAAAAAAAAAAAAA/refunds',
    body: {},
    needs: 'secret',
  },
  'GET /admin/v1/tenants/{tenant}/sandbox/providers/{provider}': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/sandbox/providers/adyen`,
    // The webhook secret it shows signs deliveries: the role that may switch outages only.
    write: false,
    writerOnly: true,
  },
  'POST /webhooks/{mode}/{tenant}/{provider}': {
    scheme: 'public',
    why: 'payment providers sign their deliveries; the signature is the credential',
  },
  'PUT /admin/v1/tenants/{tenant}/sandbox/providers/{provider}': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/sandbox/providers/adyen`,
    body: { mode: 'ok', reason: 'security test' },
    write: true,
  },
  'PUT /admin/v1/tenants/{tenant}/storefronts/{storefront}/payment-routing': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/storefronts/us-store/payment-routing`,
    body: {
      routing: { default: { tiers: [{ providers: [{ provider: 'stripe', weight: 100 }] }] } },
      reason: 'security test',
    },
    write: true,
    storefrontScoped: true,
  },
  'POST /v1/checkout': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/checkout',
    body: {
      bundleId: 'pro-plan',
      customer: { email: 'sec@example.test' },
      paymentMethodId: 'pm_01AAAAAAAAAAAAAAAAAAAAAAAA',
    },
    needs: 'secret',
  },
  'GET /v1/subscriptions/{id}': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/subscriptions/sub_01AAAAAAAAAAAAAAAAAAAAAAAA',
    needs: 'secret',
  },
  'GET /v1/customers/{id}/subscriptions': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/customers/cus_01AAAAAAAAAAAAAAAAAAAAAAAA/subscriptions',
    needs: 'secret',
  },
  'GET /v1/subscriptions/{id}/payments': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/subscriptions/sub_01AAAAAAAAAAAAAAAAAAAAAAAA/payments',
    needs: 'secret',
  },
  'GET /v1/subscriptions/{id}/events': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/subscriptions/sub_01AAAAAAAAAAAAAAAAAAAAAAAA/events',
    needs: 'secret',
  },
  'POST /v1/subscriptions/{id}/pause': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/subscriptions/sub_01AAAAAAAAAAAAAAAAAAAAAAAA/pause',
    body: {},
    needs: 'secret',
  },
  'POST /v1/subscriptions/{id}/resume': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/subscriptions/sub_01AAAAAAAAAAAAAAAAAAAAAAAA/resume',
    body: {},
    needs: 'secret',
  },
  'POST /v1/subscriptions/{id}/cancel': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/subscriptions/sub_01AAAAAAAAAAAAAAAAAAAAAAAA/cancel',
    body: {},
    needs: 'secret',
  },
  'POST /v1/subscriptions/{id}/reactivate': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/subscriptions/sub_01AAAAAAAAAAAAAAAAAAAAAAAA/reactivate',
    body: {},
    needs: 'secret',
  },
  'POST /v1/subscriptions/{id}/change': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/subscriptions/sub_01AAAAAAAAAAAAAAAAAAAAAAAA/change',
    body: { bundleId: 'enterprise' },
    needs: 'secret',
  },
  'POST /v1/subscriptions/{id}/change/preview': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/subscriptions/sub_01AAAAAAAAAAAAAAAAAAAAAAAA/change/preview',
    body: { bundleId: 'enterprise' },
    needs: 'secret',
  },
  'POST /v1/subscriptions/{id}/payment-method': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/subscriptions/sub_01AAAAAAAAAAAAAAAAAAAAAAAA/payment-method',
    body: { paymentMethodId: 'pm_01AAAAAAAAAAAAAAAAAAAAAAAA' },
    needs: 'secret',
  },
  'POST /v1/test-clocks': {
    scheme: 'apiKey',
    path: '/v1/test-clocks',
    body: { frozenTime: '2027-01-01T00:00:00Z' },
    needs: 'secret',
  },
  'GET /v1/test-clocks/{id}': {
    scheme: 'apiKey',
    path: '/v1/test-clocks/clock_01AAAAAAAAAAAAAAAAAAAAAAAA',
    needs: 'secret',
  },
  'POST /v1/test-clocks/{id}/advance': {
    scheme: 'apiKey',
    path: '/v1/test-clocks/clock_01AAAAAAAAAAAAAAAAAAAAAAAA/advance',
    body: { to: '2027-02-01T00:00:00Z' },
    needs: 'secret',
  },
  'GET /v1/me': { scheme: 'customerToken', path: () => '/v1/me' },
  'GET /v1/entitlements': { scheme: 'customerToken', path: () => '/v1/entitlements' },
  'GET /v1/entitlements/check': {
    scheme: 'entitlementsToken',
    path: '/v1/entitlements/check?key=api_access',
  },
  'GET /v1/entitlements/events': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/entitlements/events?customerId=cus_01AAAAAAAAAAAAAAAAAAAAAAAA',
    needs: 'secret',
  },
  'POST /v1/entitlements/check': {
    scheme: 'apiKey',
    path: '/v1/entitlements/check',
    body: { customerId: 'cus_01AAAAAAAAAAAAAAAAAAAAAAAA', key: 'api_access' },
    needs: 'secret',
  },
  'POST /v1/entitlements/{key}/consume': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/entitlements/api_access/consume',
    body: { customerId: 'cus_01AAAAAAAAAAAAAAAAAAAAAAAA', quantity: 1 },
    needs: 'secret',
  },
  'POST /v1/entitlements/{key}/slots': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/entitlements/integrations/slots',
    body: { customerId: 'cus_01AAAAAAAAAAAAAAAAAAAAAAAA' },
    needs: 'secret',
  },
  'POST /v1/entitlements/{key}/slots/{slotId}/confirm': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/entitlements/integrations/slots/slot_01AAAAAAAAAAAAAAAAAAAAAAAA/confirm?customerId=cus_01AAAAAAAAAAAAAAAAAAAAAAAA',
    needs: 'secret',
  },
  'DELETE /v1/entitlements/{key}/slots/{slotId}': {
    scheme: 'apiKey',
    orCustomer: true,
    path: '/v1/entitlements/integrations/slots/slot_01AAAAAAAAAAAAAAAAAAAAAAAA?customerId=cus_01AAAAAAAAAAAAAAAAAAAAAAAA',
    needs: 'secret',
  },
  'POST /internal/publish': { scheme: 'publishToken' },
  'GET /admin/v1/me': {
    scheme: 'operator',
    path: () => '/admin/v1/me',
    write: false,
    tenantScoped: false,
  },
  'GET /admin/v1/tenants/{tenant}/killswitches': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/killswitches`,
    write: false,
  },
  'POST /admin/v1/tenants/{tenant}/killswitches': {
    scheme: 'operator',
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
  'GET /admin/v1/tenants/{tenant}/flags': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/flags`,
    write: false,
  },
  'PUT /admin/v1/tenants/{tenant}/flags/{key}': {
    scheme: 'operator',
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
  'POST /admin/v1/tenants/{tenant}/flags/{key}/toggle': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/flags/sec-flag/toggle`,
    body: { storefront: 'us-store', enabled: false, reason: 'security test' },
    write: true,
    storefrontScoped: true,
  },
  'GET /admin/v1/tenants/{tenant}/analytics/summary': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/analytics/summary?storefront=us-store`,
    write: false,
    storefrontScoped: true,
  },
  'GET /admin/v1/tenants/{tenant}/analytics/timeseries': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/analytics/timeseries?storefront=us-store&metric=mrr`,
    write: false,
    storefrontScoped: true,
  },
  'GET /admin/v1/tenants/{tenant}/analytics/charts/{chart}': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/analytics/charts/mrr.svg?storefront=us-store`,
    write: false,
    storefrontScoped: true,
  },
  'GET /admin/v1/tenants/{tenant}/analytics/payments': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/analytics/payments?storefront=us-store`,
    write: false,
    storefrontScoped: true,
  },
  'GET /admin/v1/tenants/{tenant}/analytics/experiments': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/analytics/experiments?storefront=us-store`,
    write: false,
    storefrontScoped: true,
  },
  'GET /admin/v1/tenants/{tenant}/analytics/campaigns': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/analytics/campaigns?storefront=us-store`,
    write: false,
    storefrontScoped: true,
  },
  'GET /admin/v1/tenants/{tenant}/audit': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/audit?storefront=us-store`,
    write: false,
    storefrontScoped: true,
  },
  'GET /admin/v1/tenants/{tenant}/audit/verify': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/audit/verify?storefront=us-store`,
    write: false,
    storefrontScoped: true,
  },
  'GET /admin/v1/tenants/{tenant}/storefronts': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/storefronts`,
    write: false,
  },
  'GET /admin/v1/tenants/{tenant}/storefronts/{storefront}/api-keys': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/storefronts/us-store/api-keys`,
    write: false,
    storefrontScoped: true,
  },
  'POST /admin/v1/tenants/{tenant}/storefronts/{storefront}/api-keys': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/storefronts/us-store/api-keys`,
    body: { kind: 'publishable', name: 'security test' },
    write: true,
    storefrontScoped: true,
  },
  'POST /admin/v1/tenants/{tenant}/storefronts/{storefront}/api-keys/{key}/rotate': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/storefronts/us-store/api-keys/${keyId}/rotate`,
    body: { reason: 'security test' },
    write: true,
    storefrontScoped: true,
  },
  'POST /admin/v1/tenants/{tenant}/storefronts/{storefront}/api-keys/{key}/revoke': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/storefronts/us-store/api-keys/${keyId}/revoke`,
    body: { reason: 'security test' },
    write: true,
    storefrontScoped: true,
  },
  'GET /admin/v1/tenants/{tenant}/storefronts/{storefront}/customers/{customer}/entitlement-grants':
    {
      scheme: 'operator',
      path: (t) =>
        `/admin/v1/tenants/${t}/storefronts/us-store/customers/${customerId}/entitlement-grants`,
      write: false,
      storefrontScoped: true,
    },
  'POST /admin/v1/tenants/{tenant}/storefronts/{storefront}/customers/{customer}/entitlement-grants':
    {
      scheme: 'operator',
      path: (t) =>
        `/admin/v1/tenants/${t}/storefronts/us-store/customers/${customerId}/entitlement-grants`,
      body: {
        key: 'analytics_dashboard',
        expiresAt: '2099-01-01T00:00:00Z',
        reason: 'security test',
      },
      write: true,
      storefrontScoped: true,
    },
  'DELETE /admin/v1/tenants/{tenant}/storefronts/{storefront}/customers/{customer}/entitlement-grants/{grantId}':
    {
      scheme: 'operator',
      path: (t) =>
        `/admin/v1/tenants/${t}/storefronts/us-store/customers/${customerId}/entitlement-grants/comp_01AAAAAAAAAAAAAAAAAAAAAAAA`,
      body: { reason: 'security test' },
      write: true,
      storefrontScoped: true,
    },
  'GET /admin/v1/tenants/{tenant}/customers': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/customers?query=sec&storefront=us-store`,
    write: false,
    storefrontScoped: true,
  },
  'GET /admin/v1/tenants/{tenant}/customers/{customer}': {
    scheme: 'operator',
    // A real customer of us-store, so a grant limited to eu-store meets a 403 (not a 404).
    path: (t) => `/admin/v1/tenants/${t}/customers/${f().customer.id}`,
    write: false,
    storefrontScoped: true,
  },
  'GET /admin/v1/tenants/{tenant}/subscriptions/{subscription}/payments': {
    scheme: 'operator',
    // The storefront scope of a real subscription is in test/routes/admin-customers.test.ts.
    path: (t) => `/admin/v1/tenants/${t}/subscriptions/sub_01AAAAAAAAAAAAAAAAAAAAAAAA/payments`,
    write: false,
  },
  'GET /admin/v1/tenants/{tenant}/edge-status': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/edge-status?storefront=us-store`,
    write: false,
    storefrontScoped: true,
  },
  'GET /admin/v1/tenants/{tenant}/signing-keys': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/signing-keys`,
    write: false,
  },
  'POST /admin/v1/tenants/{tenant}/signing-keys/rotate': {
    scheme: 'operator',
    path: (t) => `/admin/v1/tenants/${t}/signing-keys/rotate`,
    body: { reason: 'security test' },
    write: true,
  },
};

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

interface Operation {
  name: string;
  /** The schemes the document declares for it: `apiKey`, `customerToken`, `bearer`; [] for none. */
  declared: string[];
}

const doc = (await (await SELF.fetch('https://docs.test/openapi.json')).json()) as {
  paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
};
const operations: Operation[] = Object.entries(doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops)
    .filter(([method]) => METHODS.has(method))
    .map(([method, op]) => ({
      name: `${method.toUpperCase()} ${path}`,
      declared: (op.security ?? []).flatMap((s) => Object.keys(s)),
    })),
);

/** The scheme a route case must declare in the document. */
function expectedDeclaration(route: RouteCase): string[] {
  switch (route.scheme) {
    case 'apiKey':
      return route.orCustomer ? ['apiKey', 'customerToken'] : ['apiKey'];
    case 'customerToken':
    case 'entitlementsToken':
      return [route.scheme];
    case 'operator':
    case 'publishToken':
      return ['bearer'];
    case 'public':
      return [];
  }
}

describe('security cases cover the API', () => {
  it('the OpenAPI document lists the API', () => {
    expect(operations.length).toBeGreaterThanOrEqual(Object.keys(ROUTES).length);
  });
  it('every operation of the OpenAPI document has security cases', () => {
    const missing = operations.map((o) => o.name).filter((name) => !(name in ROUTES));
    expect(missing, 'add these operations to ROUTES in test/routes/security.test.ts').toEqual([]);
  });
  it('every entry names an operation that exists', () => {
    const names = new Set(operations.map((o) => o.name));
    expect(Object.keys(ROUTES).filter((name) => !names.has(name))).toEqual([]);
  });
  it('each operation declares the security scheme its cases test', () => {
    const wrong = operations.flatMap((o) => {
      const route = ROUTES[o.name];
      if (!route) return [];
      const want = expectedDeclaration(route);
      return JSON.stringify(want) === JSON.stringify(o.declared)
        ? []
        : [`${o.name}: declares ${JSON.stringify(o.declared)}, cases are for ${route.scheme}`];
    });
    expect(wrong).toEqual([]);
  });
});

for (const { name } of operations) {
  const route = ROUTES[name];
  if (!route || route.scheme === 'public') continue;
  const method = name.slice(0, name.indexOf(' '));
  describe(`security: ${name}`, () => {
    if (route.scheme === 'apiKey') {
      const { orCustomer: _, ...cases } = route;
      storefrontAuthCases({ ...cases, method }, f);
    } else if (route.scheme === 'customerToken') customerAuthCases({ ...route, method }, f);
    else if (route.scheme === 'operator') adminAuthCases({ ...route, method }, f);
    else if (route.scheme === 'entitlementsToken') {
      entitlementsTokenCases({ method, path: route.path }, f);
    } else internalAuthCases({ method, path: name.slice(method.length + 1) });
  });
}
