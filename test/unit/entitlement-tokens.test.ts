/**
 * Entitlement tokens as pure logic: signing and verification (`typ` keeps them apart from
 * customer tokens both ways), the token path's decision, what a token lists, which changes
 * revoke earlier tokens (property-tested), and the revocation list's check.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRevoked } from '../../src/edge/revocations';
import type { ResolvedEntitlement, SourceState } from '../../src/entitlements/fold';
import { checkToken } from '../../src/entitlements/token-check';
import {
  changedEntitlements,
  type TokenEntitlement,
  tokenEntitlements,
  weakened,
} from '../../src/entitlements/token-view';
import {
  buildJwks,
  generateSigningKey,
  signCustomerToken,
  verifyCustomerToken,
} from '../../src/security/customer-tokens';
import {
  ENTITLEMENTS_TOKEN_TTL_SECONDS,
  signEntitlementsToken,
  verifyEntitlementsToken,
} from '../../src/security/entitlement-tokens';

const NOW = Date.UTC(2027, 0, 10, 12);
const nowS = NOW / 1000;

const dash: TokenEntitlement = {
  key: 'dash',
  type: 'feature',
  billingIssue: false,
  validUntil: null,
  enabled: true,
};
const calls: TokenEntitlement = {
  key: 'calls',
  type: 'quota',
  billingIssue: false,
  validUntil: null,
  quota: { limit: 100, resetsAt: nowS + 86_400 },
};

async function pair() {
  const key = await generateSigningKey('ES256', NOW);
  return { key, jwks: buildJwks([key], { now: NOW }) };
}

const input = {
  issuer: 'https://acme.azotte.dev',
  storefrontId: 'sf_1',
  customerId: 'cus_1',
  tenantId: 'ten_1',
  mode: 'test' as const,
  version: 3,
  entitlements: [calls, dash],
  now: NOW,
};
const verifyOpts = (jwks: ReturnType<typeof buildJwks>) => ({
  jwks,
  issuer: input.issuer,
  audience: input.storefrontId,
  now: NOW + 1_000,
});

describe('signing and verifying', () => {
  it('round-trips the claims, lives 5 minutes', async () => {
    const { key, jwks } = await pair();
    const token = await signEntitlementsToken(key, input);
    const v = await verifyEntitlementsToken(token, verifyOpts(jwks));
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.claims).toMatchObject({ sub: 'cus_1', tid: 'ten_1', ver: 3, mode: 'test' });
    expect(v.claims.entitlements).toEqual([calls, dash]);
    expect(v.claims.exp - v.claims.iat).toBe(ENTITLEMENTS_TOKEN_TTL_SECONDS);
    const late = await verifyEntitlementsToken(token, {
      ...verifyOpts(jwks),
      now: NOW + (ENTITLEMENTS_TOKEN_TTL_SECONDS + 1) * 1000,
    });
    expect(late).toEqual({ ok: false, reason: 'expired' });
  });

  it('a customer token is not an entitlements token, nor the reverse', async () => {
    const { key, jwks } = await pair();
    const customer = await signCustomerToken(key, {
      issuer: input.issuer,
      audience: input.storefrontId,
      subject: 'cus_1',
      tenantId: 'ten_1',
      ttlSeconds: 300,
      now: NOW,
    });
    expect((await verifyEntitlementsToken(customer, verifyOpts(jwks))).ok).toBe(false);
    const ent = await signEntitlementsToken(key, input);
    expect((await verifyCustomerToken(ent, verifyOpts(jwks))).ok).toBe(false);
  });

  it('another key, storefront or issuer fails', async () => {
    const { key, jwks } = await pair();
    const other = await pair();
    const token = await signEntitlementsToken(key, input);
    expect((await verifyEntitlementsToken(token, verifyOpts(other.jwks))).ok).toBe(false);
    const wrongAud = await verifyEntitlementsToken(token, {
      ...verifyOpts(jwks),
      audience: 'sf_2',
    });
    expect(wrongAud).toEqual({ ok: false, reason: 'wrong_audience' });
    const wrongIss = await verifyEntitlementsToken(token, {
      ...verifyOpts(jwks),
      issuer: 'https://other.azotte.dev',
    });
    expect(wrongIss).toEqual({ ok: false, reason: 'wrong_issuer' });
  });
});

describe('what the verifier never trusts', () => {
  const b64 = (o: unknown) =>
    btoa(JSON.stringify(o)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  it('alg none, HS256 keyed with the public key, and another typ are refused', async () => {
    const { key, jwks } = await pair();
    const good = await signEntitlementsToken(key, input);
    const [, payload] = good.split('.');
    const none = `${b64({ alg: 'none', typ: 'entitlements+jwt', kid: key.kid })}.${payload}.`;
    expect((await verifyEntitlementsToken(none, verifyOpts(jwks))).ok).toBe(false);
    const hsKey = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(JSON.stringify(key.publicJwk)),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    const head = b64({ alg: 'HS256', typ: 'entitlements+jwt', kid: key.kid });
    const mac = new Uint8Array(
      await crypto.subtle.sign('HMAC', hsKey, new TextEncoder().encode(`${head}.${payload}`)),
    );
    const hs = `${head}.${payload}.${btoa(String.fromCharCode(...mac))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '')}`;
    expect(await verifyEntitlementsToken(hs, verifyOpts(jwks))).toEqual({
      ok: false,
      reason: 'alg_not_allowed',
    });
  });
});

describe('the token path', () => {
  const claims = {
    iss: input.issuer,
    sub: 'cus_1',
    aud: 'sf_1',
    tid: 'ten_1',
    iat: nowS,
    exp: nowS + 300,
    ver: 3,
    entitlements: [
      calls,
      dash,
      { ...dash, key: 'off', enabled: false },
      { ...dash, key: 'ending', validUntil: nowS + 60 },
      { ...dash, key: 'late', billingIssue: true },
      {
        key: 'seats',
        type: 'slots' as const,
        billingIssue: false,
        validUntil: null,
        slots: { count: 0 },
      },
    ],
  };
  it.each([
    ['dash', true, 'active'],
    ['calls', true, 'active'],
    ['off', false, 'disabled'],
    ['late', true, 'active_billing_issue'],
    ['seats', false, 'none'],
    ['absent', false, 'not_granted'],
  ])('%s → allowed %s (%s)', (key, allowed, reason) => {
    expect(checkToken(claims, key, nowS)).toMatchObject({ allowed, reason, source: 'token' });
  });
  it('an access that ran out is expired, even inside the token’s life', () => {
    expect(checkToken(claims, 'ending', nowS + 59).allowed).toBe(true);
    expect(checkToken(claims, 'ending', nowS + 60)).toMatchObject({
      allowed: false,
      reason: 'expired',
    });
  });
});

describe('what a token lists', () => {
  const source = (over: Partial<SourceState>): SourceState => ({
    subscriptionId: 'sub_a',
    status: 'active',
    billingIssue: false,
    cancelAtPeriodEnd: false,
    periodStart: nowS - 10,
    periodEnd: nowS + 1_000,
    graceEndsAt: null,
    clockNow: null,
    grants: [],
    ...over,
  });
  const resolved = (src: string[]): ResolvedEntitlement => ({
    key: 'dash',
    type: 'feature',
    active: true,
    billingIssue: false,
    source: src,
    enabled: true,
  });
  it('validUntil: null while one source renews, else the latest end', () => {
    const ending = source({ subscriptionId: 'sub_a', cancelAtPeriodEnd: true });
    const dunning = source({
      subscriptionId: 'sub_b',
      status: 'past_due',
      graceEndsAt: nowS + 500,
    });
    const renewing = source({ subscriptionId: 'sub_c' });
    const one = (src: string[], all: SourceState[]) =>
      tokenEntitlements([resolved(src)], all, NOW)[0];
    expect(one(['sub_a'], [ending])?.validUntil).toBe(nowS + 1_000);
    expect(one(['sub_b'], [dunning])?.validUntil).toBe(nowS + 500);
    expect(one(['sub_a', 'sub_b'], [ending, dunning])?.validUntil).toBe(nowS + 1_000);
    expect(one(['sub_a', 'sub_c'], [ending, renewing])?.validUntil).toBeNull();
    // A test clock's time is not the wall clock's: its end is left out.
    expect(one(['sub_a'], [{ ...ending, clockNow: nowS }])?.validUntil).toBeNull();
  });
  it('lists only active entitlements', () => {
    expect(tokenEntitlements([{ ...resolved(['sub_a']), active: false }], [], NOW)).toEqual([]);
  });
});

const entArb: fc.Arbitrary<TokenEntitlement> = fc.oneof(
  fc.record({
    key: fc.constantFrom('a', 'b', 'c'),
    type: fc.constant('feature' as const),
    billingIssue: fc.boolean(),
    validUntil: fc.option(fc.integer({ min: 1, max: 10 }), { nil: null }),
    enabled: fc.boolean(),
  }),
  fc.record({
    key: fc.constantFrom('q', 'r'),
    type: fc.constant('quota' as const),
    billingIssue: fc.boolean(),
    validUntil: fc.option(fc.integer({ min: 1, max: 10 }), { nil: null }),
    quota: fc.record({
      limit: fc.integer({ min: 1, max: 5 }),
      resetsAt: fc.integer({ min: 1, max: 9 }),
    }),
  }),
);
const setArb = fc
  .uniqueArray(entArb, { selector: (e) => e.key, maxLength: 5 })
  .map((xs) => xs.sort((a, b) => (a.key < b.key ? -1 : 1)));

describe('which changes revoke earlier tokens', () => {
  it('no change revokes nothing and is no change', () => {
    fc.assert(
      fc.property(setArb, (xs) => {
        expect(weakened(xs, xs)).toBe(false);
        expect(changedEntitlements(xs, xs).changed).toBe(false);
      }),
    );
  });
  it('gaining a key, a larger quota or a later reset never revokes', () => {
    fc.assert(
      fc.property(setArb, entArb, (xs, extra) => {
        const more = xs.some((x) => x.key === extra.key) ? xs : [...xs, extra];
        expect(weakened(xs, more)).toBe(false);
        const grown = xs.map((x) =>
          x.quota
            ? { ...x, quota: { limit: x.quota.limit + 1, resetsAt: x.quota.resetsAt + 1 } }
            : x,
        );
        expect(weakened(xs, grown)).toBe(false);
      }),
    );
  });
  it('losing any key, or any billing issue, smaller quota or sooner end, revokes', () => {
    fc.assert(
      fc.property(
        setArb.filter((xs) => xs.length > 0),
        fc.nat(),
        (xs, i) => {
          const at = i % xs.length;
          const lost = xs.filter((_, j) => j !== at);
          expect(weakened(xs, lost)).toBe(true);
          expect(changedEntitlements(xs, lost).removed).toEqual([xs[at]?.key]);
          const x = xs[at] as TokenEntitlement;
          if (!x.billingIssue) {
            expect(
              weakened(
                xs,
                xs.map((y, j) => (j === at ? { ...y, billingIssue: true } : y)),
              ),
            ).toBe(true);
          }
          if (x.quota && x.quota.limit > 1) {
            const less = { ...x, quota: { ...x.quota, limit: x.quota.limit - 1 } };
            expect(
              weakened(
                xs,
                xs.map((y, j) => (j === at ? less : y)),
              ),
            ).toBe(true);
          }
          const sooner = { ...x, validUntil: x.validUntil === null ? 5 : x.validUntil - 1 };
          expect(
            weakened(
              xs,
              xs.map((y, j) => (j === at ? sooner : y)),
            ),
          ).toBe(true);
        },
      ),
    );
  });
});

describe('the revocation list', () => {
  const list = { rev: 2, cutoff: 1_000, minVersion: new Map([['sf_1:test:cus_1', 4]]) };
  const who = { storefrontId: 'sf_1', mode: 'test', customerId: 'cus_1' };
  it('refuses versions below the minimum, and anything issued before the cutoff', () => {
    expect(isRevoked(list, who, { ver: 3, iat: 2_000 })).toBe(true);
    expect(isRevoked(list, who, { ver: 4, iat: 2_000 })).toBe(false);
    expect(isRevoked(list, { ...who, mode: 'live' }, { ver: 1, iat: 2_000 })).toBe(false);
    expect(isRevoked(list, { ...who, customerId: 'cus_2' }, { ver: 1, iat: 999 })).toBe(true);
  });
});
