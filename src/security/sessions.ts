/**
 * Operator console sessions: a short-lived HS256 JWT in an HttpOnly cookie, plus a CSRF token
 * bound to the session id for state-changing requests.
 *
 * HS256 rather than EdDSA because only this worker ever issues or checks these tokens: a shared
 * secret is simpler and nobody else needs to verify them. Both the session MAC key and the CSRF
 * key are derived from one server secret with HKDF under different labels, so a CSRF token can
 * never be passed off as a session signature or the reverse.
 *
 * This module only proves the token was issued by us and is still in date; whether its session
 * was signed out before `exp` is looked up in Postgres by `operatorAuth` (see `loadSession` in
 * src/services/admin/operators.ts).
 */
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { constantTimeEqual, fromBase64Url, randomBytes, toBase64Url, utf8 } from './encoding';
import {
  epochSeconds,
  isCompactJws,
  joseFailure,
  stringClaim,
  type TokenFailure,
} from './jwt-common';

export type { TokenFailure } from './jwt-common';

/** Session lifetime: 30 minutes. Re-issue on activity for a sliding session. */
export const SESSION_TTL_SECONDS = 30 * 60;
/** Longest lifetime {@link signSessionToken} will issue. */
export const MAX_SESSION_TTL_SECONDS = 12 * 60 * 60;
/** `iss` and `aud` of session tokens. */
export const SESSION_ISSUER = 'azotte-console';
/** `typ` header of session tokens. */
export const SESSION_TOKEN_TYPE = 'console-session+jwt';
/** Secrets shorter than this are refused: HS256 wants at least 256 bits (RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32;

const SESSION_LABEL = 'azotte/console/session/v1';
const CSRF_LABEL = 'azotte/console/csrf/v1';

/** Keys derived from one server secret. Derive once per isolate, not per request. */
export interface ConsoleKeys {
  /** Names the secret in the token header, so an old secret can still verify during rotation. */
  kid: string;
  session: CryptoKey;
  csrf: CryptoKey;
}

export interface SessionClaims {
  /** Session id. */
  sid: string;
  operatorId: string;
  /** Epoch seconds. */
  iat: number;
  /** Epoch seconds. */
  exp: number;
}

export type VerifySessionResult =
  | { ok: true; claims: SessionClaims }
  | { ok: false; reason: TokenFailure };

async function hkdfHmacKey(base: CryptoKey, label: string): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: utf8(label) },
    base,
    { name: 'HMAC', hash: 'SHA-256', length: 256 },
    false,
    ['sign', 'verify'],
  );
}

/**
 * Derives the session and CSRF keys from a server secret (at least 32 bytes; a string is taken
 * as UTF-8). `kid` names this secret in tokens; give the next secret a new `kid` when rotating
 * and verify with both until old sessions have expired.
 */
export async function deriveConsoleKeys(
  secret: string | Uint8Array<ArrayBuffer>,
  kid = 'k1',
): Promise<ConsoleKeys> {
  const bytes = typeof secret === 'string' ? utf8(secret) : secret;
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new RangeError(`session secret must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(kid)) throw new TypeError('kid must be 1-64 URL-safe chars');
  const base = await crypto.subtle.importKey('raw', bytes, 'HKDF', false, ['deriveKey']);
  const [session, csrf] = await Promise.all([
    hkdfHmacKey(base, SESSION_LABEL),
    hkdfHmacKey(base, CSRF_LABEL),
  ]);
  return { kid, session, csrf };
}

/** A new random session id (`ses_` + 128 bits). */
export function newSessionId(): string {
  return `ses_${toBase64Url(randomBytes(16))}`;
}

export interface SessionTokenInput {
  sessionId: string;
  operatorId: string;
  /** Epoch milliseconds. */
  now: number;
  ttlSeconds?: number;
}

/** Signs a session token (`sid`, `sub` = operator id, `iat`, `exp`, `iss`/`aud` = console). */
export async function signSessionToken(
  keys: ConsoleKeys,
  input: SessionTokenInput,
): Promise<string> {
  const ttl = input.ttlSeconds ?? SESSION_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > MAX_SESSION_TTL_SECONDS) {
    throw new RangeError(`ttlSeconds must be an integer from 1 to ${MAX_SESSION_TTL_SECONDS}`);
  }
  if (!stringClaim(input.sessionId) || !stringClaim(input.operatorId)) {
    throw new TypeError('sessionId and operatorId must be non-empty strings');
  }
  if (!Number.isFinite(input.now)) throw new TypeError('now must be epoch milliseconds');
  const iat = epochSeconds(input.now);
  return new SignJWT({ sid: input.sessionId })
    .setProtectedHeader({ alg: 'HS256', kid: keys.kid, typ: SESSION_TOKEN_TYPE })
    .setIssuer(SESSION_ISSUER)
    .setAudience(SESSION_ISSUER)
    .setSubject(input.operatorId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttl)
    .sign(keys.session);
}

function asKeyring(keys: ConsoleKeys | readonly ConsoleKeys[]): readonly ConsoleKeys[] {
  return Array.isArray(keys) ? keys : [keys as ConsoleKeys];
}

/**
 * Verifies a session token. `keys` is the current key set, or a list of key sets during secret
 * rotation (picked by `kid`). Only HS256 is accepted. Never throws.
 */
export async function verifySessionToken(
  token: unknown,
  keys: ConsoleKeys | readonly ConsoleKeys[],
  options: { now: number; clockToleranceSeconds?: number },
): Promise<VerifySessionResult> {
  try {
    if (!isCompactJws(token)) return { ok: false, reason: 'malformed' };
    const header = decodeProtectedHeader(token);
    if (typeof header.alg !== 'string') return { ok: false, reason: 'malformed' };
    if (header.alg !== 'HS256') return { ok: false, reason: 'alg_not_allowed' };
    const key = asKeyring(keys).find((k) => k.kid === header.kid);
    if (!key) return { ok: false, reason: 'unknown_kid' };
    const tolerance = options.clockToleranceSeconds ?? 0;
    const { payload } = await jwtVerify(token, key.session, {
      algorithms: ['HS256'],
      typ: SESSION_TOKEN_TYPE,
      issuer: SESSION_ISSUER,
      audience: SESSION_ISSUER,
      requiredClaims: ['exp', 'iat', 'sub', 'sid'],
      currentDate: new Date(options.now),
      clockTolerance: tolerance,
    });
    const sid = stringClaim(payload.sid);
    const operatorId = stringClaim(payload.sub);
    const { iat, exp } = payload;
    if (!sid || !operatorId || typeof iat !== 'number' || typeof exp !== 'number') {
      return { ok: false, reason: 'malformed' };
    }
    if (iat > epochSeconds(options.now) + tolerance) return { ok: false, reason: 'not_yet_valid' };
    return { ok: true, claims: { sid, operatorId, iat, exp } };
  } catch (err) {
    return { ok: false, reason: joseFailure(err) };
  }
}

const NONCE_BYTES = 16;
const MAC_BYTES = 32;

async function csrfMac(key: CryptoKey, sessionId: string, nonce: Uint8Array): Promise<Uint8Array> {
  // Length-prefixed so that no (sessionId, nonce) pair can be re-split into another.
  const message = utf8(`${sessionId.length}:${sessionId}\n${toBase64Url(nonce)}`);
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, message));
}

/**
 * A CSRF token for a session: `<nonce>.<HMAC(csrfKey, sessionId, nonce)>` in base64url (the
 * signed double-submit pattern). Send it in a non-HttpOnly cookie or the page, and expect it back
 * in a header on every unsafe request. A fresh nonce per call means tokens differ per page load
 * while all of them stay valid for the session.
 */
export async function createCsrfToken(keys: ConsoleKeys, sessionId: string): Promise<string> {
  if (!stringClaim(sessionId)) throw new TypeError('sessionId must be a non-empty string');
  const nonce = randomBytes(NONCE_BYTES);
  return `${toBase64Url(nonce)}.${toBase64Url(await csrfMac(keys.csrf, sessionId, nonce))}`;
}

/**
 * True iff `token` was made by {@link createCsrfToken} for this session id with one of `keys`.
 * The MAC comparison is constant-time. Never throws.
 */
export async function verifyCsrfToken(
  keys: ConsoleKeys | readonly ConsoleKeys[],
  sessionId: string,
  token: unknown,
): Promise<boolean> {
  if (typeof token !== 'string' || token.length > 256 || !stringClaim(sessionId)) return false;
  const [nonceText, macText, extra] = token.split('.');
  if (nonceText === undefined || macText === undefined || extra !== undefined) return false;
  const nonce = fromBase64Url(nonceText);
  const mac = fromBase64Url(macText);
  if (!nonce || !mac || nonce.length !== NONCE_BYTES || mac.length !== MAC_BYTES) return false;
  let ok = false;
  // Every key is tried even after a match, so timing does not tell which secret is current.
  for (const key of asKeyring(keys)) {
    const expected = await csrfMac(key.csrf, sessionId, nonce);
    if (constantTimeEqual(expected, mac)) ok = true;
  }
  return ok;
}
