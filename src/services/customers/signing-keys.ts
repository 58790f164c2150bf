import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { tenantSigningKeys } from '../../db/schema';
import type { Db } from '../../db/types';
import type { Env } from '../../env';
import {
  currentSigningKey,
  DEFAULT_KEY_OVERLAP_SECONDS,
  generateSigningKey,
  type SigningAlg,
  type SigningKey,
} from '../../security/customer-tokens';
import { bumpConfigVersion } from '../admin/config-changes';
import { type Actor, appendAudit } from '../audit/audit';
import { keyVault, openPrivateJwk, sealPrivateJwk } from './key-vault';
import type { SignerEntry } from './signer';

/** New tenants' keys: P-256 ECDSA, which every JOSE library verifies. */
export const DEFAULT_SIGNING_ALG: SigningAlg = 'ES256';

export type SigningKeyEnv = Pick<Env, 'SIGNING_KEY_SECRET'>;
type KeyRow = typeof tenantSigningKeys.$inferSelect;

/** A key as the admin API and audit rows show it: public facts only. */
export function signingKeyView(k: Pick<KeyRow, 'kid' | 'alg' | 'createdAt' | 'retiredAt'>) {
  return {
    kid: k.kid,
    alg: k.alg,
    createdAt: k.createdAt.toISOString(),
    retiredAt: k.retiredAt?.toISOString() ?? null,
    /** Until when verifiers still find it in the JWKS; null while it signs. */
    publishedUntil: k.retiredAt
      ? new Date(k.retiredAt.getTime() + DEFAULT_KEY_OVERLAP_SECONDS * 1000).toISOString()
      : null,
  };
}

/** Serializes key creation and rotation per tenant (so two first tokens make one key). */
async function lockTenantKeys(tx: Db, tenantId: string) {
  await tx.execute(
    sql`select pg_advisory_xact_lock(hashtextextended(${`signing-keys:${tenantId}`}, 0))`,
  );
}

async function insertKey(
  tx: Db,
  env: SigningKeyEnv,
  tenantId: string,
  alg: SigningAlg,
  now: Date,
): Promise<KeyRow> {
  const key = await generateSigningKey(alg, now.getTime());
  const sealed = await sealPrivateJwk(
    await keyVault(env),
    { tenantId, kid: key.kid },
    key.privateJwk,
  );
  let row: KeyRow | undefined;
  try {
    [row] = await tx
      .insert(tenantSigningKeys)
      .values({
        kid: key.kid,
        tenantId,
        alg,
        publicJwk: key.publicJwk as Record<string, unknown>,
        privateJwkEncrypted: sealed,
        createdAt: now,
      })
      .returning();
  } catch {
    // drizzle's error quotes the query parameters, the sealed key among them: keep it out of logs.
    throw new Error(`signing key insert failed for tenant ${tenantId}`);
  }
  if (!row) throw new Error('signing key insert returned nothing');
  return row;
}

function activeRows(tx: Db, tenantId: string) {
  return tx
    .select()
    .from(tenantSigningKeys)
    .where(and(eq(tenantSigningKeys.tenantId, tenantId), isNull(tenantSigningKeys.retiredAt)))
    .orderBy(desc(tenantSigningKeys.createdAt));
}

async function unseal(env: SigningKeyEnv, row: KeyRow): Promise<SigningKey> {
  const privateJwk = await openPrivateJwk(
    await keyVault(env),
    { tenantId: row.tenantId, kid: row.kid },
    row.privateJwkEncrypted,
  );
  return {
    kid: row.kid,
    alg: row.alg,
    privateJwk,
    publicJwk: row.publicJwk,
    createdAt: row.createdAt.getTime(),
    retiredAt: row.retiredAt?.getTime() ?? null,
  };
}

/**
 * The key that signs the tenant's customer tokens now, with its private part decrypted. A
 * tenant's first key is created here (audited, config version bumped); `created` tells the
 * caller to publish so the edge learns the new public key.
 */
export async function activeSigningKey(
  db: Db,
  env: SigningKeyEnv,
  tenantId: string,
  options: { now?: Date; requestId?: string | null } = {},
): Promise<{
  key: SigningKey;
  created: boolean;
  configVersion: number | null;
  /** The key as stored (sealed), for the edge's signer entry (src/services/customers/signer.ts). */
  sealed: string;
}> {
  const now = options.now ?? new Date();
  const pick = (rows: KeyRow[]) =>
    currentSigningKey(
      rows.map((r) => ({ row: r, createdAt: r.createdAt.getTime(), retiredAt: null })),
      { now: now.getTime() },
    )?.row;
  const existing = pick(await activeRows(db, tenantId));
  if (existing) {
    return {
      key: await unseal(env, existing),
      created: false,
      configVersion: null,
      sealed: existing.privateJwkEncrypted,
    };
  }
  const made = await db.transaction(async (tx) => {
    await lockTenantKeys(tx, tenantId);
    const raced = pick(await activeRows(tx, tenantId));
    if (raced) return { row: raced, created: false, configVersion: null };
    const row = await insertKey(tx, env, tenantId, DEFAULT_SIGNING_ALG, now);
    const configVersion = await bumpConfigVersion(tx, tenantId);
    await appendAudit(tx, {
      tenantId,
      storefrontId: null,
      actor: { type: 'system', id: 'customer-tokens' },
      action: 'signing_key.create',
      targetType: 'signing_key',
      targetId: row.kid,
      before: null,
      after: signingKeyView(row),
      reason: 'first customer token of the tenant',
      requestId: options.requestId ?? null,
    });
    return { row, created: true, configVersion };
  });
  return {
    key: await unseal(env, made.row),
    created: made.created,
    configVersion: made.configVersion,
    sealed: made.row.privateJwkEncrypted,
  };
}

/** The tenant's current key as the edge's signer entry (sealed), or null without one. */
export async function currentSignerEntry(
  db: Db,
  tenantId: string,
  issuer: string,
  now = new Date(),
): Promise<SignerEntry | null> {
  const rows = await activeRows(db, tenantId);
  const row = currentSigningKey(
    rows.map((r) => ({ row: r, createdAt: r.createdAt.getTime(), retiredAt: null })),
    { now: now.getTime() },
  )?.row;
  if (!row) return null;
  return { tenantId, kid: row.kid, alg: row.alg, sealed: row.privateJwkEncrypted, issuer };
}

/**
 * Starts signing with a new key. Every active key is retired now but stays in the published
 * JWKS for {@link DEFAULT_KEY_OVERLAP_SECONDS}, longer than any token lives, so tokens already
 * issued keep verifying. The caller publishes afterwards.
 */
export async function rotateSigningKey(
  db: Db,
  env: SigningKeyEnv,
  tenantId: string,
  actor: Actor,
  reason: string,
  options: { alg?: SigningAlg; now?: Date; requestId?: string | null } = {},
) {
  const now = options.now ?? new Date();
  const alg = options.alg ?? DEFAULT_SIGNING_ALG;
  return db.transaction(async (tx) => {
    await lockTenantKeys(tx, tenantId);
    const retired = await tx
      .update(tenantSigningKeys)
      .set({ retiredAt: now })
      .where(and(eq(tenantSigningKeys.tenantId, tenantId), isNull(tenantSigningKeys.retiredAt)))
      .returning();
    const row = await insertKey(tx, env, tenantId, alg, now);
    const configVersion = await bumpConfigVersion(tx, tenantId);
    await appendAudit(tx, {
      tenantId,
      storefrontId: null,
      actor,
      action: 'signing_key.rotate',
      targetType: 'signing_key',
      targetId: row.kid,
      before: { active: retired.map((r) => r.kid) },
      after: { signingKey: signingKeyView(row), retired: retired.map(signingKeyView) },
      reason,
      requestId: options.requestId ?? null,
    });
    return {
      signingKey: signingKeyView(row),
      retired: retired.map(signingKeyView),
      configVersion,
    };
  });
}

/** The tenant's keys, newest first, public facts only. */
export async function listSigningKeys(db: Db, tenantId: string) {
  const rows = await db
    .select({
      kid: tenantSigningKeys.kid,
      alg: tenantSigningKeys.alg,
      createdAt: tenantSigningKeys.createdAt,
      retiredAt: tenantSigningKeys.retiredAt,
    })
    .from(tenantSigningKeys)
    .where(eq(tenantSigningKeys.tenantId, tenantId))
    .orderBy(desc(tenantSigningKeys.createdAt));
  return rows.map(signingKeyView);
}
