/**
 * The pipeline's authentication step for storefront API keys (src/edge/pipeline.ts). Verified
 * at the edge by the key's hash (src/edge/key-store.ts); no Postgres.
 */
import type { EdgeContext, Env } from '../env';
import { ApiError } from '../errors';
import { apiKeyPrefix, hashApiKey, parseApiKey } from '../security/api-keys';
import { apiKeyStore } from './key-store';
import type { EdgeApiKey, EdgeKeyEntry } from './snapshot';

const unauthenticated = (detail: string) =>
  new ApiError('unauthenticated', detail, {
    headers: { 'www-authenticate': 'Bearer realm="azotte-storefront"' },
  });

/**
 * SHA-256 of recently presented keys, so a busy key is hashed once per isolate, not once per
 * request. Bounded; entries are keys that were already in this isolate's memory anyway.
 */
const keyHashes = new Map<string, string>();

async function hashOf(key: string): Promise<string> {
  let hash = keyHashes.get(key);
  if (hash === undefined) {
    hash = await hashApiKey(key);
    if (keyHashes.size >= 1024) keyHashes.clear();
    keyHashes.set(key, hash);
  }
  return hash;
}

/** The key from `Authorization: Bearer <key>` or `X-Api-Key`. */
function presentedKey(headers: Headers): string | undefined {
  const auth = headers.get('authorization');
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  return headers.get('x-api-key')?.trim() ?? undefined;
}

/**
 * Storefront API key check, in Unkey's order: well-formed → exists (by its hash: the hot
 * config's recent keys, else this isolate's copy, else KV; a key of another storefront or
 * tenant simply does not exist here) → not revoked (the hot config's list, whatever KV or a
 * cache says) → not expired → allowed kind → allowed channel (the storefront's, never a client
 * header). A test key passes the same checks as a live one; its `mode` goes to the route, which
 * decides what it may reach (src/edge/key-mode.ts). Without a promise when the presented key was seen before in this isolate (the
 * usual case).
 */
export function authenticateKey(
  edge: EdgeContext,
  headers: Headers,
  allowed: 'publishable' | 'secret',
  env: Env,
  ctx: ExecutionContext,
): EdgeApiKey | Promise<EdgeApiKey> {
  const raw = presentedKey(headers);
  if (!raw) throw missingKey();
  // A key hashed before in this isolate was well-formed then; skip the format check.
  const hash = keyHashes.get(raw);
  if (hash !== undefined) return findKey(edge, hash, allowed, env, ctx);
  const parsed = parseApiKey(raw);
  if (!parsed.ok) {
    throw unauthenticated(`The API key is malformed (${parsed.reason.replace('_', ' ')}).`);
  }
  return hashOf(parsed.key).then((h) => findKey(edge, h, allowed, env, ctx));
}

const missingKey = () =>
  unauthenticated(
    'This endpoint needs the storefront’s API key: `Authorization: Bearer pk_test_…` or `pk_live_…` (or `X-Api-Key`).',
  );

function findKey(
  edge: EdgeContext,
  hash: string,
  allowed: 'publishable' | 'secret',
  env: Env,
  ctx: ExecutionContext,
): EdgeApiKey | Promise<EdgeApiKey> {
  const recent = edge.keys.recent.get(hash);
  if (recent) return checkKey(edge, recent, allowed);
  const found = apiKeyStore.lookup(hash, env.CONFIG_KV, ctx);
  if (found instanceof Promise) return found.then((k) => checkKey(edge, k, allowed));
  return checkKey(edge, found, allowed);
}

function checkKey(
  edge: EdgeContext,
  key: EdgeKeyEntry | null,
  allowed: 'publishable' | 'secret',
): EdgeApiKey {
  if (
    !key ||
    key.storefrontId !== edge.resolution.storefrontId ||
    key.tenantId !== edge.resolution.tenantId ||
    edge.keys.revoked.has(key.id)
  ) {
    throw unauthenticated(
      'The API key is not valid for this storefront (unknown, revoked or another storefront’s).',
    );
  }
  if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now()) {
    throw unauthenticated('The API key has expired. Rotate it in the console.');
  }
  if (allowed === 'secret' && key.kind !== 'secret') {
    throw new ApiError(
      'forbidden',
      `This endpoint needs a secret key (${apiKeyPrefix('secret', key.mode)}…); publishable keys cannot call it.`,
    );
  }
  // The storefront's own channel, from its published config: `X-Client-Channel` and the user
  // agent are the client's word and may choose the response shape, never widen a key.
  const channel = edge.snapshot.storefront.channel;
  if (key.channels.length > 0 && !key.channels.includes(channel)) {
    throw new ApiError('forbidden', `This API key is not allowed on the ${channel} channel.`);
  }
  return key;
}
