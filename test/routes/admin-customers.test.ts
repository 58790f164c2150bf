/**
 * The console's admin reads through the worker: customer search, a customer with their
 * subscriptions, a subscription's payments with the routing decision of each, what the edge
 * serves after a change, and the audit trail's operator names. RBAC (storefront scope, viewer),
 * another tenant's 404 and bad parameters.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createTenant, publish, type TestTenant, unique } from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import { asOperator, createOperator, type TestOperator } from '../helpers/operators';
import { type Shop, subscribe, tokenize } from '../helpers/subscriptions';

let t: TestTenant;
let other: TestTenant;
let owner: TestOperator;
let viewer: TestOperator;
let euOnly: TestOperator;
let foreign: TestOperator;
let us: Shop;
let eu: Shop;
let adaEmail = '';
let ada: { customerId: string; subscriptionId: string };
let euCustomerId = '';

const base = () => `/admin/v1/tenants/${t.slug}`;

interface Found {
  id: string;
  email: string;
  storefront: { slug: string };
  subscriptionCount: number;
}

async function search(who: TestOperator, query: string, extra = '') {
  const res = await asOperator(
    who,
    'GET',
    `${base()}/customers?query=${encodeURIComponent(query)}${extra}`,
  );
  expect(res.status, await res.clone().text()).toBe(200);
  return (await json<{ items: Found[] }>(res)).items;
}

function shop(tenant: TestTenant, sf: string): Shop {
  return {
    host: tenant.hosts[sf] ?? '',
    sk: tenant.keys[sf]?.secret ?? '',
    pk: tenant.keys[sf]?.publishable ?? '',
    tenantId: tenant.tenantId,
  };
}

beforeAll(async () => {
  t = await createTenant();
  other = await createTenant();
  await publish();
  owner = await createOperator(t.tenantId, 'owner');
  viewer = await createOperator(t.tenantId, 'viewer');
  euOnly = await createOperator(t.tenantId, 'admin', {
    storefrontIds: [t.storefronts['eu-store'] ?? ''],
  });
  foreign = await createOperator(other.tenantId, 'owner');
  us = shop(t, 'us-store');
  eu = shop(t, 'eu-store');
  // Stripe down: the checkout's payment fails over to PayPal, the second tier.
  const outage = (mode: string) =>
    asOperator(owner, 'PUT', `${base()}/sandbox/providers/stripe`, {
      mode,
      reason: 'failover demo',
    });
  expect((await outage('error')).status).toBe(200);
  adaEmail = `ada.${unique()}@us-store.test`;
  const sub = await subscribe(us, {
    bundleId: 'pro-plan',
    customer: { email: adaEmail },
    paymentMethodId: await tokenize(us),
  });
  expect((await outage('ok')).status).toBe(200);
  ada = { customerId: sub.customerId, subscriptionId: sub.id };
  const created = await call(eu.host, '/v1/customers', {
    method: 'POST',
    key: eu.sk,
    body: { email: `eve.${unique()}@eu-store.test` },
  });
  euCustomerId = (await json<{ customer: { id: string } }>(created)).customer.id;
});

describe('GET /admin/v1/tenants/{tenant}/customers', () => {
  it('finds a customer by the start of their email, case-insensitively, and by any of their ids', async () => {
    const prefix = adaEmail.slice(0, adaEmail.indexOf('@') + 1).toUpperCase();
    const byEmail = await search(owner, prefix);
    expect(byEmail.map((c) => [c.id, c.email, c.storefront.slug, c.subscriptionCount])).toEqual([
      [ada.customerId, adaEmail, 'us-store', 1],
    ]);
    expect((await search(owner, ada.customerId)).map((c) => c.id)).toEqual([ada.customerId]);
    expect((await search(owner, ada.subscriptionId)).map((c) => c.id)).toEqual([ada.customerId]);
    // LIKE's wildcards are literal: "%" matches no one rather than everyone.
    expect(await search(owner, '%')).toEqual([]);
    expect(await search(owner, 'ada_')).toEqual([]);
    // Another tenant's owner finds nothing through their own tenant either.
    const theirs = await asOperator(
      foreign,
      'GET',
      `/admin/v1/tenants/${other.slug}/customers?query=${ada.subscriptionId}`,
    );
    expect((await json<{ items: unknown[] }>(theirs)).items).toEqual([]);
  });

  it('a storefront-scoped operator searches their storefronts only', async () => {
    expect(await search(euOnly, adaEmail)).toEqual([]);
    expect((await search(euOnly, euCustomerId)).map((c) => c.storefront.slug)).toEqual([
      'eu-store',
    ]);
    expect((await search(viewer, adaEmail)).map((c) => c.id)).toEqual([ada.customerId]);
    const narrowed = await asOperator(
      euOnly,
      'GET',
      `${base()}/customers?query=ada&storefront=us-store`,
    );
    await expectProblem(narrowed, 403, 'forbidden');
    expect(await search(owner, adaEmail, '&storefront=eu-store')).toEqual([]);
  });

  it('another tenant is a 404; bad parameters are 400s naming the field', async () => {
    const path = `${base()}/customers?query=ada`;
    await expectProblem(await asOperator(foreign, 'GET', path), 404, 'not_found');
    for (const q of ['query=', 'query=%20%20', `query=${'a'.repeat(255)}`, 'query=a%00b']) {
      const res = await asOperator(owner, 'GET', `${base()}/customers?${q}`);
      const problem = await expectProblem(res, 400, 'validation_failed');
      expect(JSON.stringify(problem.errors)).toContain('query');
    }
    const tooMany = await asOperator(owner, 'GET', `${base()}/customers?query=a&limit=51`);
    await expectProblem(tooMany, 400, 'validation_failed');
    const noSuchStorefront = await asOperator(owner, 'GET', `${path}&storefront=nowhere`);
    await expectProblem(noSuchStorefront, 404, 'not_found');
  });
});

describe('GET /admin/v1/tenants/{tenant}/customers/{customer}', () => {
  it('shows the subscriptions with state, bundle, price and next renewal', async () => {
    const res = await asOperator(viewer, 'GET', `${base()}/customers/${ada.customerId}`);
    expect(res.status).toBe(200);
    const body = await json<{
      customer: { id: string; email: string; storefront: { slug: string } };
      subscriptions: {
        id: string;
        status: string;
        mode: string;
        bundle: { slug: string };
        price: { amount: number; currency: string; interval: string };
        currentPeriodEnd: string;
        nextRenewalAt: string | null;
      }[];
    }>(res);
    expect(body.customer).toMatchObject({ email: adaEmail, storefront: { slug: 'us-store' } });
    expect(body.subscriptions).toHaveLength(1);
    const [s] = body.subscriptions;
    expect(s).toMatchObject({
      id: ada.subscriptionId,
      status: 'active',
      mode: 'test',
      bundle: { slug: 'pro-plan' },
      price: { amount: 2900, currency: 'USD', interval: 'month' },
    });
    expect(s?.nextRenewalAt).toBe(s?.currentPeriodEnd);
  });

  it('403 outside the operator’s storefronts, 404 for another tenant or no such customer, 400 for a malformed id', async () => {
    const path = `${base()}/customers/${ada.customerId}`;
    await expectProblem(await asOperator(euOnly, 'GET', path), 403, 'forbidden');
    expect((await asOperator(euOnly, 'GET', `${base()}/customers/${euCustomerId}`)).status).toBe(
      200,
    );
    await expectProblem(
      await asOperator(
        foreign,
        'GET',
        `/admin/v1/tenants/${other.slug}/customers/${ada.customerId}`,
      ),
      404,
      'not_found',
    );
    await expectProblem(await asOperator(foreign, 'GET', path), 404, 'not_found');
    await expectProblem(
      await asOperator(owner, 'GET', `${base()}/customers/cus_01AAAAAAAAAAAAAAAAAAAAAAAA`),
      404,
      'not_found',
    );
    await expectProblem(
      await asOperator(owner, 'GET', `${base()}/customers/ada`),
      400,
      'validation_failed',
    );
  });
});

describe('GET /admin/v1/tenants/{tenant}/subscriptions/{subscription}/payments', () => {
  it('each payment with its attempts and the routing decision that chose them', async () => {
    const res = await asOperator(
      viewer,
      'GET',
      `${base()}/subscriptions/${ada.subscriptionId}/payments`,
    );
    expect(res.status).toBe(200);
    const body = await json<{
      subscription: { id: string; customerId: string };
      items: {
        status: string;
        amount: number;
        currency: string;
        provider: string;
        decision: { rule: string; order: string[]; skipped: unknown[]; bucket: number };
        attempts: { seq: number; provider: string; status: string }[];
      }[];
    }>(res);
    expect(body.subscription).toMatchObject({ id: ada.subscriptionId, customerId: ada.customerId });
    expect(body.items).toHaveLength(1);
    const [p] = body.items;
    expect(p).toMatchObject({
      status: 'succeeded',
      amount: 2900,
      currency: 'USD',
      provider: 'paypal',
    });
    expect(p?.decision).toMatchObject({
      rule: 'default',
      order: ['stripe', 'paypal'],
      skipped: [],
    });
    expect(p?.decision.bucket).toBeGreaterThanOrEqual(0);
    expect(p?.attempts.map((a) => [a.seq, a.provider, a.status])).toEqual([
      [0, 'stripe', 'error'],
      [1, 'paypal', 'captured'],
    ]);
  });

  it('403 outside the operator’s storefronts, 404 for another tenant or no such subscription, 400 for bad params', async () => {
    const path = `${base()}/subscriptions/${ada.subscriptionId}/payments`;
    await expectProblem(await asOperator(euOnly, 'GET', path), 403, 'forbidden');
    await expectProblem(
      await asOperator(
        foreign,
        'GET',
        `/admin/v1/tenants/${other.slug}/subscriptions/${ada.subscriptionId}/payments`,
      ),
      404,
      'not_found',
    );
    await expectProblem(
      await asOperator(
        owner,
        'GET',
        `${base()}/subscriptions/sub_01AAAAAAAAAAAAAAAAAAAAAAAA/payments`,
      ),
      404,
      'not_found',
    );
    await expectProblem(
      await asOperator(owner, 'GET', `${path}?limit=0`),
      400,
      'validation_failed',
    );
    await expectProblem(
      await asOperator(owner, 'GET', `${base()}/subscriptions/pay_x/payments`),
      400,
      'validation_failed',
    );
  });
});

describe('GET /admin/v1/tenants/{tenant}/edge-status', () => {
  interface EdgeStatus {
    configVersion: number;
    edge: {
      version: number | null;
      fresh: boolean;
      killswitches: { id: string; engaged: boolean }[];
    };
    kv: { version: number | null };
    live: boolean;
  }
  const status = async (who = viewer, query = '') => {
    const res = await asOperator(who, 'GET', `${base()}/edge-status${query}`);
    expect(res.status, await res.clone().text()).toBe(200);
    return json<EdgeStatus>(res);
  };

  it('reports the version the edge serves, and follows a flip until it is live', async () => {
    const flip = await asOperator(owner, 'POST', `${base()}/killswitches`, {
      scope: 'feature',
      target: 'signup',
      engaged: true,
      reason: 'edge status test',
    });
    expect(flip.status).toBe(200);
    const { configVersion, killswitch } = await json<{
      configVersion: number;
      killswitch: { id: string };
    }>(flip);
    let seen = await status();
    expect(seen.configVersion).toBe(configVersion);
    // The isolate picks the new hot config up in the background (≤ 250 ms poll + 1 s cache).
    for (let i = 0; i < 200 && !seen.live; i++) {
      await new Promise((r) => setTimeout(r, 25));
      seen = await status();
    }
    expect(seen.live).toBe(true);
    expect(seen.edge.version).toBeGreaterThanOrEqual(configVersion);
    expect(seen.edge.fresh).toBe(true);
    expect(seen.edge.killswitches).toContainEqual({ id: killswitch.id, engaged: true });
    expect(seen.kv.version).toBeGreaterThanOrEqual(configVersion);
  });

  it('a storefront-scoped operator asks for their storefront; another tenant is a 404', async () => {
    const mine = await status(euOnly, '?storefront=eu-store');
    expect(mine.edge.version).not.toBeNull();
    const all = await asOperator(euOnly, 'GET', `${base()}/edge-status`);
    await expectProblem(all, 403, 'forbidden');
    await expectProblem(
      await asOperator(foreign, 'GET', `${base()}/edge-status`),
      404,
      'not_found',
    );
    await expectProblem(
      await asOperator(owner, 'GET', `${base()}/edge-status?storefront=${'x'.repeat(65)}`),
      400,
      'validation_failed',
    );
  });
});

describe('the audit trail names its actors', () => {
  it('operators by name, the platform as System (…)', async () => {
    const res = await asOperator(viewer, 'GET', `${base()}/audit?limit=200`);
    expect(res.status).toBe(200);
    const { items } = await json<{
      items: { actorType: string; actorId: string; actorName: string; action: string }[];
    }>(res);
    const flip = items.find((r) => r.action === 'killswitch.create');
    expect(flip).toMatchObject({ actorType: 'operator', actorId: owner.id });
    expect(flip?.actorName).toBe(`owner ${owner.email}`);
    const outage = items.find((r) => r.action === 'sandbox.outage');
    expect(outage?.actorName).toBe(`owner ${owner.email}`);
    const seeded = await asOperator(viewer, 'GET', `${base()}/audit?storefront=us-store&limit=200`);
    const rows = (await json<{ items: { actorType: string; actorName: string }[] }>(seeded)).items;
    const system = rows.find((r) => r.actorType === 'system');
    expect(system?.actorName).toBe('System (tests)');
    // The chain still verifies: the names are not part of the hashed rows.
    const verify = await asOperator(viewer, 'GET', `${base()}/audit/verify?storefront=us-store`);
    expect((await json<{ ok: boolean }>(verify)).ok).toBe(true);
  });
});
