import { describe, expect, it } from 'vitest';
import {
  API_KEY_DISPLAY_PREFIX_LENGTH,
  API_KEY_LENGTH,
  generateApiKey,
  hashApiKey,
  parseApiKey,
} from '../../src/security/api-keys';

async function sha256HexOf(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

describe('generateApiKey', () => {
  it.each([
    ['publishable', 'live', 'pk_live_'],
    ['secret', 'live', 'sk_live_'],
    ['publishable', 'test', 'pk_test_'],
    ['secret', 'test', 'sk_test_'],
  ] as const)(
    '%s %s keys start with %s and parse back to their kind and mode',
    async (kind, mode, start) => {
      const { key, prefix, hash } = await generateApiKey(kind, mode);
      expect(key.startsWith(start)).toBe(true);
      expect(key).toHaveLength(API_KEY_LENGTH);
      expect(key).toMatch(/^[ps]k_(live|test)_[0-9A-Za-z]+$/);
      expect(prefix).toBe(key.slice(0, API_KEY_DISPLAY_PREFIX_LENGTH));
      expect(prefix).toHaveLength(12);
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      expect(parseApiKey(key)).toEqual({ ok: true, kind, mode, key });
    },
  );

  it('makes live keys unless told otherwise', async () => {
    const { key } = await generateApiKey('publishable');
    expect(key.startsWith('pk_live_')).toBe(true);
    expect(parseApiKey(key)).toMatchObject({ ok: true, mode: 'live' });
  });

  it('stores only the lower-hex SHA-256 of the whole key', async () => {
    const { key, hash } = await generateApiKey('secret');
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(await sha256HexOf(key));
    expect(await hashApiKey(key)).toBe(hash);
    expect(hash).not.toContain(key.slice(8, 20));
  });

  it('never repeats and uses the whole base62 alphabet about evenly', async () => {
    const keys = await Promise.all(Array.from({ length: 400 }, () => generateApiKey('secret')));
    expect(new Set(keys.map((k) => k.key)).size).toBe(keys.length);
    const counts = new Map<string, number>();
    for (const { key } of keys) {
      for (const ch of key.slice(8, 51)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    expect(counts.size).toBe(62);
    // 400 keys × 43 chars / 62 ≈ 277 per character; a biased generator would sit far off.
    for (const n of counts.values()) expect(n).toBeGreaterThan(180);
    for (const n of counts.values()) expect(n).toBeLessThan(380);
  });
});

describe('parseApiKey', () => {
  it('names the reason a key is malformed, without any lookup', async () => {
    const { key } = await generateApiKey('publishable');
    const body = key.slice(8);
    const cases: [unknown, string][] = [
      [undefined, 'missing'],
      [null, 'missing'],
      [42, 'missing'],
      ['', 'missing'],
      [`rk_live_${body}`, 'wrong_prefix'],
      [`pk_demo_${body}`, 'wrong_prefix'],
      [`pk_tests${body}`, 'wrong_prefix'],
      [`PK_LIVE_${body}`, 'wrong_prefix'],
      [`PK_TEST_${body}`, 'wrong_prefix'],
      [`toString${body}`, 'wrong_prefix'],
      [`Bearer ${key}`, 'wrong_prefix'],
      [`${key}A`, 'wrong_length'],
      [key.slice(0, -1), 'wrong_length'],
      ['pk_live_', 'wrong_length'],
      ['sk_test_', 'wrong_length'],
      [`${key.slice(0, 20)}-${key.slice(21)}`, 'bad_charset'],
      [`${key.slice(0, 20)}_${key.slice(21)}`, 'bad_charset'],
      [`${key.slice(0, 20)} ${key.slice(21)}`, 'bad_charset'],
      [`${key.slice(0, 20)}é${key.slice(21)}`, 'bad_charset'],
    ];
    for (const [raw, reason] of cases) {
      expect(parseApiKey(raw), String(raw)).toEqual({ ok: false, reason });
    }
  });

  it('catches a changed character or a swapped kind or mode through the checksum', async () => {
    const { key } = await generateApiKey('secret');
    const i = 20;
    const swapped = key.slice(0, i) + (key[i] === 'a' ? 'b' : 'a') + key.slice(i + 1);
    expect(parseApiKey(swapped)).toEqual({ ok: false, reason: 'bad_checksum' });
    expect(parseApiKey(`pk${key.slice(2)}`)).toEqual({ ok: false, reason: 'bad_checksum' });
    const made_up = `sk_live_${'A'.repeat(API_KEY_LENGTH - 8)}`;
    expect(parseApiKey(made_up)).toEqual({ ok: false, reason: 'bad_checksum' });
    // A live key cannot be turned into a test key (or back) by editing its prefix.
    const test = await generateApiKey('secret', 'test');
    expect(parseApiKey(`sk_live_${test.key.slice(8)}`)).toEqual({
      ok: false,
      reason: 'bad_checksum',
    });
    expect(parseApiKey(`sk_test_${key.slice(8)}`)).toEqual({ ok: false, reason: 'bad_checksum' });
    expect(parseApiKey(`pk_test_${'A'.repeat(API_KEY_LENGTH - 8)}`)).toEqual({
      ok: false,
      reason: 'bad_checksum',
    });
  });
});
