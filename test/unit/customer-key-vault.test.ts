import { describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/security/customer-tokens';
import {
  deriveKeyVault,
  keyVault,
  openPrivateJwk,
  sealPrivateJwk,
} from '../../src/services/customers/key-vault';

const SECRET = 'unit-test-signing-key-secret-0123456789abcdef';
const binding = { tenantId: 'ten_A', kid: 'kid-1' };

describe('signing key vault', () => {
  it('round-trips a private JWK and never shows it in the sealed text', async () => {
    const vault = await deriveKeyVault(SECRET);
    const key = await generateSigningKey('ES256');
    const sealed = await sealPrivateJwk(vault, binding, key.privateJwk);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain(String(key.privateJwk.d));
    expect(await openPrivateJwk(vault, binding, sealed)).toEqual(key.privateJwk);
    // a fresh IV each time
    expect(await sealPrivateJwk(vault, binding, key.privateJwk)).not.toBe(sealed);
  });

  it('refuses another tenant or kid, another secret, and any tampering, without echoing it', async () => {
    const vault = await deriveKeyVault(SECRET);
    const key = await generateSigningKey('EdDSA');
    const sealed = await sealPrivateJwk(vault, binding, key.privateJwk);
    const attempts: [Parameters<typeof openPrivateJwk>[1], string, typeof vault][] = [
      [{ ...binding, tenantId: 'ten_B' }, sealed, vault],
      [{ ...binding, kid: 'kid-2' }, sealed, vault],
      [binding, sealed, await deriveKeyVault(`${SECRET}-other`)],
      [binding, `${sealed.slice(0, -2)}AA`, vault],
      [binding, sealed.replace(/^v1/, 'v2'), vault],
      [binding, `${sealed}.x`, vault],
      [binding, 'v1..', vault],
    ];
    for (const [b, text, v] of attempts) {
      const err = await openPrivateJwk(v, b, text).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/could not be decrypted/);
      expect(err?.message).not.toContain(String(key.privateJwk.d));
    }
  });

  it('requires a secret of at least 32 bytes', async () => {
    await expect(deriveKeyVault('too-short')).rejects.toThrow(/at least 32 bytes/);
    await expect(keyVault({})).rejects.toThrow(/not configured/);
    await expect(keyVault({ SIGNING_KEY_SECRET: 'short' })).rejects.toThrow(/at least 32/);
    // a bad secret is not cached for the next (good) one
    await expect(keyVault({ SIGNING_KEY_SECRET: SECRET })).resolves.toBeDefined();
  });
});
