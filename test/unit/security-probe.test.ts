import { describe, expect, it } from 'vitest';
import * as jose from 'jose';

async function derive(iter: number) {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode('pw'), 'PBKDF2', false, ['deriveBits']);
  return crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(16), iterations: iter }, key, 256);
}

describe('probe', () => {
  it('pbkdf2', async () => {
    for (const n of [100_000, 100_001, 200_000, 600_000]) {
      try { const t = Date.now(); await derive(n); console.log(n, 'ok', Date.now() - t, 'ms'); }
      catch (e) { console.log(n, 'ERR', (e as Error).name, (e as Error).message); }
    }
  });
  it('jose', async () => {
    for (const alg of ['EdDSA', 'ES256', 'Ed25519']) {
      try {
        const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
        const jwk = await jose.exportJWK(privateKey);
        console.log(alg, JSON.stringify(await jose.exportJWK(publicKey)), Object.keys(jwk));
      } catch (e) { console.log(alg, 'ERR', (e as Error).message); }
    }
    expect(1).toBe(1);
  });
});
