/**
 * `HEAD` on every GET route: the same status and headers as the GET, and no body. The table is
 * the OpenAPI document's GET operations (so a new GET route is covered without editing this
 * file) plus the pages that are not in it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createTenant, publish, type TestTenant } from '../helpers/factories';
import { call, json } from '../helpers/http';
import { createOperator, type TestOperator } from '../helpers/operators';

let t: TestTenant;
let owner: TestOperator;
let customerToken: string;

/** Values for the path parameters the document uses. */
const params = (template: string): Record<string, string> => ({
  tenant: t.slug,
  storefront: 'us-store',
  id: template.startsWith('/v1/subscriptions')
    ? subscriptionId
    : template.startsWith('/v1/customers')
      ? customerId
      : template.startsWith('/v1/test-clocks')
        ? clockId
        : paymentId,
  provider: 'stripe',
  customer: customerId,
  subscription: subscriptionId,
  chart: 'mrr.svg',
});

/** Headers that differ between any two requests (or depend on the body's length). */
const PER_REQUEST = new Set(['x-request-id', 'ratelimit', 'date', 'content-length', 'set-cookie']);

function comparable(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (!PER_REQUEST.has(name)) out[name] = value;
  });
  return out;
}

beforeAll(async () => {
  t = await createTenant();
  await publish();
  owner = await createOperator(t.tenantId, 'owner');
  const host = t.hosts['us-store'] ?? '';
  const secret = t.keys['us-store']?.secret ?? '';
  const created = await call(host, '/v1/customers', {
    method: 'POST',
    key: secret,
    body: { email: 'head@example.test' },
  });
  const { customer } = await json<{ customer: { id: string } }>(created);
  const issued = await call(host, `/v1/customers/${customer.id}/tokens`, {
    method: 'POST',
    key: secret,
  });
  customerToken = (await json<{ token: string }>(issued)).token;
  await publish(); // the tenant's first signing key, so its tokens verify at the edge
  // A payment of that customer, for the payment reads (secret key).
  secretKey = secret;
  customerId = customer.id;
  const pm = await call(host, '/v1/payment-methods', {
    method: 'POST',
    key: secret,
    body: {
      type: 'card',
      card: { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' },
    },
  });
  const paid = await call(host, '/v1/payments', {
    method: 'POST',
    key: secret,
    body: { amount: 500, customerId, paymentMethodId: (await json<{ id: string }>(pm)).id },
  });
  paymentId = (await json<{ id: string }>(paid)).id;
  // A subscription of that customer, and a test clock, for the subscription reads.
  const pm2 = await call(host, '/v1/payment-methods', {
    method: 'POST',
    key: secret,
    body: {
      type: 'card',
      card: { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' },
    },
  });
  const sub = await call(host, '/v1/checkout', {
    method: 'POST',
    key: secret,
    body: {
      bundleId: 'pro-plan',
      customerId,
      paymentMethodId: (await json<{ id: string }>(pm2)).id,
    },
  });
  subscriptionId = (await json<{ subscription: { id: string } }>(sub)).subscription.id;
  const clock = await call(host, '/v1/test-clocks', {
    method: 'POST',
    key: secret,
    body: { frozenTime: '2027-01-01T00:00:00Z' },
  });
  clockId = (await json<{ id: string }>(clock)).id;
});

let subscriptionId = '';
let clockId = '';

let secretKey = '';
let customerId = '';
let paymentId = '';

/** GET and HEAD of one path, with the credential the path needs. */
async function pair(path: string, host: string, headers: Record<string, string> = {}) {
  const get = await call(host, path, { headers });
  const head = await call(host, path, { method: 'HEAD', headers });
  return { get, head };
}

/** How HEAD differs from GET on `path` (empty when it does not); GET must succeed. */
async function differences(
  path: string,
  host: string,
  headers?: Record<string, string>,
): Promise<string[]> {
  const { get, head } = await pair(path, host, headers);
  const getBody = await get.text();
  const headBody = await head.text();
  const out: string[] = [];
  if (get.status >= 400) out.push(`GET ${path}: ${get.status} ${getBody.slice(0, 120)}`);
  if (head.status !== get.status) out.push(`HEAD ${path}: ${head.status}, GET ${get.status}`);
  else if (JSON.stringify(comparable(head)) !== JSON.stringify(comparable(get))) {
    out.push(`HEAD ${path} headers ${JSON.stringify(comparable(head))} ≠ GET's`);
  }
  if (headBody !== '') out.push(`HEAD ${path}: a body of ${headBody.length} characters`);
  return out;
}

async function expectSameAsGet(path: string, host: string, headers?: Record<string, string>) {
  expect(await differences(path, host, headers)).toEqual([]);
}

describe('HEAD answers like GET, without a body', () => {
  it('for every GET operation of the OpenAPI document', async () => {
    const doc = await json<{ paths: Record<string, Record<string, unknown>> }>(
      await call('docs.test', '/openapi.json'),
    );
    const gets = Object.entries(doc.paths).filter(([, ops]) => 'get' in ops);
    expect(gets.length).toBeGreaterThan(8);
    const found: string[] = [];
    for (const [template, ops] of gets) {
      const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
        const value = params(template)[name];
        if (value === undefined) throw new Error(`no test value for {${name}} in ${template}`);
        return value;
      });
      const usHost = t.hosts['us-store'] ?? '';
      const security = JSON.stringify((ops.get as { security?: unknown }).security ?? []);
      if (path.startsWith('/admin/')) {
        const auth = { authorization: `Bearer ${owner.token}` };
        const query = path.endsWith('/customers') ? '?query=head%40' : '';
        found.push(...(await differences(`${path}${query}`, 'admin.test', auth)));
      } else if (security.includes('entitlementsToken')) {
        const read = await call(usHost, '/v1/entitlements', { key: customerToken });
        const { token } = await json<{ token: string }>(read);
        const auth = { authorization: `Bearer ${token}` };
        found.push(...(await differences(`${path}?key=api_access`, usHost, auth)));
      } else if (security.includes('customerToken')) {
        const auth = { authorization: `Bearer ${customerToken}` };
        found.push(...(await differences(path, usHost, auth)));
      } else if (path.startsWith('/v1/payments') || path.startsWith('/v1/test-clocks')) {
        const auth = { authorization: `Bearer ${secretKey}` };
        const query = path === '/v1/payments' ? `?customerId=${customerId}` : '';
        found.push(...(await differences(`${path}${query}`, usHost, auth)));
      } else {
        // The storefront's publishable key, whether the route needs one or not.
        found.push(...(await differences(path, usHost)));
      }
    }
    expect(found).toEqual([]);
  });

  it.each(['/docs', '/openapi.json', '/console', '/console/app.js', '/healthz'])(
    '%s',
    async (path) => {
      await expectSameAsGet(path, 'docs.test');
    },
  );

  it('under a tenant’s path prefix', async () => {
    const auth = { authorization: `Bearer ${t.keys['eu-store']?.publishable}` };
    await expectSameAsGet('/eu/v1/catalog', t.sharedHost, auth);
    await expectSameAsGet('/eu/v1/storefront', t.sharedHost, auth);
  });

  it('an error is the same problem, without its body', async () => {
    const host = t.hosts['us-store'] ?? '';
    const get = await call(host, '/v1/catalog', { key: null });
    const head = await call(host, '/v1/catalog', { method: 'HEAD', key: null });
    expect([get.status, head.status]).toEqual([401, 401]);
    expect(comparable(head)).toEqual(comparable(get));
    expect(await head.text()).toBe('');
  });
});
