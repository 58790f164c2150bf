import fc from 'fast-check';
import {
  base64url,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildJwks,
  currentSigningKey,
  generateSigningKey,
  type SigningKey,
  signCustomerToken,
  verifyCustomerToken,
} from '../../src/security/customer-tokens';

const NOW = Date.UTC(2026, 4, 1, 12, 0, 0);
const ISSUER = 'https://auth.azotte.test/ten_1';
const STOREFRONT = 'sf_main';
const claims = {
  issuer: ISSUER,
  audience: STOREFRONT,
  subject: 'cus_123',
  tenantId: 'ten_1',
  ttlSeconds: 900,
  now: NOW,
};

function encodeJson(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

/** A compact JWS with any header and payload, signed by `sign` over the usual signing input. */
async function handmade(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  sign: (input: Uint8Array) => Promise<Uint8Array> = async () => new Uint8Array(),
): Promise<string> {
  const input = `${encodeJson(header)}.${encodeJson(payload)}`;
  return `${input}.${base64url.encode(await sign(new TextEncoder().encode(input)))}`;
}

function validPayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(NOW / 1000);
  return {
    iss: ISSUER,
    aud: STOREFRONT,
    sub: 'cus_123',
    tid: 'ten_1',
    iat,
    exp: iat + 900,
    ...overrides,
  };
}

let ed: SigningKey;
let es: SigningKey;

beforeAll(async () => {
  ed = await generateSigningKey('EdDSA', NOW);
  es = await generateSigningKey('ES256', NOW);
});

function jwks() {
  return buildJwks([ed, es], { now: NOW });
}

function verify(
  token: unknown,
  overrides: Partial<Parameters<typeof verifyCustomerToken>[1]> = {},
) {
  return verifyCustomerToken(token, {
    jwks: jwks(),
    issuer: ISSUER,
    audience: STOREFRONT,
    now: NOW,
    ...overrides,
  });
}

/** Signs `payload` with the real private key of `key` and any header. */
async function signedWith(
  key: SigningKey,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const privateKey = await importJWK(key.privateJwk, key.alg);
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'customer+jwt', ...header } as {
      alg: string;
    })
    .sign(privateKey);
}

describe('generateSigningKey / buildJwks', () => {
  it.each(['EdDSA', 'ES256'] as const)(
    '%s: kid is the thumbprint, the JWKS is public only',
    async (alg) => {
      const key = await generateSigningKey(alg, NOW);
      expect(key.alg).toBe(alg);
      expect(key.createdAt).toBe(NOW);
      expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(key.privateJwk.d).toBeTypeOf('string');
      expect(key.publicJwk).not.toHaveProperty('d');
      expect(key.publicJwk).toMatchObject({ kid: key.kid, alg, use: 'sig' });
      const set = buildJwks([key], { now: NOW });
      expect(set.keys).toHaveLength(1);
      expect(set.keys[0]).not.toHaveProperty('d');
      expect(JSON.stringify(set)).not.toContain(key.privateJwk.d);
    },
  );

  it('strips private members even when handed a private JWK as the public one', () => {
    const leaky = { ...ed, publicJwk: ed.privateJwk };
    const set = buildJwks([leaky], { now: NOW });
    expect(set.keys[0]).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: ed.publicJwk.x,
      kid: ed.kid,
      alg: 'EdDSA',
      use: 'sig',
    });
  });

  it('keeps a retired key published for the overlap, then drops it', async () => {
    const retired = { ...ed, retiredAt: NOW };
    const during = buildJwks([retired, es], { now: NOW + 3_599_000, overlapSeconds: 3600 });
    expect(during.keys.map((k) => k.kid)).toEqual([ed.kid, es.kid]);
    const after = buildJwks([retired, es], { now: NOW + 3_600_000, overlapSeconds: 3600 });
    expect(after.keys.map((k) => k.kid)).toEqual([es.kid]);

    const token = await signCustomerToken(ed, claims);
    const later = NOW + 600_000;
    expect((await verify(token, { jwks: during, now: later })).ok).toBe(true);
    expect(await verify(token, { jwks: after, now: later })).toEqual({
      ok: false,
      reason: 'unknown_kid',
    });
  });

  it('currentSigningKey prefers the newest key that has been published long enough', () => {
    const a = { createdAt: NOW - 86_400_000, retiredAt: null, name: 'a' };
    const b = { createdAt: NOW - 60_000, retiredAt: null, name: 'b' };
    const c = { createdAt: NOW - 3_600_000, retiredAt: NOW - 1, name: 'c' };
    expect(currentSigningKey([a, b, c], { now: NOW, publishLeadSeconds: 600 })?.name).toBe('a');
    expect(
      currentSigningKey([a, b, c], { now: NOW + 600_000, publishLeadSeconds: 600 })?.name,
    ).toBe('b');
    expect(currentSigningKey([b], { now: NOW, publishLeadSeconds: 600 })?.name).toBe('b');
    expect(currentSigningKey([c], { now: NOW })).toBeNull();
  });
});

describe('signCustomerToken / verifyCustomerToken: happy path', () => {
  it.each(['ed', 'es'] as const)('%s key: round-trips the claims', async (which) => {
    const key = which === 'ed' ? ed : es;
    const token = await signCustomerToken(key, claims);
    const result = await verify(token);
    expect(result).toEqual({
      ok: true,
      claims: {
        iss: ISSUER,
        aud: STOREFRONT,
        sub: 'cus_123',
        tid: 'ten_1',
        iat: NOW / 1000,
        exp: NOW / 1000 + 900,
        jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      },
    });
  });

  it('accepts one of several audiences', async () => {
    const token = await signCustomerToken(es, claims);
    expect((await verify(token, { audience: ['sf_other', STOREFRONT] })).ok).toBe(true);
  });

  it('refuses bad input to the signer without echoing key material', async () => {
    await expect(signCustomerToken(ed, { ...claims, ttlSeconds: 0 })).rejects.toThrow(RangeError);
    await expect(signCustomerToken(ed, { ...claims, ttlSeconds: 1.5 })).rejects.toThrow(RangeError);
    await expect(signCustomerToken(ed, { ...claims, ttlSeconds: 86_401 })).rejects.toThrow(
      RangeError,
    );
    await expect(signCustomerToken(ed, { ...claims, subject: '' })).rejects.toThrow(TypeError);
    const broken = { ...ed, privateJwk: { ...ed.privateJwk, d: 'AAAA' } };
    const err = await signCustomerToken(broken, claims).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String(err)).not.toContain(String(ed.privateJwk.x));
    // A public key cannot sign.
    await expect(signCustomerToken({ ...ed, privateJwk: ed.publicJwk }, claims)).rejects.toThrow(
      'privateJwk is not a private key for alg',
    );
    // An ES256 key presented as EdDSA.
    await expect(signCustomerToken({ ...es, alg: 'EdDSA' }, claims)).rejects.toThrow(TypeError);
  });
});

describe('verifyCustomerToken: attacks', () => {
  it('alg none', async () => {
    const header = { alg: 'none', typ: 'customer+jwt', kid: ed.kid };
    expect(await verify(await handmade(header, validPayload()))).toEqual({
      ok: false,
      reason: 'alg_not_allowed',
    });
    for (const alg of ['None', 'NONE', 'nOnE', '']) {
      const result = await verify(await handmade({ ...header, alg }, validPayload()));
      expect(result.ok, alg).toBe(false);
    }
  });

  it('HS256 signed with the public key bytes as HMAC secret (algorithm confusion)', async () => {
    const secrets = [
      base64url.decode(String(ed.publicJwk.x)),
      new TextEncoder().encode(JSON.stringify(ed.publicJwk)),
      new TextEncoder().encode(JSON.stringify(jwks())),
    ];
    for (const secret of secrets) {
      for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
        const token = await new SignJWT(validPayload())
          .setProtectedHeader({ alg, kid: ed.kid, typ: 'customer+jwt' })
          .sign(secret);
        expect(await verify(token)).toEqual({ ok: false, reason: 'alg_not_allowed' });
      }
    }
  });

  it('RS256 (or PS256, ES384, Ed25519 spelling) with an attacker key not in the JWKS', async () => {
    const rsa = await generateKeyPair('RS256');
    for (const kid of [ed.kid, 'attacker']) {
      const token = await new SignJWT(validPayload())
        .setProtectedHeader({
          alg: 'RS256',
          kid,
          typ: 'customer+jwt',
          jwk: await exportJWK(rsa.publicKey),
        })
        .sign(rsa.privateKey);
      expect(await verify(token)).toEqual({ ok: false, reason: 'alg_not_allowed' });
    }
    for (const alg of ['PS256', 'ES384', 'Ed25519'] as const) {
      const pair = await generateKeyPair(alg);
      const token = await new SignJWT(validPayload())
        .setProtectedHeader({ alg, kid: ed.kid, typ: 'customer+jwt' })
        .sign(pair.privateKey);
      expect(await verify(token), alg).toEqual({ ok: false, reason: 'alg_not_allowed' });
    }
  });

  it('an allowed alg that does not match the key behind the kid', async () => {
    // ES256 signature, but the kid names the Ed25519 key.
    const pair = await generateKeyPair('ES256');
    const token = await new SignJWT(validPayload())
      .setProtectedHeader({ alg: 'ES256', kid: ed.kid, typ: 'customer+jwt' })
      .sign(pair.privateKey);
    expect(await verify(token)).toEqual({ ok: false, reason: 'alg_not_allowed' });
  });

  it('a key embedded in the header is never trusted', async () => {
    const attacker = await generateKeyPair('EdDSA', { extractable: true });
    const jwk = await exportJWK(attacker.publicKey);
    for (const kid of ['attacker', ed.kid]) {
      const token = await new SignJWT(validPayload())
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'customer+jwt', jwk })
        .sign(attacker.privateKey);
      const result = await verify(token);
      expect(result).toEqual({
        ok: false,
        reason: kid === 'attacker' ? 'unknown_kid' : 'bad_signature',
      });
    }
  });

  it('unknown kid, and a missing kid', async () => {
    const other = await generateSigningKey('EdDSA', NOW);
    expect(await verify(await signCustomerToken(other, claims))).toEqual({
      ok: false,
      reason: 'unknown_kid',
    });
    expect(await verify(await signedWith(ed, validPayload(), { kid: undefined }))).toEqual({
      ok: false,
      reason: 'unknown_kid',
    });
  });

  it('a foreign key that claims our kid', async () => {
    const other = await generateSigningKey('EdDSA', NOW);
    const token = await signCustomerToken({ ...other, kid: ed.kid }, claims);
    expect(await verify(token)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('tampered payload: re-encoded with the original signature', async () => {
    for (const key of [ed, es]) {
      const token = await signCustomerToken(key, claims);
      const [h, , s] = token.split('.');
      const edits: Record<string, unknown>[] = [
        { sub: 'cus_admin' },
        { tid: 'ten_2' },
        { aud: 'sf_other' },
        { exp: NOW / 1000 + 10 * 365 * 86_400 },
      ];
      for (const edit of edits) {
        const forged = `${h}.${encodeJson({ ...decodeJwt(token), ...edit })}.${s}`;
        expect(await verify(forged, edit.aud ? { audience: 'sf_other' } : {})).toEqual({
          ok: false,
          reason: 'bad_signature',
        });
      }
      // Same claims, different JSON spelling: still a different signing input.
      const respelled = `${h}.${base64url.encode(JSON.stringify(decodeJwt(token), null, 1))}.${s}`;
      expect(await verify(respelled)).toEqual({ ok: false, reason: 'bad_signature' });
    }
  });

  it('tampered header: kid switched to another published key', async () => {
    const token = await signCustomerToken(ed, claims);
    const [, p, s] = token.split('.');
    const header = encodeJson({ alg: 'EdDSA', kid: es.kid, typ: 'customer+jwt' });
    const result = await verify(`${header}.${p}.${s}`);
    expect(result).toEqual({ ok: false, reason: 'alg_not_allowed' });
    const second = await generateSigningKey('EdDSA', NOW);
    const both = buildJwks([ed, second], { now: NOW });
    const swapped = `${encodeJson({ alg: 'EdDSA', kid: second.kid, typ: 'customer+jwt' })}.${p}.${s}`;
    expect(await verify(swapped, { jwks: both })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('a truncated or corrupted signature', async () => {
    const token = await signCustomerToken(es, claims);
    expect(await verify(token.slice(0, -4))).toEqual({ ok: false, reason: 'bad_signature' });
    const flipped = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1);
    expect((await verify(flipped)).ok).toBe(false);
    expect(await verify(`${token.split('.').slice(0, 2).join('.')}.`)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('expired, with and without clock tolerance', async () => {
    const token = await signCustomerToken(ed, { ...claims, ttlSeconds: 60 });
    expect((await verify(token, { now: NOW + 59_999 })).ok).toBe(true);
    expect(await verify(token, { now: NOW + 60_000 })).toEqual({ ok: false, reason: 'expired' });
    expect((await verify(token, { now: NOW + 60_000, clockToleranceSeconds: 30 })).ok).toBe(true);
    expect(await verify(token, { now: NOW + 90_000, clockToleranceSeconds: 30 })).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('nbf in the future', async () => {
    const token = await signedWith(ed, validPayload({ nbf: NOW / 1000 + 120 }));
    expect(await verify(token)).toEqual({ ok: false, reason: 'not_yet_valid' });
    expect((await verify(token, { clockToleranceSeconds: 120 })).ok).toBe(true);
    expect((await verify(token, { now: NOW + 120_000 })).ok).toBe(true);
  });

  it('iat in the future', async () => {
    const iat = NOW / 1000 + 300;
    const token = await signedWith(es, validPayload({ iat, exp: iat + 900 }));
    expect(await verify(token)).toEqual({ ok: false, reason: 'not_yet_valid' });
    expect((await verify(token, { clockToleranceSeconds: 300 })).ok).toBe(true);
  });

  it('wrong audience (another storefront) and wrong issuer (another tenant)', async () => {
    const token = await signCustomerToken(ed, claims);
    expect(await verify(token, { audience: 'sf_other' })).toEqual({
      ok: false,
      reason: 'wrong_audience',
    });
    expect(await verify(token, { issuer: 'https://auth.azotte.test/ten_2' })).toEqual({
      ok: false,
      reason: 'wrong_issuer',
    });
  });

  it.each(['exp', 'iat', 'sub', 'iss', 'aud', 'tid'])('missing %s', async (claim) => {
    const payload = validPayload();
    delete payload[claim];
    expect(await verify(await signedWith(ed, payload))).toEqual({
      ok: false,
      reason: 'missing_claim',
    });
  });

  it('claims of the wrong type', async () => {
    for (const edit of [
      { exp: '9999999999' },
      { sub: 42 },
      { tid: '' },
      { iat: 'now' },
      { sub: '' },
    ]) {
      const result = await verify(await signedWith(ed, validPayload(edit)));
      expect(result, JSON.stringify(edit)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('another kind of JWT signed by the same key (typ) is not a customer token', async () => {
    for (const typ of ['JWT', 'console-session+jwt', undefined]) {
      const result = await verify(await signedWith(ed, validPayload(), { typ }));
      expect(result, String(typ)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('critical header extensions, unencoded payloads and non-object claims are refused', async () => {
    const privateKey = await importJWK(ed.privateJwk, 'EdDSA');
    const sign = async (input: Uint8Array) =>
      new Uint8Array(await crypto.subtle.sign('Ed25519', privateKey as CryptoKey, input));
    const header = { alg: 'EdDSA', kid: ed.kid, typ: 'customer+jwt' };
    const crit = await handmade(
      { ...header, crit: ['x-tenant'], 'x-tenant': 'ten_1' },
      validPayload(),
      sign,
    );
    expect(await verify(crit)).toEqual({ ok: false, reason: 'malformed' });
    const b64 = await handmade({ ...header, crit: ['b64'], b64: false }, validPayload(), sign);
    expect(await verify(b64)).toEqual({ ok: false, reason: 'malformed' });
    for (const payload of [[], 'string', 42, null]) {
      const input = `${encodeJson(header)}.${encodeJson(payload)}`;
      const token = `${input}.${base64url.encode(await sign(new TextEncoder().encode(input)))}`;
      expect(await verify(token), JSON.stringify(payload)).toEqual({
        ok: false,
        reason: 'malformed',
      });
    }
    // Sanity check of the helper: the same construction with a valid payload passes.
    expect((await verify(await handmade(header, validPayload(), sign))).ok).toBe(true);
  });

  it('malformed input never throws', async () => {
    const token = await signCustomerToken(ed, claims);
    const samples: unknown[] = [
      undefined,
      null,
      42,
      {},
      '',
      'a.b',
      'a.b.c.d',
      `${token}.`,
      `Bearer ${token}`,
      `${encodeJson('not an object')}.${encodeJson(validPayload())}.`,
      `${base64url.encode('{')}.${encodeJson(validPayload())}.sig`,
      `${encodeJson({ alg: 42 })}.e30.AAAA`,
      `${'a'.repeat(9000)}.e30.AAAA`,
    ];
    for (const sample of samples) {
      const result = await verify(sample);
      expect(result.ok, String(sample).slice(0, 60)).toBe(false);
      if (!result.ok) expect(result.reason).toBe('malformed');
    }
  });

  it('a broken JWKS is refused, not thrown', async () => {
    const token = await signCustomerToken(ed, claims);
    const broken: unknown[] = [
      null,
      {},
      { keys: 'nope' },
      { keys: [null, 1, 'x'] },
      { keys: [{ ...ed.publicJwk, x: 42 }] },
      { keys: [{ ...ed.publicJwk, x: 'AAAA' }] },
      { keys: [{ ...ed.publicJwk, use: 'enc' }] },
      { keys: [{ kty: 'oct', k: base64url.encode(String(ed.publicJwk.x)), kid: ed.kid }] },
    ];
    for (const set of broken) {
      const result = await verify(token, { jwks: set as never });
      expect(result.ok, JSON.stringify(set)).toBe(false);
    }
  });

  it('random strings and random dot-separated base64url never throw or pass', async () => {
    const segment = fc
      .base64String()
      .map((s) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.tuple(segment, segment, segment).map((p) => p.join('.')),
        ),
        async (token) => {
          const result = await verify(token);
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('publicJwk is enough to verify elsewhere', () => {
  it('a plain jose verifier with the published key accepts our token', async () => {
    const token = await signCustomerToken(es, claims);
    const published = jwks().keys.find((k) => k.kid === es.kid) as JWK;
    const { jwtVerify } = await import('jose');
    const { payload } = await jwtVerify(token, await importJWK(published, 'ES256'), {
      currentDate: new Date(NOW),
    });
    expect(payload.sub).toBe('cus_123');
  });
});
