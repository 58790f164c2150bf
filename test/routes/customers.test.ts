import { env } from 'cloudflare:test';
import {
  base64url,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SigningKey } from '../../src/security/customer-tokens';
import { customerTokenIssuer } from '../../src/services/customers/issuer';
import { activeSigningKey } from '../../src/services/customers/signing-keys';
import { createTenant, publish, type TestTenant, withDb } from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import { asOperator, createOperator, type TestOperator } from '../helpers/operators';

let t: TestTenant;
let other: TestTenant;
let admin: TestOperator;
let operator: TestOperator;

const host = (tenant: TestTenant, sf: string) => tenant.hosts[sf] ?? '';
const sid = (tenant: TestTenant, sf: string) => tenant.storefronts[sf] ?? '';
const secret = (tenant: TestTenant, sf: string) => tenant.keys[sf]?.secret ?? '';

interface Customer {
  id: string;
  storefrontId: string;
  email: string;
}

async function createCustomer(tenant: TestTenant, sf: string, email: string) {
  return call(host(tenant, sf), '/v1/customers', {
    method: 'POST',
    key: secret(tenant, sf),
    body: { email },
  });
}

async function customerOf(tenant: TestTenant, sf: string, email: string): Promise<Customer> {
  const res = await createCustomer(tenant, sf, email);
  expect([200, 201]).toContain(res.status);
  return (await json<{ customer: Customer }>(res)).customer;
}

async function issue(tenant: TestTenant, sf: string, customerId: string, key = secret(tenant, sf)) {
  return call(host(tenant, sf), `/v1/customers/${customerId}/tokens`, { method: 'POST', key });
}

async function tokenFor(tenant: TestTenant, sf: string, customerId: string): Promise<string> {
  const res = await issue(tenant, sf, customerId);
  expect(res.status).toBe(201);
  return (await json<{ token: string }>(res)).token;
}

function me(h: string, token: string) {
  return call(h, '/v1/me', { key: null, headers: { authorization: `Bearer ${token}` } });
}

/** Polls until `check` passes (the edge learns published config in about a second). */
async function until(check: () => Promise<boolean>, deadlineMs = 3000): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < deadlineMs) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not within ${deadlineMs} ms`);
}

/** A 401 problem with an RFC 6750 challenge that never echoes the token. */
async function expectInvalidToken(res: Response, token: string, description?: RegExp) {
  const challenge = res.headers.get('www-authenticate') ?? '';
  const body = await expectProblem(res, 401, 'unauthenticated');
  expect(challenge).toMatch(/^Bearer realm="azotte-customer", error="invalid_token"/);
  expect(challenge).toMatch(/error_description="[^"]+"/);
  if (description) expect(body.detail).toMatch(description);
  const everything = JSON.stringify(body) + challenge;
  for (const part of token.split('.')) if (part.length > 8) expect(everything).not.toContain(part);
  return body;
}

const b64json = (v: unknown) => base64url.encode(JSON.stringify(v));
const nowSec = () => Math.floor(Date.now() / 1000);

let tenantKey: SigningKey;
let alice: Customer;

function claimsFor(customer: Customer, overrides: JWTPayload = {}): JWTPayload {
  const iat = nowSec();
  return {
    iss: customerTokenIssuer(t.slug),
    aud: customer.storefrontId,
    sub: customer.id,
    tid: t.tenantId,
    iat,
    exp: iat + 600,
    ...overrides,
  };
}

/** Signs `payload` with the tenant's real private key (as an attacker who had it could). */
async function signedByTenant(payload: JWTPayload, header: Record<string, unknown> = {}) {
  const key = await importJWK(tenantKey.privateJwk, tenantKey.alg);
  return new SignJWT(payload)
    .setProtectedHeader({ alg: tenantKey.alg, kid: tenantKey.kid, typ: 'customer+jwt', ...header })
    .sign(key);
}

beforeAll(async () => {
  t = await createTenant();
  other = await createTenant();
  await publish();
  admin = await createOperator(t.tenantId, 'admin');
  operator = await createOperator(t.tenantId, 'operator');
  alice = await customerOf(t, 'us-store', `alice-${Date.now()}@example.test`);
  // The tenant's first token creates its first key and publishes it.
  const first = await tokenFor(t, 'us-store', alice.id);
  await until(async () => (await me(host(t, 'us-store'), first)).status === 200);
  const active = await withDb((db) => activeSigningKey(db, env, t.tenantId));
  expect(active.created).toBe(false);
  tenantKey = active.key;
});

describe('customers', () => {
  it('the same email in two storefronts is two customers; in one storefront it is one', async () => {
    const email = `Bob-${Date.now()}@Example.test`;
    const first = await createCustomer(t, 'us-store', email);
    expect(first.status).toBe(201);
    const us = await json<{ customer: Customer; created: boolean }>(first);
    expect(us).toMatchObject({ created: true, customer: { storefrontId: sid(t, 'us-store') } });
    expect(us.customer.id).toMatch(/^cus_[0-9A-Z]{26}$/);

    const again = await createCustomer(t, 'us-store', email.toLowerCase());
    expect(again.status).toBe(200);
    expect(await json(again)).toMatchObject({ created: false, customer: { id: us.customer.id } });

    const eu = await createCustomer(t, 'eu-store', email);
    expect(eu.status).toBe(201);
    const euBody = await json<{ customer: Customer }>(eu);
    expect(euBody.customer.id).not.toBe(us.customer.id);
    expect(euBody.customer.storefrontId).toBe(sid(t, 'eu-store'));
  });

  it('needs a secret key: a publishable key gets 403, no key 401, bad input 400', async () => {
    const h = host(t, 'us-store');
    const body = { email: `pk-${Date.now()}@example.test` };
    await expectProblem(
      await call(h, '/v1/customers', {
        method: 'POST',
        body,
        key: t.keys['us-store']?.publishable,
      }),
      403,
      'forbidden',
    );
    await expectProblem(
      await call(h, '/v1/customers', { method: 'POST', body, key: null }),
      401,
      'unauthenticated',
    );
    await expectProblem(
      await call(h, '/v1/customers', {
        method: 'POST',
        body: { email: 'not-an-email' },
        key: secret(t, 'us-store'),
      }),
      400,
      'validation_failed',
    );
  });

  it('supports Idempotency-Key per API key', async () => {
    const h = host(t, 'us-store');
    const key = `cus-${Date.now()}-abcdef`;
    const body = { email: `idem-${Date.now()}@example.test`, name: 'Idem' };
    const send = (b: unknown) =>
      call(h, '/v1/customers', {
        method: 'POST',
        body: b,
        key: secret(t, 'us-store'),
        headers: { 'idempotency-key': key },
      });
    const first = await send(body);
    expect(first.status).toBe(201);
    const replay = await send(body);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await json(replay)).toEqual(await json(first));
    await expectProblem(await send({ ...body, name: 'Other' }), 422, 'idempotency_key_reused');
  });
});

describe('customer tokens', () => {
  it('issues a token that /v1/me accepts on the same storefront', async () => {
    const res = await issue(t, 'us-store', alice.id);
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await json<{ token: string; expiresAt: string; tokenType: string }>(res);
    expect(body.tokenType).toBe('Bearer');
    const header = decodeProtectedHeader(body.token);
    expect(header).toMatchObject({ alg: 'ES256', kid: tenantKey.kid, typ: 'customer+jwt' });
    const claims = decodeJwt(body.token);
    expect(claims).toMatchObject({
      iss: `https://${t.slug}.azotte.dev`,
      aud: sid(t, 'us-store'),
      sub: alice.id,
      tid: t.tenantId,
    });
    expect(new Date(body.expiresAt).getTime()).toBe((claims.exp ?? 0) * 1000);

    const ok = await me(host(t, 'us-store'), body.token);
    expect(ok.status).toBe(200);
    expect(await json(ok)).toEqual({
      customerId: alice.id,
      storefrontId: sid(t, 'us-store'),
      tenantId: t.tenantId,
      mode: 'test',
      expiresAt: body.expiresAt,
    });
  });

  it('a secret key of storefront A cannot issue tokens for a customer of storefront B', async () => {
    const bob = await customerOf(t, 'eu-store', `cross-${Date.now()}@example.test`);
    await expectProblem(await issue(t, 'us-store', bob.id), 404, 'not_found');
    // nor for another tenant's customer, nor with B's key on A's host
    const carol = await customerOf(other, 'us-store', `carol-${Date.now()}@example.test`);
    await expectProblem(await issue(t, 'us-store', carol.id), 404, 'not_found');
    await expectProblem(
      await issue(t, 'us-store', bob.id, secret(t, 'eu-store')),
      401,
      'unauthenticated',
    );
    await expectProblem(
      await issue(t, 'us-store', alice.id, t.keys['us-store']?.publishable),
      403,
      'forbidden',
    );
  });

  it('/v1/me without a token is a 401 with a bare challenge', async () => {
    const res = await call(host(t, 'us-store'), '/v1/me', { key: null });
    await expectProblem(res, 401, 'unauthenticated');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="azotte-customer"');
  });
});

describe('rate limits behind a customer token', () => {
  const meFrom = (token: string, ip: string) =>
    call(host(t, 'us-store'), '/v1/me', {
      key: null,
      headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': ip },
    });

  it('each customer gets 300 requests a minute (plus the per-address limit), then a 429', async () => {
    const bob = await customerOf(t, 'us-store', `bob-${Date.now()}@example.test`);
    const carol = await customerOf(t, 'us-store', `carol-${Date.now()}@example.test`);
    const bobToken = await tokenFor(t, 'us-store', bob.id);
    const ip = '203.0.113.77';
    const first = await meFrom(bobToken, ip);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"customer";q=300;w=60, "ip";q=1200;w=60');
    expect(first.headers.get('ratelimit')).toMatch(/^"customer";r=299;t=\d+, "ip";r=\d+;t=\d+$/);
    // 298 more of the minute's units, spent straight at the customer's counter (300 requests
    // through the router take long on a shared test machine); the edge asks it for 300 a minute.
    const ns = env.RATE_LIMITER;
    const counter = ns.get(ns.idFromName(`cus:${t.tenantId}:${sid(t, 'us-store')}:${bob.id}`));
    for (let i = 0; i < 298; i++) expect((await counter.check(300, 60_000)).allowed).toBe(true);
    const last = await meFrom(bobToken, ip);
    expect(last.status).toBe(200);
    expect(last.headers.get('ratelimit')).toMatch(/^"customer";r=0;/);
    for (const address of [ip, '203.0.113.78']) {
      const refused = await meFrom(bobToken, address);
      const problem = await expectProblem(refused, 429, 'rate_limited');
      expect(problem.rateLimit).toEqual({ policy: 'customer', limit: 300, windowSeconds: 60 });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.headers.get('ratelimit-policy')).toMatch(/^"customer";q=300;w=60, "ip";/);
    }
    // Another customer, even from the same address, has a budget of its own.
    expect((await meFrom(await tokenFor(t, 'us-store', carol.id), ip)).status).toBe(200);
  });
});

describe('customer token attacks on /v1/me', () => {
  const h = () => host(t, 'us-store');

  it('alg none', async () => {
    const token = `${b64json({ alg: 'none', typ: 'customer+jwt', kid: tenantKey.kid })}.${b64json(
      claimsFor(alice),
    )}.`;
    await expectInvalidToken(await me(h(), token), token, /algorithm/);
    const noneUpper = `${b64json({ alg: 'NONE', kid: tenantKey.kid })}.${b64json(claimsFor(alice))}.`;
    await expectInvalidToken(await me(h(), noneUpper), noneUpper);
  });

  it('HS256 signed with the public key bytes (algorithm confusion)', async () => {
    const publicKey = await importJWK(tenantKey.publicJwk, tenantKey.alg);
    const pem = await exportSPKI(publicKey as CryptoKey);
    for (const secretBytes of [
      new TextEncoder().encode(pem),
      new TextEncoder().encode(JSON.stringify(tenantKey.publicJwk)),
    ]) {
      const token = await new SignJWT(claimsFor(alice))
        .setProtectedHeader({ alg: 'HS256', kid: tenantKey.kid, typ: 'customer+jwt' })
        .sign(secretBytes);
      await expectInvalidToken(await me(h(), token), token, /algorithm/);
    }
  });

  it('RS256 with a foreign key', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT(claimsFor(alice))
      .setProtectedHeader({ alg: 'RS256', kid: tenantKey.kid, typ: 'customer+jwt' })
      .sign(privateKey);
    await expectInvalidToken(await me(h(), token), token, /algorithm/);
  });

  it('a foreign key of an allowed algorithm under the tenant’s kid', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT(claimsFor(alice))
      .setProtectedHeader({ alg: 'ES256', kid: tenantKey.kid, typ: 'customer+jwt' })
      .sign(privateKey);
    await expectInvalidToken(await me(h(), token), token, /signature/);
  });

  it('expired', async () => {
    const iat = nowSec() - 7200;
    const token = await signedByTenant(claimsFor(alice, { iat, exp: iat + 3600 }));
    await expectInvalidToken(await me(h(), token), token, /expired/);
  });

  it('not yet valid (nbf in the future, or iat in the future)', async () => {
    const nbf = await signedByTenant(claimsFor(alice, { nbf: nowSec() + 3600 }));
    await expectInvalidToken(await me(h(), nbf), nbf, /not valid yet/);
    const iat = nowSec() + 3600;
    const future = await signedByTenant(claimsFor(alice, { iat, exp: iat + 600 }));
    await expectInvalidToken(await me(h(), future), future, /not valid yet/);
  });

  it('wrong audience: a token for storefront A used on storefront B', async () => {
    const token = await tokenFor(t, 'us-store', alice.id);
    await expectInvalidToken(await me(host(t, 'eu-store'), token), token, /another storefront/);
    // also through the tenant's shared host with a path prefix
    const viaPrefix = await call(t.sharedHost, '/eu/v1/me', {
      key: null,
      headers: { authorization: `Bearer ${token}` },
    });
    await expectInvalidToken(viaPrefix, token, /another storefront/);
    expect(
      (
        await call(t.sharedHost, '/us/v1/me', {
          key: null,
          headers: { authorization: `Bearer ${token}` },
        })
      ).status,
    ).toBe(200);
  });

  it('wrong issuer: another tenant’s token, or this tenant’s key with another issuer', async () => {
    const carol = await customerOf(other, 'us-store', `carol-${Date.now()}@example.test`);
    const foreign = await tokenFor(other, 'us-store', carol.id);
    await until(async () => (await me(host(other, 'us-store'), foreign)).status === 200);
    // Another tenant's keys are not in this tenant's JWKS.
    await expectInvalidToken(await me(h(), foreign), foreign, /key this storefront does not know/);

    const wrongIss = await signedByTenant(
      claimsFor(alice, { iss: customerTokenIssuer(other.slug) }),
    );
    await expectInvalidToken(await me(h(), wrongIss), wrongIss, /another tenant/);
    const wrongTid = await signedByTenant(claimsFor(alice, { tid: other.tenantId }));
    await expectInvalidToken(await me(h(), wrongTid), wrongTid, /another tenant/);
  });

  it('unknown kid, missing kid, and a key smuggled in the header', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const unknown = await new SignJWT(claimsFor(alice))
      .setProtectedHeader({ alg: 'ES256', kid: 'not-a-known-kid', typ: 'customer+jwt' })
      .sign(privateKey);
    await expectInvalidToken(await me(h(), unknown), unknown, /key this storefront does not know/);

    const noKid = await new SignJWT(claimsFor(alice))
      .setProtectedHeader({ alg: 'ES256', typ: 'customer+jwt' })
      .sign(privateKey);
    await expectInvalidToken(await me(h(), noKid), noKid);

    const embedded = await new SignJWT(claimsFor(alice))
      .setProtectedHeader({
        alg: 'ES256',
        typ: 'customer+jwt',
        kid: 'attacker',
        jwk: await exportJWK(publicKey),
      })
      .sign(privateKey);
    await expectInvalidToken(await me(h(), embedded), embedded);
  });

  it('tampered payload', async () => {
    const token = await tokenFor(t, 'us-store', alice.id);
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload ?? '')));
    const tampered = `${header}.${b64json({ ...claims, sub: 'cus_01J0000000000000000000000A' })}.${signature}`;
    await expectInvalidToken(await me(h(), tampered), tampered, /signature/);
    const longer = `${header}.${b64json({ ...claims, exp: claims.exp + 86_400 })}.${signature}`;
    await expectInvalidToken(await me(h(), longer), longer, /signature/);
  });

  it('garbage, an API key, or another scheme', async () => {
    for (const token of ['abc', 'a.b', `${secret(t, 'us-store')}`]) {
      await expectInvalidToken(await me(h(), token), token, /malformed/);
    }
    const basic = await call(h(), '/v1/me', {
      key: null,
      headers: { authorization: 'Basic eDp5' },
    });
    await expectProblem(basic, 401, 'unauthenticated');
    expect(basic.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

describe('JWKS and rotation', () => {
  it('publishes public keys only, cacheable, without an API key', async () => {
    const res = await call(host(t, 'us-store'), '/v1/.well-known/jwks.json', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    const body = await json<{ keys: Record<string, unknown>[] }>(res);
    expect(body.keys.map((k) => k.kid)).toEqual([tenantKey.kid]);
    for (const key of body.keys) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) {
        expect(key).not.toHaveProperty(member);
      }
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    }
    expect(JSON.stringify(body)).not.toContain(String(tenantKey.privateJwk.d));
    // Every storefront of the tenant serves the same set; another tenant serves its own.
    const eu = await json<{ keys: { kid: string }[] }>(
      await call(host(t, 'eu-store'), '/v1/.well-known/jwks.json', { key: null }),
    );
    expect(eu.keys.map((k) => k.kid)).toEqual([tenantKey.kid]);
    const theirs = await json<{ keys: { kid: string }[] }>(
      await call(host(other, 'us-store'), '/v1/.well-known/jwks.json', { key: null }),
    );
    expect(theirs.keys.map((k) => k.kid)).not.toContain(tenantKey.kid);
  });

  it('rotation: old tokens stay valid during the overlap, new tokens use the new kid', async () => {
    const path = `/admin/v1/tenants/${t.slug}/signing-keys/rotate`;
    await expectProblem(await asOperator(admin, 'POST', path, {}), 400, 'validation_failed');
    await expectProblem(
      await asOperator(operator, 'POST', path, { reason: 'quarterly rotation' }),
      403,
      'forbidden',
    );
    await expectProblem(
      await asOperator(admin, 'POST', `/admin/v1/tenants/${other.slug}/signing-keys/rotate`, {
        reason: 'not mine',
      }),
      404,
      'not_found',
    );

    const before = await tokenFor(t, 'us-store', alice.id);
    expect(decodeProtectedHeader(before).kid).toBe(tenantKey.kid);

    const res = await asOperator(admin, 'POST', path, { reason: 'quarterly rotation' });
    expect(res.status).toBe(201);
    const rotated = await json<{
      signingKey: { kid: string; alg: string; retiredAt: string | null };
      retired: { kid: string; retiredAt: string; publishedUntil: string }[];
      published: boolean;
    }>(res);
    expect(JSON.stringify(rotated)).not.toMatch(/"d"|privateJwk|private_jwk/);
    expect(rotated.signingKey).toMatchObject({ alg: 'ES256', retiredAt: null });
    expect(rotated.signingKey.kid).not.toBe(tenantKey.kid);
    expect(rotated.retired.map((k) => k.kid)).toEqual([tenantKey.kid]);
    const overlapMs =
      Date.parse(rotated.retired[0]?.publishedUntil ?? '') -
      Date.parse(rotated.retired[0]?.retiredAt ?? '');
    expect(overlapMs).toBeGreaterThan(24 * 3600 * 1000); // longer than any token lives

    const jwks = async () =>
      (
        await json<{ keys: { kid: string }[] }>(
          await call(host(t, 'us-store'), '/v1/.well-known/jwks.json', { key: null }),
        )
      ).keys.map((k) => k.kid);
    await until(async () => (await jwks()).length === 2);
    expect((await jwks()).sort()).toEqual([tenantKey.kid, rotated.signingKey.kid].sort());

    expect((await me(host(t, 'us-store'), before)).status).toBe(200);
    const after = await tokenFor(t, 'us-store', alice.id);
    expect(decodeProtectedHeader(after).kid).toBe(rotated.signingKey.kid);
    expect((await me(host(t, 'us-store'), after)).status).toBe(200);

    const list = await json<{ items: { kid: string; retiredAt: string | null }[] }>(
      await asOperator(admin, 'GET', `/admin/v1/tenants/${t.slug}/signing-keys`),
    );
    expect(list.items.map((k) => [k.kid, k.retiredAt === null])).toEqual([
      [rotated.signingKey.kid, true],
      [tenantKey.kid, false],
    ]);

    const trail = await json<{ items: { action: string; reason: string | null }[] }>(
      await asOperator(admin, 'GET', `/admin/v1/tenants/${t.slug}/audit`),
    );
    expect(trail.items.map((r) => r.action)).toEqual(
      expect.arrayContaining(['signing_key.create', 'signing_key.rotate']),
    );
    const verify = await json<{ ok: boolean }>(
      await asOperator(admin, 'GET', `/admin/v1/tenants/${t.slug}/audit/verify`),
    );
    expect(verify.ok).toBe(true);
  });
});
