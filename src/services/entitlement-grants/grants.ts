/**
 * Complimentary entitlements: an operator grants a customer an entitlement of the tenant's
 * definitions until an expiry, for a reason, audited; and may revoke it. Postgres
 * (`entitlement_grants`) is the record; the customer's entitlements object holds the live copy
 * and folds it with the customer's subscriptions (durable-objects/customer-entitlements.ts).
 *
 * Order of the writes, so that nothing is half-written: the row and its audit row commit first
 * (one transaction), then the grant is delivered to the object, then the row is marked
 * delivered. The delivery is idempotent by grant id (a revocation, once held, stays), so a
 * failure between the commit and the delivery is repaired by delivering again: a retry of the
 * request with the same Idempotency-Key finds the row it wrote (`request_key`) and delivers it,
 * a retried revoke finds the grant revoked and delivers that, and every delivery to a customer
 * also carries their grants not yet delivered. Until then the grant is recorded but not live
 * (`deliveredAt: null`), and the request answers 503 naming it.
 */
import { and, asc, count, desc, eq, gt, isNull, ne } from 'drizzle-orm';
import type { CompGrant } from '../../contracts/customer-entitlements';
import {
  type EntitlementsOwner,
  entitlementsObjectName,
} from '../../contracts/customer-entitlements';
import { customers, entitlementDefinitions, entitlementGrants, tenants } from '../../db/schema';
import type { KeyMode } from '../../db/schema/enums';
import type { Db } from '../../db/types';
import { EntitlementValueSchemas } from '../../domain/entitlements';
import {
  ConflictError,
  IdempotencyKeyReusedError,
  NotFoundError,
  UnavailableError,
  ValidationError,
} from '../../domain/errors';
import { newId } from '../../lib/ids';
import { type Actor, appendAudit } from '../audit/audit';

/** At most this many standing (unexpired, unrevoked) grants per customer and mode. */
export const MAX_STANDING_GRANTS = 50;
/** An expiry at most this far ahead. */
export const MAX_GRANT_SECONDS = 5 * 366 * 86_400;
/** A list shows at most this many grants, newest first. */
export const MAX_LISTED_GRANTS = 100;

type Row = typeof entitlementGrants.$inferSelect;

/** A grant as the admin API shows it. */
export function grantView(r: Row) {
  return {
    id: r.id,
    customerId: r.customerId,
    storefrontId: r.storefrontId,
    mode: r.mode,
    key: r.key,
    type: r.type,
    value: r.value,
    expiresAt: r.expiresAt.toISOString(),
    reason: r.reason,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    revokedAt: r.revokedAt?.toISOString() ?? null,
    revokedBy: r.revokedBy,
    revokeReason: r.revokeReason,
    deliveredAt: r.deliveredAt?.toISOString() ?? null,
  };
}
export type GrantView = ReturnType<typeof grantView>;

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

/** The grant as its customer's object holds it. */
export function compOf(r: Row): CompGrant {
  return {
    id: r.id,
    key: r.key,
    type: r.type,
    value: r.value,
    levels: r.levels ?? null,
    levelsVersion: r.levelsVersion ?? null,
    createdAt: seconds(r.createdAt),
    expiresAt: seconds(r.expiresAt),
    revokedAt: r.revokedAt ? seconds(r.revokedAt) : null,
  };
}

/** Hands grants to the customer's entitlements object named `objectName`. */
/**
 * The conditions naming one customer's grants in a storefront (and mode, when given): the
 * same four columns every query of this file filters on.
 */
function ofCustomer(o: {
  tenantId: string;
  storefrontId: string;
  customerId: string;
  mode?: 'test' | 'live' | null;
}) {
  return [
    eq(entitlementGrants.tenantId, o.tenantId),
    eq(entitlementGrants.storefrontId, o.storefrontId),
    eq(entitlementGrants.customerId, o.customerId),
    o.mode ? eq(entitlementGrants.mode, o.mode) : undefined,
  ];
}

export type CompSink = (owner: EntitlementsOwner, comps: CompGrant[]) => Promise<unknown>;

export interface GrantContext {
  tenantId: string;
  storefrontId: string;
  actor: Actor;
  requestId: string | null;
}

export interface GrantInput {
  customerId: string;
  mode: KeyMode;
  key: string;
  /** Absent: the type's default where it has one (a feature: enabled). */
  value?: Record<string, unknown>;
  expiresAt: Date;
  reason: string;
  /** The request's Idempotency-Key: a retry finds the grant it made. */
  requestKey: string | null;
  now?: Date;
}

/** The customer, if they are this storefront's (else a 404); locked until the transaction ends. */
async function lockCustomer(tx: Db, ctx: GrantContext, customerId: string) {
  const [row] = await tx
    .select({ id: customers.id })
    .from(customers)
    .where(
      and(
        eq(customers.id, customerId),
        eq(customers.tenantId, ctx.tenantId),
        eq(customers.storefrontId, ctx.storefrontId),
      ),
    )
    .for('update');
  if (!row) throw new NotFoundError(`No customer ${customerId} in this storefront.`);
}

/** What the grant gives: the value given (or the type's default), checked against the type. */
function grantValue(
  def: typeof entitlementDefinitions.$inferSelect,
  given: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const needs = {
    quota: '{ "limit": 1000, "period": "month" }',
    slots: '{ "count": 2 }',
    tier: `{ "level": "${def.levels?.at(-1) ?? '…'}" }`,
    feature: '{ "enabled": true }',
  }[def.type];
  if (given === undefined && def.type !== 'feature') {
    throw new ValidationError(`A ${def.type} grant needs its value, such as ${needs}.`, {
      errors: [{ path: 'value', message: `required for a ${def.type}` }],
    });
  }
  const parsed = EntitlementValueSchemas[def.type].safeParse(given ?? { enabled: true });
  if (!parsed.success) {
    throw new ValidationError(`Not a valid ${def.type} value (such as ${needs}).`, {
      errors: parsed.error.issues.map((i) => ({
        path: ['value', ...i.path].join('.'),
        message: i.message,
      })),
    });
  }
  const value = parsed.data as Record<string, unknown>;
  if (def.type === 'tier') {
    const level = String(value.level);
    if (!def.levels) {
      throw new ValidationError(
        `${def.key} declares no levels yet: declare them (lowest first) in the tenant's configuration first.`,
        { errors: [{ path: 'value.level', message: 'the tier declares no levels' }] },
      );
    }
    if (!def.levels.includes(level)) {
      throw new ValidationError(
        `${level} is not a level of ${def.key} (${def.levels.join(' < ')}).`,
        { errors: [{ path: 'value.level', message: 'not a declared level' }] },
      );
    }
  }
  return value;
}

/** Whether a retry asks for the grant `r` (its value as the type's schema reads it). */
function sameTerms(r: Row, input: GrantInput): boolean {
  const value = EntitlementValueSchemas[r.type].safeParse(input.value ?? { enabled: true });
  return (
    r.customerId === input.customerId &&
    r.mode === input.mode &&
    r.key === input.key &&
    r.expiresAt.getTime() === input.expiresAt.getTime() &&
    r.reason === input.reason &&
    value.success &&
    JSON.stringify(value.data) === JSON.stringify(r.value)
  );
}

/**
 * Records a grant (with its audit row, in one transaction) and delivers it to the customer's
 * entitlements object. With a `requestKey` already used by this operator, the grant it made is
 * delivered again and answered (`replayed`), provided the terms are the same.
 */
export async function grantEntitlement(
  db: Db,
  sink: CompSink,
  ctx: GrantContext,
  input: GrantInput,
): Promise<{ grant: GrantView; replayed: boolean }> {
  const now = input.now ?? new Date();
  const { row, replayed } = await db.transaction(async (tx) => {
    await lockCustomer(tx, ctx, input.customerId);
    if (input.requestKey !== null) {
      const [first] = await tx
        .select()
        .from(entitlementGrants)
        .where(
          and(
            eq(entitlementGrants.tenantId, ctx.tenantId),
            eq(entitlementGrants.createdBy, ctx.actor.id),
            eq(entitlementGrants.requestKey, input.requestKey),
          ),
        );
      if (first) {
        if (first.storefrontId !== ctx.storefrontId || !sameTerms(first, input)) {
          throw new IdempotencyKeyReusedError(
            'This Idempotency-Key was already used for another grant. Use a new key for a new grant.',
          );
        }
        return { row: first, replayed: true };
      }
    }
    // The definition and the config version in one statement, so the levels a tier grant
    // carries are never older than the version they are stamped with.
    const [found] = await tx
      .select({ def: entitlementDefinitions, configVersion: tenants.configVersion })
      .from(entitlementDefinitions)
      .innerJoin(tenants, eq(tenants.id, entitlementDefinitions.tenantId))
      .where(
        and(
          eq(entitlementDefinitions.tenantId, ctx.tenantId),
          eq(entitlementDefinitions.key, input.key),
        ),
      );
    const def = found?.def;
    if (!found || !def) {
      throw new ValidationError(`No entitlement ${input.key} in this tenant.`, {
        errors: [{ path: 'key', message: 'no such entitlement' }],
      });
    }
    const value = grantValue(def, input.value);
    if (input.expiresAt.getTime() <= now.getTime()) {
      throw new ValidationError('expiresAt must be in the future.', {
        errors: [{ path: 'expiresAt', message: 'in the past' }],
      });
    }
    if (input.expiresAt.getTime() > now.getTime() + MAX_GRANT_SECONDS * 1000) {
      throw new ValidationError('expiresAt may be at most 5 years ahead.', {
        errors: [{ path: 'expiresAt', message: 'more than 5 years ahead' }],
      });
    }
    const [standing] = await tx
      .select({ n: count() })
      .from(entitlementGrants)
      .where(
        and(
          ...ofCustomer({ ...ctx, customerId: input.customerId, mode: input.mode }),
          isNull(entitlementGrants.revokedAt),
          gt(entitlementGrants.expiresAt, now),
        ),
      );
    if ((standing?.n ?? 0) >= MAX_STANDING_GRANTS) {
      throw new ConflictError(
        `The customer already holds ${MAX_STANDING_GRANTS} standing grants: revoke one first.`,
        { code: 'too_many_grants' },
      );
    }
    const [inserted] = await tx
      .insert(entitlementGrants)
      .values({
        id: newId('comp', now.getTime()),
        tenantId: ctx.tenantId,
        storefrontId: ctx.storefrontId,
        customerId: input.customerId,
        mode: input.mode,
        entitlementId: def.id,
        key: def.key,
        type: def.type,
        value,
        levels: def.type === 'tier' ? def.levels : null,
        levelsVersion: def.type === 'tier' ? found.configVersion : null,
        expiresAt: input.expiresAt,
        reason: input.reason,
        createdBy: ctx.actor.id,
        requestKey: input.requestKey,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    if (!inserted) throw new Error('grant insert returned nothing');
    await appendAudit(tx, {
      tenantId: ctx.tenantId,
      storefrontId: ctx.storefrontId,
      actor: ctx.actor,
      action: 'entitlement.grant',
      targetType: 'entitlement_grant',
      targetId: inserted.id,
      before: null,
      after: grantView(inserted),
      reason: input.reason,
      requestId: ctx.requestId,
    });
    return { row: inserted, replayed: false };
  });
  return { grant: await deliver(db, sink, row), replayed };
}

/**
 * Revokes a grant now (with its audit row) and delivers the revocation. Revoking a grant that
 * is revoked already changes nothing and records nothing: it delivers it again and answers it.
 */
export async function revokeEntitlementGrant(
  db: Db,
  sink: CompSink,
  ctx: GrantContext,
  target: { customerId: string; grantId: string; reason: string; now?: Date },
): Promise<GrantView> {
  const now = target.now ?? new Date();
  const row = await db.transaction(async (tx) => {
    const [g] = await tx
      .select()
      .from(entitlementGrants)
      .where(
        and(
          eq(entitlementGrants.id, target.grantId),
          ...ofCustomer({ ...ctx, customerId: target.customerId }),
        ),
      )
      .for('update');
    if (!g) throw new NotFoundError(`No grant ${target.grantId} for this customer.`);
    if (g.revokedAt) return g;
    const [revoked] = await tx
      .update(entitlementGrants)
      .set({
        revokedAt: now,
        revokedBy: ctx.actor.id,
        revokeReason: target.reason,
        deliveredAt: null,
      })
      .where(eq(entitlementGrants.id, g.id))
      .returning();
    if (!revoked) throw new Error('grant revoke returned nothing');
    await appendAudit(tx, {
      tenantId: ctx.tenantId,
      storefrontId: ctx.storefrontId,
      actor: ctx.actor,
      action: 'entitlement.revoke',
      targetType: 'entitlement_grant',
      targetId: g.id,
      before: grantView(g),
      after: grantView(revoked),
      reason: target.reason,
      requestId: ctx.requestId,
    });
    return revoked;
  });
  return deliver(db, sink, row);
}

/**
 * Delivers `row`, and the customer's other grants not yet delivered, to their entitlements
 * object; marks each delivered unless it changed meanwhile (a revocation since: delivered
 * by its own call). A failure is a 503 naming the grant: it is recorded, not yet live.
 */
async function deliver(db: Db, sink: CompSink, row: Row): Promise<GrantView> {
  const pending = await db
    .select()
    .from(entitlementGrants)
    .where(
      and(
        ...ofCustomer(row),
        isNull(entitlementGrants.deliveredAt),
        ne(entitlementGrants.id, row.id),
      ),
    )
    .orderBy(asc(entitlementGrants.createdAt))
    .limit(MAX_LISTED_GRANTS);
  const rows = [row, ...pending];
  const name = entitlementsObjectName(row);
  const owner = {
    tenantId: row.tenantId,
    storefrontId: row.storefrontId,
    mode: row.mode,
    customerId: row.customerId,
  };
  try {
    await sink(owner, rows.map(compOf));
  } catch (err) {
    console.error(`grant ${row.id}: delivery to ${name} failed: ${err}`);
    throw new UnavailableError(
      `Grant ${row.id} is recorded but not yet live for the customer: retry the request (with the same Idempotency-Key) to deliver it.`,
      { code: 'grant_not_delivered', retryAfterSeconds: 1, cause: err },
    );
  }
  const at = new Date();
  let view = grantView(row);
  for (const r of rows) {
    const [marked] = await db
      .update(entitlementGrants)
      .set({ deliveredAt: at })
      .where(
        and(
          eq(entitlementGrants.id, r.id),
          r.revokedAt
            ? eq(entitlementGrants.revokedAt, r.revokedAt)
            : isNull(entitlementGrants.revokedAt),
        ),
      )
      .returning();
    if (marked && r.id === row.id) view = grantView(marked);
  }
  return view;
}

/** The customer's grants in this storefront (of `mode`, or both), newest first, bounded. */
export async function listEntitlementGrants(
  db: Db,
  ctx: Pick<GrantContext, 'tenantId' | 'storefrontId'>,
  customerId: string,
  mode?: KeyMode,
): Promise<GrantView[]> {
  const rows = await db
    .select()
    .from(entitlementGrants)
    .where(and(...ofCustomer({ ...ctx, customerId, mode })))
    .orderBy(desc(entitlementGrants.createdAt), desc(entitlementGrants.id))
    .limit(MAX_LISTED_GRANTS);
  return rows.map(grantView);
}
