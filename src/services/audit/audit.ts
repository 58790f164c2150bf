import { and, asc, desc, eq, gt, inArray, sql } from 'drizzle-orm';
import { apiKeys, auditLog, operators } from '../../db/schema';
import type { Db } from '../../db/types';
import { newId } from '../../lib/ids';
import { sealAuditRow, verifyChain } from '../../security/audit-chain';

export interface Actor {
  type: 'operator' | 'api_key' | 'system';
  id: string;
}

export interface AuditInput {
  tenantId: string;
  storefrontId: string | null;
  actor: Actor;
  action: string;
  targetType: string;
  targetId: string;
  before: unknown;
  after: unknown;
  reason: string | null;
  requestId: string | null;
}

/** Each storefront has its own chain; tenant-wide changes go to the tenant's chain. */
export function chainOf(tenantId: string, storefrontId: string | null): string {
  return storefrontId ?? `tenant:${tenantId}`;
}

/** The hashed fields of a row, exactly as written and as read back. */
function hashedFields(r: typeof auditLog.$inferSelect) {
  return {
    id: r.id,
    tenantId: r.tenantId,
    storefrontId: r.storefrontId,
    chain: r.chain,
    seq: r.seq,
    actorType: r.actorType,
    actorId: r.actorId,
    action: r.action,
    targetType: r.targetType,
    targetId: r.targetId,
    before: r.before ?? null,
    after: r.after ?? null,
    reason: r.reason,
    requestId: r.requestId,
    createdAt: r.createdAt.toISOString(),
    prevHash: r.prevHash,
    hash: r.hash,
  };
}

/**
 * Appends an audit row inside the caller's transaction (the same one as the change). The
 * chain's head is locked with a transaction-scoped advisory lock, so concurrent writers to one
 * chain queue up instead of forking it.
 */
export async function appendAudit(
  tx: Db,
  input: AuditInput,
): Promise<{ id: string; seq: number; hash: string }> {
  const chain = chainOf(input.tenantId, input.storefrontId);
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${chain}, 0))`);
  const [head] = await tx
    .select({ seq: auditLog.seq, hash: auditLog.hash })
    .from(auditLog)
    .where(eq(auditLog.chain, chain))
    .orderBy(desc(auditLog.seq))
    .limit(1);
  const createdAt = new Date();
  const sealed = await sealAuditRow(head ?? null, {
    id: newId('aud'),
    tenantId: input.tenantId,
    storefrontId: input.storefrontId,
    chain,
    actorType: input.actor.type,
    actorId: input.actor.id,
    action: input.action,
    targetType: input.targetType,
    targetId: input.targetId,
    before: input.before ?? null,
    after: input.after ?? null,
    reason: input.reason,
    requestId: input.requestId,
    createdAt: createdAt.toISOString(),
  });
  await tx.insert(auditLog).values({ ...sealed, createdAt });
  return { id: sealed.id, seq: sealed.seq, hash: sealed.hash };
}

export interface AuditPage {
  items: ReturnType<typeof hashedFields>[];
  nextAfter: number | null;
}

/** One chain's rows in order, `limit` at a time after `afterSeq`. */
export async function listAudit(
  db: Db,
  tenantId: string,
  storefrontId: string | null,
  afterSeq = 0,
  limit = 50,
): Promise<AuditPage> {
  const rows = await db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.tenantId, tenantId),
        eq(auditLog.chain, chainOf(tenantId, storefrontId)),
        gt(auditLog.seq, afterSeq),
      ),
    )
    .orderBy(asc(auditLog.seq))
    .limit(limit + 1);
  const items = rows.slice(0, limit).map(hashedFields);
  return { items, nextAfter: rows.length > limit ? (items.at(-1)?.seq ?? null) : null };
}

/** Rows re-hashed per verification call: bounded so a long trail cannot exhaust a request. */
export const VERIFY_PAGE = 5000;

/**
 * Re-hashes one chain from `afterSeq` (0: the start), at most {@link VERIFY_PAGE} rows, and
 * says where it breaks, if it does. `nextAfter` is set when more rows remain: call again with
 * it (and the returned `head`'s hash is where the next page must link).
 */
export async function verifyAudit(
  db: Db,
  tenantId: string,
  storefrontId: string | null,
  afterSeq = 0,
) {
  const chain = chainOf(tenantId, storefrontId);
  let from: { seq: number; prevHash: string } | undefined;
  if (afterSeq > 0) {
    const [prev] = await db
      .select({ hash: auditLog.hash })
      .from(auditLog)
      .where(
        and(eq(auditLog.tenantId, tenantId), eq(auditLog.chain, chain), eq(auditLog.seq, afterSeq)),
      );
    if (!prev) {
      return {
        chain,
        head: null,
        ok: false as const,
        brokenAt: afterSeq,
        reason: 'seq_gap' as const,
        nextAfter: null,
      };
    }
    from = { seq: afterSeq + 1, prevHash: prev.hash };
  }
  const rows = await db
    .select()
    .from(auditLog)
    .where(
      and(eq(auditLog.tenantId, tenantId), eq(auditLog.chain, chain), gt(auditLog.seq, afterSeq)),
    )
    .orderBy(asc(auditLog.seq))
    .limit(VERIFY_PAGE + 1);
  const page = rows.slice(0, VERIFY_PAGE).map(hashedFields);
  const result = await verifyChain(page, { from });
  const nextAfter = rows.length > VERIFY_PAGE ? (page.at(-1)?.seq ?? null) : null;
  return { chain, head: page.at(-1)?.hash ?? null, ...result, nextAfter };
}

/** What a person reads for a system actor's id; unknown ids are shown as they are. */
const SYSTEM_ACTORS: Record<string, string> = {
  seed: 'System (demo seed)',
  customers: 'System (customer API)',
  'customer-tokens': 'System (customer tokens)',
  bench: 'System (benchmark)',
};

/**
 * A readable name for each actor of `rows`: an operator's name (their email when the name is
 * empty, "former operator" when the row outlived the account), an API key's name and prefix,
 * and "System (…)" for the platform's own changes. One query per actor type, whatever the page.
 */
export async function actorNames(
  db: Db,
  tenantId: string,
  rows: readonly { actorType: string; actorId: string }[],
): Promise<Map<string, string>> {
  const opIds = [...new Set(rows.filter((r) => r.actorType === 'operator').map((r) => r.actorId))];
  const keyIds = [...new Set(rows.filter((r) => r.actorType === 'api_key').map((r) => r.actorId))];
  const [ops, keys] = await Promise.all([
    opIds.length
      ? db
          .select({ id: operators.id, name: operators.name, email: operators.email })
          .from(operators)
          .where(inArray(operators.id, opIds))
      : [],
    keyIds.length
      ? db
          .select({ id: apiKeys.id, name: apiKeys.name, prefix: apiKeys.prefix })
          .from(apiKeys)
          .where(and(eq(apiKeys.tenantId, tenantId), inArray(apiKeys.id, keyIds)))
      : [],
  ]);
  const names = new Map<string, string>();
  for (const o of ops) names.set(`operator:${o.id}`, o.name.trim() || o.email);
  for (const k of keys) names.set(`api_key:${k.id}`, `API key ${k.name} (${k.prefix}…)`);
  for (const r of rows) {
    const key = `${r.actorType}:${r.actorId}`;
    if (names.has(key)) continue;
    if (r.actorType === 'system')
      names.set(key, SYSTEM_ACTORS[r.actorId] ?? `System (${r.actorId})`);
    else if (r.actorType === 'operator') names.set(key, 'Former operator');
    else names.set(key, 'Deleted API key');
  }
  return names;
}
