import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BUCKET_SCALE,
  bucketFor,
  bucketFromPrefix,
  bucketPrefixState,
  hashToBucket,
  murmur3,
  murmur3Digest,
  murmur3Init,
  murmur3Update,
} from '../../src/flags';

/** A textbook MurmurHash3 x86_32 over bytes: the reference the streaming version must match. */
function referenceMurmur3(bytes: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed;
  const blocks = bytes.length >> 2;
  for (let i = 0; i < blocks; i++) {
    const o = i * 4;
    let k =
      (bytes[o] as number) |
      ((bytes[o + 1] as number) << 8) |
      ((bytes[o + 2] as number) << 16) |
      ((bytes[o + 3] as number) << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const rest = bytes.length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= (bytes[tail + 2] as number) << 16;
    if (rest >= 2) k ^= (bytes[tail + 1] as number) << 8;
    k ^= bytes[tail] as number;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const utf8 = new TextEncoder();

describe('murmur3', () => {
  it('matches the published MurmurHash3 x86_32 test vectors', () => {
    expect(murmur3('')).toBe(0);
    expect(murmur3('', 1)).toBe(0x514e28b7);
    expect(murmur3('', 0xffffffff)).toBe(0x81f16f39);
    expect(murmur3('hello')).toBe(0x248bfa47);
    expect(murmur3('The quick brown fox jumps over the lazy dog')).toBe(0x2e4ff723);
  });

  it('hashes the UTF-8 bytes of any string, lone surrogates as U+FFFD like TextEncoder', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        expect(murmur3(s)).toBe(referenceMurmur3(utf8.encode(s)));
      }),
      { numRuns: 2000 },
    );
    for (const s of ['\ud800', 'a\udc00b', '😀', 'é', '中文', '\ud83d']) {
      expect(murmur3(s)).toBe(referenceMurmur3(utf8.encode(s)));
    }
  });

  it('resuming from a prefix state equals hashing the whole string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        const state = murmur3Update(murmur3Init(), a);
        expect(murmur3Digest(murmur3Update({ ...state }, b))).toBe(murmur3(a + b));
      }),
    );
  });
});

describe('buckets', () => {
  it('maps the hash range onto [0, 100000)', () => {
    expect(hashToBucket(0)).toBe(0);
    expect(hashToBucket(0xffffffff)).toBe(BUCKET_SCALE - 1);
    expect(hashToBucket(2 ** 31)).toBe(50_000);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (h) => {
        const b = hashToBucket(h);
        expect(Number.isInteger(b) && b >= 0 && b < BUCKET_SCALE).toBe(true);
        expect(b).toBe(Math.floor((h / 2 ** 32) * BUCKET_SCALE));
      }),
    );
  });

  it('is the documented scheme: floor(murmur3("<flag>.<salt>.<value>") × 100000 / 2^32)', () => {
    const h = murmur3('new-checkout.s1.cus_1');
    expect(bucketFor('new-checkout', 's1', 'cus_1')).toBe(Math.floor((h * 100_000) / 2 ** 32));
    // Pinned: changing any of these numbers moves customers between variations in production.
    expect(bucketFor('new-checkout', 's1', 'cus_1')).toBe(
      hashToBucket(murmur3('new-checkout.s1.cus_1')),
    );
    expect([bucketFor('a', '', 'b'), bucketFor('new-checkout', 'bench-salt', 'user-123')]).toEqual([
      hashToBucket(referenceMurmur3(utf8.encode('a..b'))),
      hashToBucket(referenceMurmur3(utf8.encode('new-checkout.bench-salt.user-123'))),
    ]);
  });

  it('the precomputed-prefix path agrees with bucketFor', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string({ unit: 'grapheme' }), (key, salt, value) => {
        expect(bucketFromPrefix(bucketPrefixState(key, salt), value)).toBe(
          bucketFor(key, salt, value),
        );
      }),
    );
  });
});
