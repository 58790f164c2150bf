import { describe, expect, it } from 'vitest';
import {
  hashPassword,
  needsRehash,
  PBKDF2_ITERATIONS,
  PBKDF2_MAX_ITERATIONS,
  validatePasswordStrength,
  verifyPassword,
} from '../../src/security/passwords';

async function pbkdf2(iterations: number): Promise<ArrayBuffer> {
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode('pw'),
    'PBKDF2',
    false,
    ['deriveBits'],
  );
  return crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(16), iterations },
    key,
    256,
  );
}

function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

describe('PBKDF2 iteration limit in workerd', () => {
  it('uses the highest count Cloudflare accepts, and that count works here', async () => {
    expect(PBKDF2_MAX_ITERATIONS).toBe(100_000);
    expect(PBKDF2_ITERATIONS).toBe(PBKDF2_MAX_ITERATIONS);
    expect((await pbkdf2(PBKDF2_ITERATIONS)).byteLength).toBe(32);
  });

  it('above the limit: refused the way production refuses it, or (local workerd) allowed', async () => {
    // Production Workers throw NotSupportedError "iteration counts above 100000 are not
    // supported"; local workerd has dropped that default cap (cloudflare/workerd#1346), so this
    // records which runtime the tests ran on instead of asserting one answer.
    const outcome = await pbkdf2(PBKDF2_MAX_ITERATIONS + 1).then(
      () => 'allowed',
      (err: Error) => `${err.name}: ${err.message}`,
    );
    if (outcome !== 'allowed') {
      expect(outcome).toMatch(/NotSupportedError: .*iteration counts above 100000/);
    }
  });
});

describe('hashPassword / verifyPassword', () => {
  it('uses the documented format and verifies only the right password', async () => {
    const stored = await hashPassword('correct horse battery staple');
    const [scheme, iterations, salt, hash, ...rest] = stored.split('$');
    expect(scheme).toBe('pbkdf2-sha256');
    expect(Number(iterations)).toBe(PBKDF2_ITERATIONS);
    expect(salt).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rest).toEqual([]);
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', stored)).toBe(false);
    expect(await verifyPassword('Correct horse battery staple', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([
      hashPassword('same password 1'),
      hashPassword('same password 1'),
    ]);
    expect(a).not.toBe(b);
  });

  it('normalizes Unicode, so composed and decomposed accents are the same password', async () => {
    const stored = await hashPassword('caf\u00e9-au-lait-42');
    expect(await verifyPassword('cafe\u0301-au-lait-42', stored)).toBe(true);
  });

  it('matches an independent PBKDF2 computation', async () => {
    const salt = new Uint8Array(16).fill(7);
    const material = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode('independent check 1'),
      'PBKDF2',
      false,
      ['deriveBits'],
    );
    const bits = await crypto.subtle.deriveBits(
      { name: 'PBKDF2', hash: 'SHA-256', salt, iterations: 5000 },
      material,
      256,
    );
    const stored = `pbkdf2-sha256$5000$${b64url(salt)}$${b64url(new Uint8Array(bits))}`;
    expect(await verifyPassword('independent check 1', stored)).toBe(true);
    expect(needsRehash(stored)).toBe(true);
  });

  it('answers false, without throwing, for malformed or hostile stored hashes', async () => {
    const good = await hashPassword('some good password 9');
    const [, , salt, hash] = good.split('$');
    const bad = [
      '',
      'plaintext',
      `bcrypt$10$${salt}$${hash}`,
      `pbkdf2-sha256$${PBKDF2_ITERATIONS}$${salt}`,
      `pbkdf2-sha256$${PBKDF2_ITERATIONS}$${salt}$${hash}$extra`,
      `pbkdf2-sha256$10000000$${salt}$${hash}`, // DoS: far above the cap
      `pbkdf2-sha256$0$${salt}$${hash}`,
      `pbkdf2-sha256$-1$${salt}$${hash}`,
      `pbkdf2-sha256$1e5$${salt}$${hash}`,
      `pbkdf2-sha256$0100000$${salt}$${hash}`,
      `pbkdf2-sha256$${PBKDF2_ITERATIONS}$${salt}$${hash}==`,
      `pbkdf2-sha256$${PBKDF2_ITERATIONS}$${salt}$${hash?.slice(0, -2)}`,
      `pbkdf2-sha256$${PBKDF2_ITERATIONS}$AAAA$${hash}`,
    ];
    for (const stored of bad) {
      expect(await verifyPassword('some good password 9', stored), stored).toBe(false);
      expect(needsRehash(stored), stored).toBe(true);
    }
  });

  it('does the same work for an unknown account and answers false', async () => {
    const stored = await hashPassword('timing equaliser 1');
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) await verifyPassword('timing equaliser 1', stored);
    const known = performance.now() - t0;
    const t1 = performance.now();
    for (let i = 0; i < 3; i++)
      expect(await verifyPassword('timing equaliser 1', null)).toBe(false);
    const unknown = performance.now() - t1;
    // workerd freezes the clock during pure CPU work, so only assert when time is observable.
    if (known > 0) expect(unknown).toBeGreaterThan(known / 4);
  });

  it('refuses to hash an empty or oversized password', async () => {
    await expect(hashPassword('')).rejects.toThrow(RangeError);
    await expect(hashPassword('x'.repeat(257))).rejects.toThrow(RangeError);
    expect(await verifyPassword('x'.repeat(100_000), await hashPassword('short one 12345'))).toBe(
      false,
    );
  });
});

describe('needsRehash', () => {
  it('is false for a current hash', async () => {
    expect(needsRehash(await hashPassword('a current password 1'))).toBe(false);
  });
});

describe('validatePasswordStrength', () => {
  it.each([
    ['correct horse battery staple', []],
    ['Tr0ub4dor&3xyz', []],
    ['hunter2', ['Use at least 12 characters.']],
    ['aaaaaaaaaaaaaaaa', ['Do not repeat a single character.']],
    [
      'abcdefghijklmnop',
      ['Mix at least two kinds of characters: lower case, upper case, digits, symbols.'],
    ],
    [
      '123456789012345',
      [
        'Mix at least two kinds of characters: lower case, upper case, digits, symbols.',
        'Avoid common passwords and words like "password".',
      ],
    ],
    ['MyPassword2024!', ['Avoid common passwords and words like "password".']],
    ['', ['Use at least 12 characters.']],
  ])('%j → %j', (password, expected) => {
    expect(validatePasswordStrength(password)).toEqual(expected);
  });

  it('counts characters, not UTF-16 units', () => {
    expect(validatePasswordStrength('😀😀😀😀😀😀a')).toContain('Use at least 12 characters.');
  });

  it('rejects too long passwords', () => {
    expect(validatePasswordStrength(`Ab1${'x'.repeat(300)}`)).toContain(
      'Use at most 256 characters.',
    );
  });

  it('rejects the e-mail local part and the name', () => {
    const context = { email: 'jane.doe@example.com', name: 'Jane Doe-Smith' };
    expect(validatePasswordStrength('jane.doe-rocks-2024', context)).toContain(
      'Do not use your e-mail address in the password.',
    );
    expect(validatePasswordStrength('Smithsonian-visit-99', context)).toContain(
      'Do not use your name in the password.',
    );
    expect(validatePasswordStrength('unrelated-words-42', context)).toEqual([]);
  });
});
