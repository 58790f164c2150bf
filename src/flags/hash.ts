/**
 * Deterministic bucketing for percentage rollouts and experiments.
 *
 * Scheme (quoted by the README, change it only with a migration plan: every customer would move):
 *
 *   bucket = floor(murmur3_x86_32(utf8(`${flagKey}.${salt}.${bucketValue}`), seed 0) × 100000 / 2^32)
 *
 * - `murmur3_x86_32` is Austin Appleby's MurmurHash3, 32-bit x86 variant, seed 0, read as an
 *   unsigned 32-bit integer, over the UTF-8 bytes of the string (lone surrogates encode as
 *   U+FFFD, as `TextEncoder` does).
 * - `flagKey` and `salt` are the flag's own (`salt` defaults to the empty string); `bucketValue`
 *   is the context attribute named by the rollout's `bucketBy` (default: the targeting key),
 *   converted with `String()`.
 * - The bucket is an integer in [0, 100000): rollout weights are in the same unit (basis points
 *   of 100000), and the variation served is the first rollout entry, in the order listed, whose
 *   cumulative weight exceeds the bucket.
 *
 * So a customer's bucket for a flag depends only on that flag's key, that flag's salt and the
 * customer's bucketing value: adding, editing or removing other flags never moves it, and every
 * edge location (or SDK) computes the same bucket. Changing the salt reshuffles one flag.
 *
 * Synchronous on purpose: WebCrypto's digest is async, and a promise per evaluation would cost
 * more than the whole evaluation.
 */

/** Rollout weights and buckets are in units of 1/100000 (a thousandth of a percent). */
export const BUCKET_SCALE = 100_000;

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const TWO_POW_32 = 4294967296;

/**
 * Running MurmurHash3 state. A rollout hashes `${flagKey}.${salt}.` once at compile time and
 * resumes from that state for each customer, so the hot path neither concatenates nor re-hashes
 * the prefix.
 */
export interface Murmur3State {
  /** The hash so far (over the complete 4-byte blocks). */
  h: number;
  /** Bytes of the incomplete block, little-endian. */
  k: number;
  /** How many bytes `k` holds (0–3). */
  n: number;
  /** Total bytes fed. */
  len: number;
}

/** A fresh state. */
export function murmur3Init(seed = 0): Murmur3State {
  return { h: seed | 0, k: 0, n: 0, len: 0 };
}

function mixBlock(h: number, block: number): number {
  let k = Math.imul(block, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Feeds the UTF-8 encoding of `str` into `s` (mutates it), without allocating a byte array. */
export function murmur3Update(s: Murmur3State, str: string): Murmur3State {
  // Locals, not properties, in the loop: this is the hot path of every rollout.
  let h = s.h;
  let k = s.k;
  let n = s.n;
  let len = s.len;
  const length = str.length;
  for (let i = 0; i < length; i++) {
    const c = str.charCodeAt(i);
    if (c < 0x80) {
      k |= c << (n << 3);
      len++;
      if (++n === 4) {
        h = mixBlock(h, k);
        k = 0;
        n = 0;
      }
      continue;
    }
    // Up to four UTF-8 bytes packed little-endian in `bytes`.
    let bytes: number;
    let count: number;
    if (c < 0x800) {
      bytes = 0xc0 | (c >> 6) | ((0x80 | (c & 0x3f)) << 8);
      count = 2;
    } else if (c < 0xd800 || c >= 0xe000) {
      bytes = 0xe0 | (c >> 12) | ((0x80 | ((c >> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
      count = 3;
    } else {
      const d = c < 0xdc00 && i + 1 < length ? str.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d < 0xe000) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        bytes =
          0xf0 |
          (cp >> 18) |
          ((0x80 | ((cp >> 12) & 0x3f)) << 8) |
          ((0x80 | ((cp >> 6) & 0x3f)) << 16) |
          ((0x80 | (cp & 0x3f)) << 24);
        count = 4;
        i++;
      } else {
        // A lone surrogate is not encodable; TextEncoder writes U+FFFD (EF BF BD), and so do we.
        bytes = 0xef | (0xbf << 8) | (0xbd << 16);
        count = 3;
      }
    }
    len += count;
    for (let j = 0; j < count; j++) {
      k |= ((bytes >>> (j << 3)) & 0xff) << (n << 3);
      if (++n === 4) {
        h = mixBlock(h, k);
        k = 0;
        n = 0;
      }
    }
  }
  s.h = h;
  s.k = k;
  s.n = n;
  s.len = len;
  return s;
}

/** Finishes a state into the unsigned 32-bit hash. Does not modify `s`. */
export function murmur3Digest(s: Readonly<Murmur3State>): number {
  let h = s.h;
  if (s.n > 0) {
    let k = Math.imul(s.k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= s.len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3 x86_32 of the UTF-8 bytes of `str`, as an unsigned 32-bit integer. */
export function murmur3(str: string, seed = 0): number {
  return murmur3Digest(murmur3Update(murmur3Init(seed), str));
}

/** Maps an unsigned 32-bit hash to a bucket in [0, 100000). Exact in doubles (h × 10^5 < 2^53). */
export function hashToBucket(hash: number): number {
  return Math.floor((hash * BUCKET_SCALE) / TWO_POW_32);
}

/**
 * The bucket in [0, 100000) of `bucketValue` for a flag: see the scheme at the top of this file.
 * `bucketFor('new-checkout', 's1', 'cus_1')` hashes the string `new-checkout.s1.cus_1`.
 */
export function bucketFor(flagKey: string, salt: string, bucketValue: string): number {
  return hashToBucket(murmur3(`${flagKey}.${salt}.${bucketValue}`));
}

/** The state after hashing `${flagKey}.${salt}.`, to resume per bucketing value. */
export function bucketPrefixState(flagKey: string, salt: string): Readonly<Murmur3State> {
  return murmur3Update(murmur3Init(), `${flagKey}.${salt}.`);
}

// One scratch state reused by every hot-path call: evaluation is synchronous and single-threaded
// per isolate, so it is never shared between two calls in flight.
const scratch = murmur3Init();

/** `bucketFor` resumed from a precomputed `bucketPrefixState(flagKey, salt)`; allocation free. */
export function bucketFromPrefix(prefix: Readonly<Murmur3State>, bucketValue: string): number {
  scratch.h = prefix.h;
  scratch.k = prefix.k;
  scratch.n = prefix.n;
  scratch.len = prefix.len;
  return hashToBucket(murmur3Digest(murmur3Update(scratch, bucketValue)));
}
