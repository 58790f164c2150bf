import { base64url, decodeJwt, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, signCustomerToken } from '../../src/security/customer-tokens';
import {
  type ConsoleKeys,
  createCsrfToken,
  deriveConsoleKeys,
  newSessionId,
  SESSION_TTL_SECONDS,
  signSessionToken,
  verifyCsrfToken,
  verifySessionToken,
} from '../../src/security/sessions';

const NOW = Date.UTC(2026, 4, 1, 9, 0, 0);
const SECRET = 'test-console-secret-0123456789abcdef';

let keys: ConsoleKeys;
let nextKeys: ConsoleKeys;

beforeAll(async () => {
  keys = await deriveConsoleKeys(SECRET);
  nextKeys = await deriveConsoleKeys('another-console-secret-0123456789abcdef', 'k2');
});

const session = { sessionId: 'ses_abc', operatorId: 'op_1', now: NOW };

describe('deriveConsoleKeys', () => {
  it('refuses short secrets and odd kids, without echoing the secret', async () => {
    const err = await deriveConsoleKeys('short-secret').catch((e: Error) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect(String(err)).not.toContain('short-secret');
    await expect(deriveConsoleKeys(new Uint8Array(31))).rejects.toThrow(RangeError);
    await expect(deriveConsoleKeys(new Uint8Array(32))).resolves.toBeDefined();
    await expect(deriveConsoleKeys(SECRET, 'has space')).rejects.toThrow(TypeError);
  });

  it('derives non-extractable keys', () => {
    expect(keys.session.extractable).toBe(false);
    expect(keys.csrf.extractable).toBe(false);
  });
});

describe('session tokens', () => {
  it('round-trip with a 30 minute lifetime', async () => {
    const token = await signSessionToken(keys, session);
    expect(await verifySessionToken(token, keys, { now: NOW })).toEqual({
      ok: true,
      claims: { sid: 'ses_abc', operatorId: 'op_1', iat: NOW / 1000, exp: NOW / 1000 + 1800 },
    });
    expect(SESSION_TTL_SECONDS).toBe(1800);
    expect((await verifySessionToken(token, keys, { now: NOW + 1_799_999 })).ok).toBe(true);
    expect(await verifySessionToken(token, keys, { now: NOW + 1_800_000 })).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('verify with old and new secrets during rotation, picked by kid', async () => {
    const old = await signSessionToken(keys, session);
    const fresh = await signSessionToken(nextKeys, session);
    expect((await verifySessionToken(old, [nextKeys, keys], { now: NOW })).ok).toBe(true);
    expect((await verifySessionToken(fresh, [nextKeys, keys], { now: NOW })).ok).toBe(true);
    expect(await verifySessionToken(old, [nextKeys], { now: NOW })).toEqual({
      ok: false,
      reason: 'unknown_kid',
    });
  });

  it('a different secret under the same kid is a bad signature', async () => {
    const impostor = await deriveConsoleKeys('impostor-secret-0123456789abcdef-xyz', 'k1');
    const token = await signSessionToken(impostor, session);
    expect(await verifySessionToken(token, keys, { now: NOW })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('a token MACed with the raw secret (no HKDF) is a bad signature', async () => {
    const token = await new SignJWT({ sid: 'ses_abc' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1', typ: 'console-session+jwt' })
      .setIssuer('azotte-console')
      .setAudience('azotte-console')
      .setSubject('op_1')
      .setIssuedAt(NOW / 1000)
      .setExpirationTime(NOW / 1000 + 60)
      .sign(new TextEncoder().encode(SECRET));
    expect(await verifySessionToken(token, keys, { now: NOW })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('tampered payload', async () => {
    const token = await signSessionToken(keys, session);
    const [h, , s] = token.split('.');
    const forged = `${h}.${base64url.encode(JSON.stringify({ ...decodeJwt(token), sub: 'op_owner' }))}.${s}`;
    expect(await verifySessionToken(forged, keys, { now: NOW })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('alg none and other algorithms are refused', async () => {
    const token = await signSessionToken(keys, session);
    const [, p] = token.split('.');
    for (const alg of ['none', 'HS512', 'EdDSA', 'RS256']) {
      const header = base64url.encode(
        JSON.stringify({ alg, kid: 'k1', typ: 'console-session+jwt' }),
      );
      expect(await verifySessionToken(`${header}.${p}.`, keys, { now: NOW })).toEqual({
        ok: false,
        reason: 'alg_not_allowed',
      });
    }
  });

  it('a customer token is never a session', async () => {
    const key = await generateSigningKey('EdDSA', NOW);
    const token = await signCustomerToken(key, {
      issuer: 'azotte-console',
      audience: 'azotte-console',
      subject: 'op_1',
      tenantId: 'ten_1',
      ttlSeconds: 60,
      now: NOW,
    });
    expect(await verifySessionToken(token, keys, { now: NOW })).toEqual({
      ok: false,
      reason: 'alg_not_allowed',
    });
  });

  it('requires sid, and the console issuer and audience', async () => {
    const base = () =>
      new SignJWT({ sid: 'ses_abc' })
        .setProtectedHeader({ alg: 'HS256', kid: 'k1', typ: 'console-session+jwt' })
        .setIssuer('azotte-console')
        .setAudience('azotte-console')
        .setSubject('op_1')
        .setIssuedAt(NOW / 1000)
        .setExpirationTime(NOW / 1000 + 60);
    expect((await verifySessionToken(await base().sign(keys.session), keys, { now: NOW })).ok).toBe(
      true,
    );
    const withoutSid = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: 'k1', typ: 'console-session+jwt' })
      .setIssuer('azotte-console')
      .setAudience('azotte-console')
      .setSubject('op_1')
      .setIssuedAt(NOW / 1000)
      .setExpirationTime(NOW / 1000 + 60)
      .sign(keys.session);
    expect(await verifySessionToken(withoutSid, keys, { now: NOW })).toEqual({
      ok: false,
      reason: 'missing_claim',
    });
    const otherAud = await base().setAudience('storefront').sign(keys.session);
    expect(await verifySessionToken(otherAud, keys, { now: NOW })).toEqual({
      ok: false,
      reason: 'wrong_audience',
    });
    const otherIss = await base().setIssuer('elsewhere').sign(keys.session);
    expect(await verifySessionToken(otherIss, keys, { now: NOW })).toEqual({
      ok: false,
      reason: 'wrong_issuer',
    });
    const future = await base()
      .setIssuedAt(NOW / 1000 + 600)
      .setExpirationTime(NOW / 1000 + 900)
      .sign(keys.session);
    expect(await verifySessionToken(future, keys, { now: NOW })).toEqual({
      ok: false,
      reason: 'not_yet_valid',
    });
  });

  it('malformed input never throws', async () => {
    for (const token of [undefined, null, '', 'x', 'a.b.c', `${'a'.repeat(9000)}.e30.`]) {
      const result = await verifySessionToken(token, keys, { now: NOW });
      expect(result.ok).toBe(false);
    }
  });

  it('refuses bad input to the signer', async () => {
    await expect(signSessionToken(keys, { ...session, ttlSeconds: 0 })).rejects.toThrow(RangeError);
    await expect(signSessionToken(keys, { ...session, ttlSeconds: 13 * 3600 })).rejects.toThrow(
      RangeError,
    );
    await expect(signSessionToken(keys, { ...session, operatorId: '' })).rejects.toThrow(TypeError);
  });

  it('session ids are random and prefixed', () => {
    const ids = new Set(Array.from({ length: 100 }, newSessionId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^ses_[A-Za-z0-9_-]{22}$/);
  });
});

describe('CSRF tokens', () => {
  it('verify for their own session only', async () => {
    const token = await createCsrfToken(keys, 'ses_abc');
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(await verifyCsrfToken(keys, 'ses_abc', token)).toBe(true);
    expect(await verifyCsrfToken(keys, 'ses_abd', token)).toBe(false);
    expect(await verifyCsrfToken(keys, '', token)).toBe(false);
  });

  it('differ on every call and all stay valid', async () => {
    const a = await createCsrfToken(keys, 'ses_abc');
    const b = await createCsrfToken(keys, 'ses_abc');
    expect(a).not.toBe(b);
    expect(await verifyCsrfToken(keys, 'ses_abc', a)).toBe(true);
    expect(await verifyCsrfToken(keys, 'ses_abc', b)).toBe(true);
  });

  it('are bound to the secret, with rotation', async () => {
    const token = await createCsrfToken(keys, 'ses_abc');
    expect(await verifyCsrfToken(nextKeys, 'ses_abc', token)).toBe(false);
    expect(await verifyCsrfToken([nextKeys, keys], 'ses_abc', token)).toBe(true);
  });

  it('are not the session MAC (different derived keys)', async () => {
    const token = await createCsrfToken(keys, 'ses_abc');
    const [nonce] = token.split('.');
    const message = new TextEncoder().encode(`7:ses_abc\n${nonce}`);
    const sessionMac = new Uint8Array(await crypto.subtle.sign('HMAC', keys.session, message));
    expect(await verifyCsrfToken(keys, 'ses_abc', `${nonce}.${base64url.encode(sessionMac)}`)).toBe(
      false,
    );
    const csrfMac = new Uint8Array(await crypto.subtle.sign('HMAC', keys.csrf, message));
    expect(await verifyCsrfToken(keys, 'ses_abc', `${nonce}.${base64url.encode(csrfMac)}`)).toBe(
      true,
    );
  });

  it('reject tampering and junk', async () => {
    const token = await createCsrfToken(keys, 'ses_abc');
    const [nonce, mac] = token.split('.') as [string, string];
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    const junk: unknown[] = [
      undefined,
      null,
      42,
      '',
      '.',
      nonce,
      `${flip(nonce)}.${mac}`,
      `${nonce}.${flip(mac)}`,
      `${nonce}.${mac}.`,
      `${nonce}.${mac.slice(0, -1)}`,
      `${nonce}=.${mac}`,
      `${mac}.${nonce}`,
      'x'.repeat(10_000),
    ];
    for (const candidate of junk) {
      expect(await verifyCsrfToken(keys, 'ses_abc', candidate), String(candidate)).toBe(false);
    }
  });
});
