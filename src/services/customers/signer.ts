/**
 * The tenant's current signing key where the edge can reach it: a KV entry `signer/<tenant>`
 * holding the key *sealed* (AES-256-GCM under `SIGNING_KEY_SECRET`, bound to tenant and kid;
 * src/services/customers/key-vault.ts), never in the clear. The entitlements objects sign
 * entitlement tokens with it, so issuing a token after a renewal or on `GET /v1/entitlements`
 * needs no Postgres.
 *
 * Written when a key is made or rotated, and whenever a customer token is issued with a key the
 * entry does not name yet (so tenants whose keys predate this entry get it with their next
 * customer token). Readers cache the opened key for a minute per isolate: after a rotation the
 * old key may sign for that long, and it stays in the JWKS for 48 h, so its tokens verify.
 */
import { z } from 'zod';
import { KV_KEYS } from '../../edge/snapshot';
import type { Env } from '../../env';
import type { SigningAlg, SigningKey } from '../../security/customer-tokens';
import { keyVault, openPrivateJwk } from './key-vault';

const SignerEntrySchema = z.object({
  tenantId: z.string(),
  kid: z.string(),
  alg: z.enum(['EdDSA', 'ES256']),
  /** `v1.<iv>.<ciphertext>` (see sealPrivateJwk). */
  sealed: z.string(),
  /** The `iss` of the tenant's tokens. */
  issuer: z.string(),
});
export type SignerEntry = z.infer<typeof SignerEntrySchema>;

/** What this isolate last wrote or saw in KV, per tenant (`kid` and issuer). */
const known = new Map<string, string>();

/**
 * Makes sure KV names `entry` as the tenant's signer: one KV read per isolate and tenant, a
 * write only when the entry is missing or names another key or issuer.
 */
export async function publishSigner(env: Pick<Env, 'CONFIG_KV'>, entry: SignerEntry) {
  const mark = `${entry.kid}\n${entry.issuer}`;
  if (known.get(entry.tenantId) === mark) return;
  const key = KV_KEYS.signer(entry.tenantId);
  const held = SignerEntrySchema.safeParse(await env.CONFIG_KV.get(key, 'json'));
  if (!held.success || held.data.kid !== entry.kid || held.data.issuer !== entry.issuer) {
    await env.CONFIG_KV.put(key, JSON.stringify(entry));
  }
  if (known.size >= 10_000) known.clear();
  known.set(entry.tenantId, mark);
}

/** A signer opened for use: the private key and who it signs for. */
export interface Signer {
  key: Pick<SigningKey, 'kid' | 'alg' | 'privateJwk'>;
  issuer: string;
}

const SIGNER_CACHE_MS = 60_000;
const opened = new Map<string, { at: number; signer: Signer }>();

/**
 * The tenant's signer from KV, opened; null when the tenant has none yet (no customer token
 * was ever issued) or it does not open (then no entitlement token is issued, never a wrong one).
 */
export async function loadSigner(
  env: Pick<Env, 'CONFIG_KV' | 'SIGNING_KEY_SECRET'>,
  tenantId: string,
  now = Date.now(),
): Promise<Signer | null> {
  const hit = opened.get(tenantId);
  if (hit && now - hit.at < SIGNER_CACHE_MS) return hit.signer;
  let signer: Signer | null = null;
  const parsed = SignerEntrySchema.safeParse(
    await env.CONFIG_KV.get(KV_KEYS.signer(tenantId), 'json'),
  );
  if (parsed.success && parsed.data.tenantId === tenantId) {
    const e = parsed.data;
    try {
      const privateJwk = await openPrivateJwk(
        await keyVault(env),
        { tenantId, kid: e.kid },
        e.sealed,
      );
      signer = { key: { kid: e.kid, alg: e.alg as SigningAlg, privateJwk }, issuer: e.issuer };
    } catch (err) {
      console.error(`tenant ${tenantId}: the signer in KV does not open: ${String(err)}`);
    }
  }
  // Only a signer is kept: a tenant without one yet gets it with its first customer token,
  // which must not wait out a cached miss.
  if (signer) {
    if (opened.size >= 10_000) opened.clear();
    opened.set(tenantId, { at: now, signer });
  }
  return signer;
}

/** Forget the opened signers (tests: a rotation seen at once). */
export function forgetSigners(): void {
  opened.clear();
  known.clear();
}
