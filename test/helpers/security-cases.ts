/**
 * The standard security cases, generated for every route: no credential, bad credential,
 * expired credential, wrong storefront, wrong tenant and wrong role. test/routes/security.test.ts
 * runs them for every operation of the OpenAPI document, by the security scheme it declares.
 */
import { env } from 'cloudflare:test';
import { expect, it } from 'vitest';
import { consoleKeys } from '../../src/security/console-keys';
import { signCustomerToken } from '../../src/security/customer-tokens';
import { newSessionId, signSessionToken } from '../../src/security/sessions';
import { createApiKey } from '../../src/services/admin/api-keys';
import { customerTokenIssuer } from '../../src/services/customers/issuer';
import { activeSigningKey } from '../../src/services/customers/signing-keys';
import { createTenant, publish, type TestTenant, withDb } from './factories';
import { call, expectProblem, json } from './http';
import { createOperator, type TestOperator } from './operators';

export interface SecurityFixture {
  t: TestTenant;
  other: TestTenant;
  /** A publishable key of t/us-store that expired a minute ago. */
  expiredKey: string;
  /** A publishable key of t/us-store allowed only on the ott channel. */
  ottOnlyKey: string;
  owner: TestOperator;
  viewer: TestOperator;
  /** An admin of t limited to eu-store. */
  euOnlyAdmin: TestOperator;
  /** The owner of the other tenant. */
  foreignOwner: TestOperator;
  /** A correctly signed session token of `owner` that expired an hour ago. */
  expiredSession: string;
  /** A customer of t/us-store and a valid token of theirs. */
  customer: { id: string; token: string };
  /** A correctly signed token of that customer that expired an hour ago. */
  expiredCustomerToken: string;
  /** A valid token of a customer of t/eu-store (another storefront). */
  euCustomerToken: string;
  /** A valid token of a customer of the other tenant's us-store. */
  foreignCustomerToken: string;
}

/** A customer of `tenant`'s storefront `sf` (created through the API) and a token of theirs. */
async function customerWithToken(tenant: TestTenant, sf: string) {
  const host = tenant.hosts[sf] ?? '';
  const key = tenant.keys[sf]?.secret ?? '';
  const created = await call(host, '/v1/customers', {
    method: 'POST',
    key,
    body: { email: `sec-${sf}-${Date.now()}@example.test` },
  });
  const { customer } = (await created.json()) as { customer: { id: string } };
  const issued = await call(host, `/v1/customers/${customer.id}/tokens`, { method: 'POST', key });
  if (issued.status !== 201) throw new Error(`token issue failed: ${issued.status}`);
  const { token } = (await issued.json()) as { token: string };
  return { id: customer.id, token };
}

export async function securityFixture(): Promise<SecurityFixture> {
  const t = await createTenant();
  const other = await createTenant();
  const sf = t.storefronts['us-store'] ?? '';
  const ctx = {
    tenantId: t.tenantId,
    storefrontId: sf,
    actor: { type: 'system' as const, id: 'tests' },
    requestId: null,
    reason: null,
  };
  const { expiredKey, ottOnlyKey } = await withDb(async (db) => ({
    expiredKey: (
      await createApiKey(db, ctx, {
        kind: 'publishable',
        name: 'expired',
        channels: [],
        expiresAt: new Date(Date.now() - 60_000),
        rateLimit: null,
      })
    ).secret,
    ottOnlyKey: (
      await createApiKey(db, ctx, {
        kind: 'publishable',
        name: 'ott only',
        channels: ['ott'],
        expiresAt: null,
        rateLimit: null,
      })
    ).secret,
  }));
  await publish();
  const owner = await createOperator(t.tenantId, 'owner');
  const expiredSession = await signSessionToken(await consoleKeys(env), {
    sessionId: newSessionId(),
    operatorId: owner.id,
    now: Date.now() - 2 * 60 * 60 * 1000,
  });
  const customer = await customerWithToken(t, 'us-store');
  const euCustomer = await customerWithToken(t, 'eu-store');
  const foreignCustomer = await customerWithToken(other, 'us-store');
  const signing = await withDb((db) => activeSigningKey(db, env, t.tenantId));
  const expiredCustomerToken = await signCustomerToken(signing.key, {
    issuer: customerTokenIssuer(t.slug),
    audience: sf,
    subject: customer.id,
    tenantId: t.tenantId,
    ttlSeconds: 60,
    now: Date.now() - 60 * 60 * 1000,
  });
  await publish();
  return {
    t,
    other,
    customer,
    expiredCustomerToken,
    euCustomerToken: euCustomer.token,
    foreignCustomerToken: foreignCustomer.token,
    expiredKey,
    ottOnlyKey,
    owner,
    viewer: await createOperator(t.tenantId, 'viewer'),
    euOnlyAdmin: await createOperator(t.tenantId, 'admin', {
      storefrontIds: [t.storefronts['eu-store'] ?? ''],
    }),
    foreignOwner: await createOperator(other.tenantId, 'owner'),
    expiredSession,
  };
}

export interface StorefrontRoute {
  method: string;
  path: string;
  body?: unknown;
  /** The least key kind that may call it. */
  needs: 'publishable' | 'secret';
}

/** Cases for a storefront-API route called on t's us-store host. */
export function storefrontAuthCases(route: StorefrontRoute, f: () => SecurityFixture) {
  const send = (key: string | null, headers: Record<string, string> = {}) =>
    call(f().t.hosts['us-store'] ?? '', route.path, {
      method: route.method,
      body: route.body,
      key,
      headers,
    });
  it('no credential → 401 with WWW-Authenticate', async () => {
    const res = await send(null);
    await expectProblem(res, 401, 'unauthenticated');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
  it('bad credential (malformed, well-formed but unknown) → 401', async () => {
    await expectProblem(await send('pk_live_not-a-key'), 401, 'unauthenticated');
    const forged = `pk_live_${'A'.repeat(49)}`;
    await expectProblem(await send(forged), 401, 'unauthenticated');
  });
  it('expired key → 401', async () => {
    await expectProblem(await send(f().expiredKey), 401, 'unauthenticated');
  });
  it('another storefront’s key → 401, no data', async () => {
    const res = await send(f().t.keys['eu-store']?.secret ?? '');
    const body = await expectProblem(res, 401, 'unauthenticated');
    expect(JSON.stringify(body)).not.toMatch(/bundles|price/);
  });
  it('another tenant’s key → 401, no data', async () => {
    await expectProblem(
      await send(f().other.keys['us-store']?.secret ?? ''),
      401,
      'unauthenticated',
    );
  });
  it('wrong role: a key not allowed here → 403', async () => {
    if (route.needs === 'secret') {
      await expectProblem(await send(f().t.keys['us-store']?.publishable ?? ''), 403, 'forbidden');
    }
    // A key restricted to the ott channel, used from the web channel.
    await expectProblem(await send(f().ottOnlyKey), 403, 'forbidden');
  });
  it('a client header or user agent cannot widen a key’s channels → 403', async () => {
    // us-store is a web storefront: claiming to be a TV client must not unlock an ott-only key.
    await expectProblem(
      await send(f().ottOnlyKey, { 'x-client-channel': 'ott' }),
      403,
      'forbidden',
    );
    await expectProblem(
      await send(f().ottOnlyKey, { 'user-agent': 'Roku/DVP-12.0 (12.0.0.4182-88)' }),
      403,
      'forbidden',
    );
  });
}

export interface CustomerRoute {
  method: string;
  /** The path for the fixture's customer id. */
  path: (customerId: string) => string;
  body?: unknown;
}

/** Cases for a route authenticated by a customer token, called on t's us-store host. */
export function customerAuthCases(route: CustomerRoute, f: () => SecurityFixture) {
  const send = (token: string | null) =>
    call(f().t.hosts['us-store'] ?? '', route.path(f().customer.id), {
      method: route.method,
      body: route.body,
      key: null,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    });
  const invalid = async (res: Response) => {
    await expectProblem(res, 401, 'unauthenticated');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
  };
  it('no credential → 401 with WWW-Authenticate', async () => {
    const res = await send(null);
    await expectProblem(res, 401, 'unauthenticated');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
  it('bad credential (malformed, forged signature, an API key) → 401', async () => {
    await invalid(await send('not.a.token'));
    const [h, p] = f().customer.token.split('.');
    await invalid(await send(`${h}.${p}.${'A'.repeat(86)}`));
    await invalid(await send(f().t.keys['us-store']?.secret ?? ''));
  });
  it('expired token → 401', async () => {
    await invalid(await send(f().expiredCustomerToken));
  });
  it('another storefront’s customer token → 401, no data', async () => {
    const res = await send(f().euCustomerToken);
    await invalid(res);
  });
  it('another tenant’s customer token → 401', async () => {
    await invalid(await send(f().foreignCustomerToken));
  });
  it('the right token → not an auth failure', async () => {
    const res = await send(f().customer.token);
    expect(res.status).not.toBe(401);
    expect(res.status).not.toBe(403);
  });
}

/**
 * Cases for a route that takes an entitlements token (`GET /v1/entitlements/check`): nothing
 * else is accepted in its place — no API key, no customer token, nothing forged.
 */
export function entitlementsTokenCases(
  route: { method: string; path: string },
  f: () => SecurityFixture,
) {
  const host = () => f().t.hosts['us-store'] ?? '';
  const send = (token: string | null) =>
    call(host(), route.path, {
      method: route.method,
      key: null,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    });
  const entitlementsToken = async () => {
    const res = await call(host(), '/v1/entitlements', { key: f().customer.token });
    expect(res.status).toBe(200);
    return (await json<{ token: string }>(res)).token;
  };
  it('no credential → 401 with WWW-Authenticate', async () => {
    const res = await send(null);
    await expectProblem(res, 401, 'unauthenticated');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
  it('bad credential (malformed, forged, an API key, a customer token) → 401', async () => {
    for (const bad of [
      'not.a.token',
      `${(await entitlementsToken()).split('.').slice(0, 2).join('.')}.${'A'.repeat(86)}`,
      f().t.keys['us-store']?.secret ?? '',
      f().t.keys['us-store']?.publishable ?? '',
      f().customer.token,
      f().foreignCustomerToken,
    ]) {
      await expectProblem(await send(bad), 401, 'unauthenticated');
    }
  });
  it('the right token → not an auth failure', async () => {
    const res = await send(await entitlementsToken());
    expect(res.status).not.toBe(401);
    expect(res.status).not.toBe(403);
  });
}

export interface InternalRoute {
  method: string;
  path: string;
}

/** Cases for an operations route behind the deployment's PUBLISH_TOKEN. */
export function internalAuthCases(route: InternalRoute) {
  const send = (headers: Record<string, string>) =>
    call('internal.test', route.path, { method: route.method, headers, key: null });
  it('no credential → 401', async () => {
    await expectProblem(await send({}), 401, 'unauthenticated');
  });
  it('bad credential → 401', async () => {
    await expectProblem(await send({ authorization: 'Bearer wrong' }), 401, 'unauthenticated');
    await expectProblem(
      await send({ authorization: 'Bearer test-publish-tokenX' }),
      401,
      'unauthenticated',
    );
  });
}

export interface AdminRoute {
  method: string;
  /** The path for a tenant slug (and eu-store / us-store where a storefront is named). */
  path: (tenant: string) => string;
  body?: unknown;
  write: boolean;
  /** The route acts on one storefront (us-store), so a storefront-scoped grant matters. */
  storefrontScoped?: boolean;
  /** False for routes about the operator themselves (no tenant in the path). */
  tenantScoped?: boolean;
  /** Any signed-in operator may call it, whatever their role (signing out). */
  anyRole?: boolean;
  /** A read that only a writing role may make (it shows a secret): a viewer gets 403. */
  writerOnly?: boolean;
}

/** Cases for an admin-API route on tenant t. */
export function adminAuthCases(route: AdminRoute, f: () => SecurityFixture) {
  const send = (headers: Record<string, string>, tenant = f().t.slug) =>
    call('admin.test', route.path(tenant), { method: route.method, body: route.body, headers });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  it('no credential → 401', async () => {
    await expectProblem(await send({}), 401, 'unauthenticated');
  });
  it('bad credential → 401', async () => {
    await expectProblem(await send(bearer('not.a.token')), 401, 'unauthenticated');
    const [h, p] = f().owner.token.split('.');
    await expectProblem(await send(bearer(`${h}.${p}.${'A'.repeat(43)}`)), 401, 'unauthenticated');
  });
  it('expired session → 401', async () => {
    await expectProblem(await send(bearer(f().expiredSession)), 401, 'unauthenticated');
  });
  if (route.tenantScoped !== false) {
    it('wrong tenant → 404, as if it did not exist', async () => {
      await expectProblem(await send(bearer(f().foreignOwner.token)), 404, 'not_found');
    });
  }
  if ((route.write || route.writerOnly) && !route.anyRole) {
    it('wrong role (viewer) → 403', async () => {
      await expectProblem(await send(bearer(f().viewer.token)), 403, 'forbidden');
    });
  }
  if (route.write) {
    it('cookie session without X-CSRF-Token → 403', async () => {
      await expectProblem(await send({ cookie: f().owner.cookie }), 403, 'forbidden');
    });
  }
  if (route.storefrontScoped) {
    it('wrong storefront (grant limited to eu-store) → 403', async () => {
      await expectProblem(await send(bearer(f().euOnlyAdmin.token)), 403, 'forbidden');
    });
  }
}

export { publish };
