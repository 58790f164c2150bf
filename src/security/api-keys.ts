/**
 * Storefront API keys: `pk_…` (publishable, safe in a browser) and `sk_…` (secret, server to
 * server), each in a mode, as Stripe's are: `pk_live_…` / `sk_live_…` reach the real payment
 * providers, `pk_test_…` / `sk_test_…` only the sandbox ones (and test clocks, outage switches).
 * The mode is part of the key, so a key cannot change mode, and its row records the mode it was
 * generated with (`api_keys.mode`, checked against the prefix by Postgres).
 *
 * Shape: `<kind+mode prefix><43 random base62 chars><6 base62 chars of CRC-32>`, 57 characters.
 * 43 base62 characters carry 256 bits, the same as 32 random bytes. Base62 rather than
 * base64url so a double click selects the whole key. The CRC-32 is not a security feature: it
 * lets a route (and secret scanners) reject typos and made-up strings before any hash or KV
 * lookup, as GitHub's token format does.
 *
 * Only the SHA-256 of the whole key is stored; the key is shown once at creation.
 */
import { apiKeyKindEnum, type EnumValue, keyModeEnum } from '../db/schema/enums';
import { sha256Hex } from '../lib/crypto';
import { randomBytes } from './encoding';

export type ApiKeyKind = EnumValue<typeof apiKeyKindEnum>;
/** `test` keys reach only the sandbox; `live` keys only the real providers. */
export type ApiKeyMode = EnumValue<typeof keyModeEnum>;

/** The 8-character prefix of a key of `kind` in `mode` (`sk_test_`). */
export function apiKeyPrefix(kind: ApiKeyKind, mode: ApiKeyMode): string {
  return `${kind === 'secret' ? 'sk' : 'pk'}_${mode}_`;
}

/** Every prefix with the kind and mode it stands for (a Map: no prototype keys). */
const PREFIXES = new Map<string, { kind: ApiKeyKind; mode: ApiKeyMode }>(
  apiKeyKindEnum.enumValues.flatMap((kind) =>
    keyModeEnum.enumValues.map((mode) => [apiKeyPrefix(kind, mode), { kind, mode }] as const),
  ),
);

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_CHARS = 43;
const CHECKSUM_CHARS = 6;
const PREFIX_CHARS = 8;

/** Total length of every key this module generates. */
export const API_KEY_LENGTH = PREFIX_CHARS + RANDOM_CHARS + CHECKSUM_CHARS;

/** How many leading characters of a key are kept in clear for lists (`pk_live_AbC1`). */
export const API_KEY_DISPLAY_PREFIX_LENGTH = 12;

export interface GeneratedApiKey {
  /** The full key. Show it to the operator once; never store or log it. */
  key: string;
  /** First {@link API_KEY_DISPLAY_PREFIX_LENGTH} characters, for lists and audit rows. */
  prefix: string;
  /** Lower-case hex SHA-256 of `key`: the only form that is stored. */
  hash: string;
}

export type ApiKeyParseFailure =
  | 'missing'
  | 'wrong_prefix'
  | 'wrong_length'
  | 'bad_charset'
  | 'bad_checksum';

export type ParsedApiKey =
  | { ok: true; kind: ApiKeyKind; mode: ApiKeyMode; key: string }
  | { ok: false; reason: ApiKeyParseFailure };

/**
 * `n` uniformly distributed base62 characters. Bytes ≥ 248 are rejected so that `byte % 62` has
 * no modulo bias (248 = 4 × 62).
 */
function randomBase62(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b >= 248) continue;
      out += BASE62[b % 62];
      if (out.length === n) break;
    }
  }
  return out;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE) of an ASCII string, as 6 base62 characters (62^6 > 2^32). */
function checksum(ascii: string): string {
  let crc = 0xffffffff;
  for (let i = 0; i < ascii.length; i++) {
    crc = (CRC_TABLE[(crc ^ ascii.charCodeAt(i)) & 0xff] ?? 0) ^ (crc >>> 8);
  }
  let value = (crc ^ 0xffffffff) >>> 0;
  let out = '';
  for (let i = 0; i < CHECKSUM_CHARS; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

/**
 * Creates a new API key of the given kind and mode (live unless told otherwise).
 *
 * @example
 * const { key, prefix, hash } = await generateApiKey('secret', 'test'); // sk_test_…
 * // store { prefix, hash, mode }; return `key` to the caller exactly once
 */
export async function generateApiKey(
  kind: ApiKeyKind,
  mode: ApiKeyMode = 'live',
): Promise<GeneratedApiKey> {
  const body = apiKeyPrefix(kind, mode) + randomBase62(RANDOM_CHARS);
  const key = body + checksum(body);
  return { key, prefix: key.slice(0, API_KEY_DISPLAY_PREFIX_LENGTH), hash: await hashApiKey(key) };
}

/**
 * Checks the shape of a presented key without any lookup, so a request with a malformed key can
 * be answered 401 before touching KV or Postgres. A well-formed key may still be unknown or
 * revoked: only the hash lookup decides that.
 */
export function parseApiKey(raw: unknown): ParsedApiKey {
  if (typeof raw !== 'string' || raw.length === 0) return { ok: false, reason: 'missing' };
  const prefix = PREFIXES.get(raw.slice(0, PREFIX_CHARS));
  if (!prefix) return { ok: false, reason: 'wrong_prefix' };
  if (raw.length !== API_KEY_LENGTH) return { ok: false, reason: 'wrong_length' };
  if (!/^[0-9A-Za-z]+$/.test(raw.slice(PREFIX_CHARS))) return { ok: false, reason: 'bad_charset' };
  const body = raw.slice(0, API_KEY_LENGTH - CHECKSUM_CHARS);
  if (checksum(body) !== raw.slice(API_KEY_LENGTH - CHECKSUM_CHARS)) {
    return { ok: false, reason: 'bad_checksum' };
  }
  return { ok: true, kind: prefix.kind, mode: prefix.mode, key: raw };
}

/** Lower-case hex SHA-256 of a key: what `api_keys.hash` holds and is looked up by. */
export function hashApiKey(key: string): Promise<string> {
  return sha256Hex(key);
}
