import { and, eq, sql } from 'drizzle-orm';
import { idempotencyKeys } from '../../db/schema';
import type { Db } from '../../db/types';
import { ApiError } from '../../errors';
import { sha256Hex } from '../../lib/crypto';

/** A claim still in progress after this long is taken to be abandoned. */
const ABANDONED_AFTER_MS = 60_000;

export const IDEMPOTENCY_KEY_RE = /^[A-Za-z0-9._:-]{8,255}$/;

export interface IdempotencyScope {
  tenantId: string;
  principal: string;
  key: string;
  method: string;
  path: string;
  body: string;
}

export type IdempotencyClaim =
  | {
      kind: 'new';
      release: (status: number, body: unknown) => Promise<void>;
      abandon: () => Promise<void>;
    }
  | { kind: 'replay'; status: number; body: unknown };

/**
 * Claims an `Idempotency-Key` for one caller. The first request with a key runs and its result
 * (any status below 500) is stored; a replay with the same request gets the stored result; the
 * same key with a different request is refused (422); a replay while the first is still running
 * gets 409. A 5xx or a crash frees the key so the caller can retry.
 */
export async function claimIdempotencyKey(
  db: Db,
  scope: IdempotencyScope,
): Promise<IdempotencyClaim> {
  const requestHash = await sha256Hex(`${scope.method} ${scope.path}\n${scope.body}`);
  const where = and(
    eq(idempotencyKeys.tenantId, scope.tenantId),
    eq(idempotencyKeys.principal, scope.principal),
    eq(idempotencyKeys.key, scope.key),
  );
  const inserted = await db
    .insert(idempotencyKeys)
    .values({
      tenantId: scope.tenantId,
      principal: scope.principal,
      key: scope.key,
      method: scope.method,
      path: scope.path,
      requestHash,
    })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  if (inserted.length === 0) {
    const [existing] = await db.select().from(idempotencyKeys).where(where);
    if (!existing) throw new ApiError('idempotency_in_progress', 'Retry the request.');
    if (existing.requestHash !== requestHash) {
      throw new ApiError(
        'idempotency_key_reused',
        'This Idempotency-Key was already used with a different request (method, path or body). Use a new key for a new request.',
      );
    }
    if (
      existing.completedAt === null &&
      Date.now() - existing.createdAt.getTime() > ABANDONED_AFTER_MS
    ) {
      // The first attempt died before finishing (its worker was evicted): this one takes over.
      const [taken] = await db
        .update(idempotencyKeys)
        .set({ createdAt: new Date() })
        .where(
          and(
            where,
            sql`${idempotencyKeys.completedAt} is null`,
            eq(idempotencyKeys.createdAt, existing.createdAt),
          ),
        )
        .returning({ key: idempotencyKeys.key });
      if (taken) return newClaim(db, where);
    }
    if (existing.completedAt === null || existing.responseStatus === null) {
      throw new ApiError(
        'idempotency_in_progress',
        'A request with this Idempotency-Key is still being processed. Retry in a moment.',
        { headers: { 'retry-after': '1' } },
      );
    }
    return { kind: 'replay', status: existing.responseStatus, body: existing.responseBody };
  }
  return newClaim(db, where);
}

function newClaim(db: Db, where: ReturnType<typeof and>): IdempotencyClaim {
  return {
    kind: 'new',
    release: async (status, body) => {
      if (status >= 500) {
        await db.delete(idempotencyKeys).where(where);
        return;
      }
      await db
        .update(idempotencyKeys)
        .set({ responseStatus: status, responseBody: body as object, completedAt: sql`now()` })
        .where(where);
    },
    abandon: async () => {
      await db.delete(idempotencyKeys).where(where);
    },
  };
}
