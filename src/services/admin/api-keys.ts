import { and, desc, eq } from 'drizzle-orm';
import { apiKeys } from '../../db/schema';
import type { Channel, KeyMode } from '../../db/schema/enums';
import type { Db } from '../../db/types';
import { ConflictError, NotFoundError } from '../../domain/errors';
import { newId } from '../../lib/ids';
import { generateApiKey } from '../../security/api-keys';
import { type Actor, appendAudit } from '../audit/audit';
import { bumpConfigVersion } from './config-changes';

export interface KeyChangeContext {
  tenantId: string;
  storefrontId: string;
  actor: Actor;
  requestId: string | null;
  reason: string | null;
}

/** A key as lists and audit rows show it: never the key, never the hash. */
export function apiKeyView(k: typeof apiKeys.$inferSelect) {
  return {
    id: k.id,
    storefrontId: k.storefrontId,
    kind: k.kind,
    mode: k.mode,
    name: k.name,
    prefix: k.prefix,
    channels: k.channels,
    rateLimit: k.rateLimit,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    rotatedFrom: k.rotatedFrom,
    createdAt: k.createdAt.toISOString(),
  };
}

export interface NewKeyInput {
  kind: 'publishable' | 'secret';
  /** `test` keys reach only the sandbox; default `live`. */
  mode?: KeyMode;
  name: string;
  channels: Channel[];
  expiresAt: Date | null;
  rateLimit: number | null;
}

async function insertKey(
  tx: Db,
  ctx: KeyChangeContext,
  input: NewKeyInput,
  rotatedFrom: string | null,
) {
  const mode = input.mode ?? 'live';
  const generated = await generateApiKey(input.kind, mode);
  const [row] = await tx
    .insert(apiKeys)
    .values({
      id: newId('key'),
      tenantId: ctx.tenantId,
      storefrontId: ctx.storefrontId,
      kind: input.kind,
      mode,
      name: input.name,
      prefix: generated.prefix,
      hash: generated.hash,
      channels: input.channels,
      expiresAt: input.expiresAt,
      rateLimit: input.rateLimit,
      rotatedFrom,
    })
    .returning();
  if (!row) throw new Error('api key insert returned nothing');
  return { row, secret: generated.key };
}

/** Creates a key; the returned `secret` is the only time the key exists outside the caller. */
export async function createApiKey(db: Db, ctx: KeyChangeContext, input: NewKeyInput) {
  return db.transaction(async (tx) => {
    const { row, secret } = await insertKey(tx, ctx, input, null);
    const configVersion = await bumpConfigVersion(tx, ctx.tenantId);
    await appendAudit(tx, {
      tenantId: ctx.tenantId,
      storefrontId: ctx.storefrontId,
      actor: ctx.actor,
      action: 'apikey.create',
      targetType: 'api_key',
      targetId: row.id,
      before: null,
      after: apiKeyView(row),
      reason: ctx.reason,
      requestId: ctx.requestId,
    });
    return { apiKey: apiKeyView(row), secret, configVersion };
  });
}

async function lockKey(tx: Db, ctx: KeyChangeContext, keyId: string) {
  const [k] = await tx
    .select()
    .from(apiKeys)
    .where(
      and(
        eq(apiKeys.id, keyId),
        eq(apiKeys.storefrontId, ctx.storefrontId),
        eq(apiKeys.tenantId, ctx.tenantId),
      ),
    )
    .for('update');
  if (!k) throw new NotFoundError(`No API key ${keyId} in this storefront.`);
  if (k.revokedAt) throw new ConflictError('This key is already revoked.');
  return k;
}

/**
 * Issues a replacement with the same settings (kind, mode, channels, limit) and lets the old key live on for `overlapSeconds`
 * (so deployed clients can switch over), after which the edge refuses it.
 */
export async function rotateApiKey(
  db: Db,
  ctx: KeyChangeContext,
  keyId: string,
  overlapSeconds: number,
) {
  return db.transaction(async (tx) => {
    const old = await lockKey(tx, ctx, keyId);
    const { row, secret } = await insertKey(
      tx,
      ctx,
      {
        kind: old.kind,
        mode: old.mode,
        name: old.name,
        channels: old.channels,
        expiresAt: old.expiresAt,
        rateLimit: old.rateLimit,
      },
      old.id,
    );
    const overlapEnd = new Date(Date.now() + overlapSeconds * 1000);
    const newExpiry = old.expiresAt && old.expiresAt < overlapEnd ? old.expiresAt : overlapEnd;
    const [retired] = await tx
      .update(apiKeys)
      .set({ expiresAt: newExpiry, edgeSynced: false })
      .where(eq(apiKeys.id, old.id))
      .returning();
    const configVersion = await bumpConfigVersion(tx, ctx.tenantId);
    await appendAudit(tx, {
      tenantId: ctx.tenantId,
      storefrontId: ctx.storefrontId,
      actor: ctx.actor,
      action: 'apikey.rotate',
      targetType: 'api_key',
      targetId: old.id,
      before: apiKeyView(old),
      after: { retired: retired ? apiKeyView(retired) : null, replacement: apiKeyView(row) },
      reason: ctx.reason,
      requestId: ctx.requestId,
    });
    return {
      apiKey: apiKeyView(row),
      secret,
      previous: retired ? apiKeyView(retired) : null,
      configVersion,
    };
  });
}

/** Revokes a key; the edge refuses it as soon as the hot config reaches it (about a second). */
export async function revokeApiKey(db: Db, ctx: KeyChangeContext, keyId: string) {
  return db.transaction(async (tx) => {
    const old = await lockKey(tx, ctx, keyId);
    const [row] = await tx
      .update(apiKeys)
      .set({ revokedAt: new Date(), edgeSynced: false })
      .where(eq(apiKeys.id, keyId))
      .returning();
    if (!row) throw new Error('revoke returned nothing');
    const configVersion = await bumpConfigVersion(tx, ctx.tenantId);
    await appendAudit(tx, {
      tenantId: ctx.tenantId,
      storefrontId: ctx.storefrontId,
      actor: ctx.actor,
      action: 'apikey.revoke',
      targetType: 'api_key',
      targetId: keyId,
      before: apiKeyView(old),
      after: apiKeyView(row),
      reason: ctx.reason,
      requestId: ctx.requestId,
    });
    return { apiKey: apiKeyView(row), configVersion };
  });
}

export async function listApiKeys(db: Db, tenantId: string, storefrontId: string) {
  const rows = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.storefrontId, storefrontId)))
    .orderBy(desc(apiKeys.createdAt));
  return rows.map(apiKeyView);
}
