/**
 * Encryption at rest of the tenants' private signing keys: AES-256-GCM under a key derived with
 * HKDF-SHA-256 from `SIGNING_KEY_SECRET`. The additional data binds each ciphertext to its
 * tenant and kid, so a sealed key copied onto another tenant's row does not open. WebCrypto
 * only; errors never carry key material.
 */
import type { JWK } from 'jose';
import { fromBase64Url, randomBytes, toBase64Url, utf8 } from '../../security/encoding';

/** A secret shorter than this (in UTF-8 bytes) is refused. */
export const MIN_SIGNING_KEY_SECRET_BYTES = 32;

const HKDF_INFO = 'azotte/customer-token-signing-keys/aes-256-gcm/v1';
const VERSION = 'v1';
const IV_BYTES = 12;

/** The derived encryption key; opaque to callers. */
export interface KeyVault {
  readonly key: CryptoKey;
}

/** Derives the vault key from the server secret (a string is taken as UTF-8). */
export async function deriveKeyVault(secret: string): Promise<KeyVault> {
  const bytes = utf8(secret);
  if (bytes.length < MIN_SIGNING_KEY_SECRET_BYTES) {
    throw new RangeError(
      `SIGNING_KEY_SECRET must be at least ${MIN_SIGNING_KEY_SECRET_BYTES} bytes`,
    );
  }
  const base = await crypto.subtle.importKey('raw', bytes, 'HKDF', false, ['deriveKey']);
  const key = await crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: utf8(HKDF_INFO) },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
  return { key };
}

let cached: { secret: string; vault: Promise<KeyVault> } | undefined;

/** The vault for `SIGNING_KEY_SECRET`, derived once per isolate. */
export function keyVault(env: { SIGNING_KEY_SECRET?: string }): Promise<KeyVault> {
  const secret = env.SIGNING_KEY_SECRET;
  if (!secret) return Promise.reject(new Error('SIGNING_KEY_SECRET is not configured'));
  if (cached?.secret !== secret) {
    const vault = deriveKeyVault(secret);
    // A bad secret must not stay cached as a rejected promise for the next one.
    vault.catch(() => {
      if (cached?.vault === vault) cached = undefined;
    });
    cached = { secret, vault };
  }
  return cached.vault;
}

/** What a sealed key belongs to; part of the authenticated data. */
export interface KeyBinding {
  tenantId: string;
  kid: string;
}

function additionalData(binding: KeyBinding): Uint8Array<ArrayBuffer> {
  return utf8(`${VERSION}\n${binding.tenantId}\n${binding.kid}`);
}

/** Encrypts a private JWK: `v1.<iv>.<ciphertext+tag>`, base64url. */
export async function sealPrivateJwk(
  vault: KeyVault,
  binding: KeyBinding,
  jwk: JWK,
): Promise<string> {
  const iv = randomBytes(IV_BYTES);
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: additionalData(binding) },
    vault.key,
    utf8(JSON.stringify(jwk)),
  );
  return `${VERSION}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ciphertext))}`;
}

/**
 * Decrypts a sealed private JWK. Throws a generic error for anything that does not open
 * (another secret, another tenant or kid, a tampered or truncated value).
 */
export async function openPrivateJwk(
  vault: KeyVault,
  binding: KeyBinding,
  sealed: string,
): Promise<JWK> {
  const fail = () => new Error(`signing key ${binding.kid} could not be decrypted`);
  const [version, ivText, dataText, ...rest] = sealed.split('.');
  if (version !== VERSION || rest.length > 0 || !ivText || !dataText) throw fail();
  const iv = fromBase64Url(ivText);
  const data = fromBase64Url(dataText);
  if (!iv || iv.length !== IV_BYTES || !data) throw fail();
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv, additionalData: additionalData(binding) },
      vault.key,
      data,
    );
  } catch {
    throw fail();
  }
  try {
    const jwk = JSON.parse(new TextDecoder().decode(plain)) as unknown;
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw fail();
    return jwk as JWK;
  } catch {
    throw fail();
  }
}
