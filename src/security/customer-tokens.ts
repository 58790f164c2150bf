/**
 * Customer access tokens: short-lived JWTs a storefront's customers present, signed with a
 * per-tenant asymmetric key so that anyone (a storefront backend, a partner) can verify them from
 * the tenant's published JWKS without holding a secret.
 *
 * The verifier trusts nothing in the token header: the algorithm is pinned to EdDSA or ES256,
 * the key is found by `kid` only in the JWKS we were given (never `jwk`/`jku`/`x5u` from the
 * token), and the key's type must match the algorithm. This closes `alg: none`, HS256-with-the-
 * public-key confusion and "bring your own key" tokens.
 */
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import { randomBytes, toBase64Url } from './encoding';
import {
  epochSeconds,
  isCompactJws,
  joseFailure,
  stringClaim,
  type TokenFailure,
} from './jwt-common';

export type { TokenFailure } from './jwt-common';

/** The only algorithms customer tokens may use. */
export const CUSTOMER_TOKEN_ALGS = ['EdDSA', 'ES256'] as const;
export type SigningAlg = (typeof CUSTOMER_TOKEN_ALGS)[number];

/** `typ` header of customer tokens, so no other JWT we issue can be replayed as one. */
export const CUSTOMER_TOKEN_TYPE = 'customer+jwt';

/** Longest lifetime {@link signCustomerToken} will issue. */
export const MAX_CUSTOMER_TOKEN_TTL_SECONDS = 24 * 60 * 60;

/**
 * How long a retired key stays in the JWKS by default. Must exceed the longest token lifetime
 * plus how long verifiers cache the JWKS, or valid tokens fail during a rotation.
 */
export const DEFAULT_KEY_OVERLAP_SECONDS = 2 * MAX_CUSTOMER_TOKEN_TTL_SECONDS;

export interface SigningKey {
  /** RFC 7638 thumbprint of the public key. */
  kid: string;
  alg: SigningAlg;
  /** Secret. Store encrypted; never return it from an API or write it to a log. */
  privateJwk: JWK;
  /** Public part, with `kid`, `alg` and `use: 'sig'` set. */
  publicJwk: JWK;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds when the key stopped signing; it stays published for the overlap. */
  retiredAt?: number | null;
}

export interface CustomerTokenClaims {
  iss: string;
  /** Customer id. */
  sub: string;
  /** Storefront id (or ids). */
  aud: string | string[];
  /** Tenant id. */
  tid: string;
  iat: number;
  exp: number;
  nbf?: number;
  jti?: string;
  /** `test` for a token a test key issued (it reaches test-mode data only); absent: live. */
  mode?: 'test';
}

export type VerifyCustomerTokenResult =
  | { ok: true; claims: CustomerTokenClaims }
  | { ok: false; reason: TokenFailure };

const KEY_SHAPE: Record<SigningAlg, { kty: string; crv: string; members: readonly string[] }> = {
  EdDSA: { kty: 'OKP', crv: 'Ed25519', members: ['x'] },
  ES256: { kty: 'EC', crv: 'P-256', members: ['x', 'y'] },
};

function isSigningAlg(alg: unknown): alg is SigningAlg {
  return alg === 'EdDSA' || alg === 'ES256';
}

/**
 * Only the public members of a JWK, or `null` if it is not a key of `alg`'s type. Copying
 * member by member (rather than deleting `d`) means nothing private or unexpected can leak
 * into a JWKS or into key import.
 */
function publicPart(jwk: unknown, alg: SigningAlg): JWK | null {
  if (typeof jwk !== 'object' || jwk === null) return null;
  const source = jwk as Record<string, unknown>;
  const shape = KEY_SHAPE[alg];
  if (source.kty !== shape.kty || source.crv !== shape.crv) return null;
  const out: Record<string, string> = { kty: shape.kty, crv: shape.crv };
  for (const member of shape.members) {
    const value = source[member];
    if (typeof value !== 'string' || value.length === 0) return null;
    out[member] = value;
  }
  return out as JWK;
}

/**
 * Creates a new signing key pair for a tenant. The `kid` is the key's RFC 7638 thumbprint, so
 * it reveals nothing and cannot collide between different keys.
 */
export async function generateSigningKey(
  alg: SigningAlg,
  now: number = Date.now(),
): Promise<SigningKey> {
  if (!isSigningAlg(alg)) throw new TypeError('unsupported signing algorithm');
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const pub = publicPart(await exportJWK(publicKey), alg);
  if (!pub) throw new Error('generated key has an unexpected shape');
  const kid = await calculateJwkThumbprint(pub, 'sha256');
  return {
    kid,
    alg,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg },
    publicJwk: { ...pub, kid, alg, use: 'sig' },
    createdAt: now,
  };
}

/**
 * The JSON Web Key Set to publish for a tenant: the public part of every key that is active or
 * was retired less than `overlapSeconds` ago. Private members never appear, even if a caller
 * passes a private JWK by mistake.
 */
export function buildJwks(
  keys: readonly Pick<SigningKey, 'kid' | 'alg' | 'publicJwk' | 'retiredAt'>[],
  options: { now: number; overlapSeconds?: number },
): JSONWebKeySet {
  const overlapMs = (options.overlapSeconds ?? DEFAULT_KEY_OVERLAP_SECONDS) * 1000;
  const published: JWK[] = [];
  for (const key of keys) {
    if (key.retiredAt != null && options.now >= key.retiredAt + overlapMs) continue;
    const pub = publicPart(key.publicJwk, key.alg);
    if (!pub) continue;
    published.push({ ...pub, kid: key.kid, alg: key.alg, use: 'sig' });
  }
  return { keys: published };
}

/**
 * Picks the key to sign with: the newest non-retired key that has been published for at least
 * `publishLeadSeconds` (so verifiers with a cached JWKS already know it), falling back to the
 * newest non-retired key when none is that old (first key of a tenant). `null` if all are retired.
 */
export function currentSigningKey<K extends Pick<SigningKey, 'createdAt' | 'retiredAt'>>(
  keys: readonly K[],
  options: { now: number; publishLeadSeconds?: number },
): K | null {
  const leadMs = (options.publishLeadSeconds ?? 0) * 1000;
  const active = keys
    .filter((k) => k.retiredAt == null || k.retiredAt > options.now)
    .sort((a, b) => b.createdAt - a.createdAt);
  return active.find((k) => k.createdAt + leadMs <= options.now) ?? active[0] ?? null;
}

export interface CustomerTokenInput {
  issuer: string;
  /** Storefront id. */
  audience: string;
  /** Customer id. */
  subject: string;
  tenantId: string;
  ttlSeconds: number;
  /** Epoch milliseconds. */
  now: number;
  /** The mode of the key that issued it (claim `mode`); default live. */
  mode?: 'test' | 'live';
}

/**
 * Signs a customer token (`typ: customer+jwt`) with `iss`, `aud`, `sub`, `tid`, `iat`, `exp` and
 * a random `jti`. Throws on bad input; error messages never include key material.
 */
export function signCustomerToken(
  key: Pick<SigningKey, 'privateJwk' | 'kid' | 'alg'>,
  input: CustomerTokenInput,
): Promise<string> {
  return signTenantJwt(key, input, CUSTOMER_TOKEN_TYPE, {});
}

/** The private keys imported in this isolate, by kid (importing costs more than signing). */
const importedPrivate = new Map<string, { jwk: JWK; key: CryptoKey | Uint8Array }>();

async function privateKeyOf(
  key: Pick<SigningKey, 'privateJwk' | 'kid' | 'alg'>,
): Promise<CryptoKey | Uint8Array> {
  const held = importedPrivate.get(key.kid);
  if (held && held.jwk === key.privateJwk) return held.key;
  const jwk = key.privateJwk as Record<string, unknown>;
  if (!publicPart(jwk, key.alg) || typeof jwk.d !== 'string') {
    throw new TypeError('privateJwk is not a private key for alg');
  }
  let imported: CryptoKey | Uint8Array;
  try {
    imported = await importJWK(key.privateJwk, key.alg);
  } catch {
    // jose's message could echo parts of the JWK; ours does not.
    throw new TypeError('privateJwk could not be imported');
  }
  if (importedPrivate.size >= 256) importedPrivate.clear();
  importedPrivate.set(key.kid, { jwk: key.privateJwk, key: imported });
  return imported;
}

/**
 * Signs a JWT of one of our token types (`typ`) with a tenant key: the registered claims of
 * {@link CustomerTokenInput} plus `claims` (which cannot override them). The `typ` keeps each
 * kind of token from being accepted as another.
 */
export async function signTenantJwt(
  key: Pick<SigningKey, 'privateJwk' | 'kid' | 'alg'>,
  input: CustomerTokenInput,
  typ: string,
  claims: Record<string, unknown>,
): Promise<string> {
  if (!isSigningAlg(key.alg)) throw new TypeError('unsupported signing algorithm');
  for (const name of ['issuer', 'audience', 'subject', 'tenantId'] as const) {
    if (!stringClaim(input[name])) throw new TypeError(`${name} must be a non-empty string`);
  }
  if (
    !Number.isInteger(input.ttlSeconds) ||
    input.ttlSeconds <= 0 ||
    input.ttlSeconds > MAX_CUSTOMER_TOKEN_TTL_SECONDS
  ) {
    throw new RangeError(
      `ttlSeconds must be an integer from 1 to ${MAX_CUSTOMER_TOKEN_TTL_SECONDS}`,
    );
  }
  if (!Number.isFinite(input.now)) throw new TypeError('now must be epoch milliseconds');
  const privateKey = await privateKeyOf(key);
  const iat = epochSeconds(input.now);
  return new SignJWT({
    ...claims,
    tid: input.tenantId,
    ...(input.mode === 'test' ? { mode: 'test' } : {}),
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ })
    .setIssuer(input.issuer)
    .setAudience(input.audience)
    .setSubject(input.subject)
    .setIssuedAt(iat)
    .setExpirationTime(iat + input.ttlSeconds)
    .setJti(toBase64Url(randomBytes(16)))
    .sign(privateKey);
}

export interface VerifyCustomerTokenOptions {
  /** The tenant's published key set (see {@link buildJwks}). */
  jwks: JSONWebKeySet;
  issuer: string;
  /** Expected storefront id(s); the token's `aud` must contain one of them. */
  audience: string | string[];
  /** Epoch milliseconds. */
  now: number;
  /** Allowed clock skew for `exp`, `nbf` and `iat`; default 0. */
  clockToleranceSeconds?: number;
}

function findKey(jwks: unknown, kid: string, alg: SigningAlg): JWK | TokenFailure {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return 'unknown_kid';
  const candidates = keys.filter(
    (k): k is Record<string, unknown> =>
      typeof k === 'object' && k !== null && (k as { kid?: unknown }).kid === kid,
  );
  if (candidates.length === 0) return 'unknown_kid';
  for (const candidate of candidates) {
    if (candidate.use !== undefined && candidate.use !== 'sig') continue;
    // A key pinned to one algorithm must not verify a token that claims another.
    if (candidate.alg !== undefined && candidate.alg !== alg) continue;
    const pub = publicPart(candidate, alg);
    if (pub) return pub;
  }
  return 'alg_not_allowed';
}

/**
 * Verifies a customer token against a tenant's JWKS. Never throws: any problem, including a
 * broken JWKS, becomes `{ ok: false, reason }`.
 *
 * Checks, in order: compact shape and size; `alg` is EdDSA or ES256; `kid` names a key of that
 * type in `jwks`; signature; `typ`; presence of `exp`, `iat`, `sub`, `iss`, `aud`, `tid`; `iss`;
 * `aud`; `nbf`/`exp`/`iat` against `now` with `clockToleranceSeconds`.
 */
export async function verifyCustomerToken(
  token: unknown,
  options: VerifyCustomerTokenOptions,
): Promise<VerifyCustomerTokenResult> {
  const verified = await verifyTenantJwt(token, options, CUSTOMER_TOKEN_TYPE);
  return verified.ok ? { ok: true, claims: verified.claims } : verified;
}

/** The public keys imported in this isolate, by kid and algorithm. */
const importedPublic = new Map<string, { jwk: JWK; key: CryptoKey | Uint8Array }>();

async function publicKeyOf(kid: string, alg: SigningAlg, jwk: JWK) {
  const id = `${alg}:${kid}`;
  const held = importedPublic.get(id);
  if (held && held.jwk.x === jwk.x && held.jwk.y === jwk.y) return held.key;
  const key = await importJWK(jwk, alg);
  if (importedPublic.size >= 1024) importedPublic.clear();
  importedPublic.set(id, { jwk, key });
  return key;
}

/**
 * {@link verifyCustomerToken} for any of our token types: the same checks with `typ`, and the
 * whole payload besides the registered claims (for the type's own claims).
 */
export async function verifyTenantJwt(
  token: unknown,
  options: VerifyCustomerTokenOptions,
  typ: string,
): Promise<
  | { ok: true; claims: CustomerTokenClaims; payload: Record<string, unknown> }
  | { ok: false; reason: TokenFailure }
> {
  try {
    if (!isCompactJws(token)) return { ok: false, reason: 'malformed' };
    const header = decodeProtectedHeader(token);
    if (typeof header.alg !== 'string') return { ok: false, reason: 'malformed' };
    if (!isSigningAlg(header.alg)) return { ok: false, reason: 'alg_not_allowed' };
    if (typeof header.kid !== 'string' || header.kid.length === 0) {
      return { ok: false, reason: 'unknown_kid' };
    }
    const jwk = findKey(options.jwks, header.kid, header.alg);
    if (typeof jwk === 'string') return { ok: false, reason: jwk };
    let key: CryptoKey | Uint8Array;
    try {
      key = await publicKeyOf(header.kid, header.alg, jwk);
    } catch {
      return { ok: false, reason: 'unknown_kid' };
    }
    const tolerance = options.clockToleranceSeconds ?? 0;
    const { payload } = await jwtVerify(token, key, {
      algorithms: [header.alg],
      typ,
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ['exp', 'iat', 'sub', 'iss', 'aud', 'tid'],
      currentDate: new Date(options.now),
      clockTolerance: tolerance,
    });
    const sub = stringClaim(payload.sub);
    const tid = stringClaim(payload.tid);
    if (!sub || !tid || typeof payload.iss !== 'string' || typeof payload.iat !== 'number') {
      return { ok: false, reason: 'malformed' };
    }
    if (typeof payload.exp !== 'number' || payload.aud === undefined) {
      return { ok: false, reason: 'malformed' };
    }
    // jose only checks `iat` when maxTokenAge is set; a token from the future is not valid yet.
    if (payload.iat > epochSeconds(options.now) + tolerance) {
      return { ok: false, reason: 'not_yet_valid' };
    }
    const claims: CustomerTokenClaims = {
      iss: payload.iss,
      sub,
      aud: payload.aud,
      tid,
      iat: payload.iat,
      exp: payload.exp,
    };
    if (typeof payload.nbf === 'number') claims.nbf = payload.nbf;
    if (typeof payload.jti === 'string') claims.jti = payload.jti;
    if (payload.mode === 'test') claims.mode = 'test';
    return { ok: true, claims, payload: payload as Record<string, unknown> };
  } catch (err) {
    return { ok: false, reason: joseFailure(err) };
  }
}
