/**
 * What the two token modules (customer tokens, operator sessions) share: the list of failure
 * reasons, a cheap shape check that runs before any crypto, and the mapping from jose's errors.
 */
import { errors } from 'jose';

/** Why a token was refused. Routes answer 401 for all of them; the reason is for logs and tests. */
export type TokenFailure =
  | 'malformed'
  | 'alg_not_allowed'
  | 'unknown_kid'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'missing_claim';

/** Tokens longer than this are refused unparsed: a header is not a place for megabytes of JSON. */
export const MAX_TOKEN_LENGTH = 8192;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** True for a string of plausible size made of three base64url segments (the last may be empty). */
export function isCompactJws(token: unknown): token is string {
  return typeof token === 'string' && token.length <= MAX_TOKEN_LENGTH && COMPACT_JWS.test(token);
}

/**
 * Maps an error thrown by `jwtVerify` to a failure reason. Signature errors come before claim
 * errors because jose checks the signature first, so a tampered `aud` reads as `bad_signature`.
 */
export function joseFailure(err: unknown): TokenFailure {
  if (err instanceof errors.JOSEAlgNotAllowed) return 'alg_not_allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return 'missing_claim';
    if (err.reason === 'check_failed') {
      if (err.claim === 'nbf' || err.claim === 'iat') return 'not_yet_valid';
      if (err.claim === 'aud') return 'wrong_audience';
      if (err.claim === 'iss') return 'wrong_issuer';
    }
    return 'malformed';
  }
  return 'malformed';
}

/** Whole seconds since the epoch, as JWT NumericDate wants. */
export function epochSeconds(nowMs: number): number {
  return Math.floor(nowMs / 1000);
}

/** Non-empty string claim, or `null`. */
export function stringClaim(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}
