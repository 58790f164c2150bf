import { and, eq, isNull, sql } from 'drizzle-orm';
import { featureFlags, killswitches, storefronts, tenants } from '../../db/schema';
import type { Db } from '../../db/types';
import { NotFoundError, ValidationError } from '../../domain/errors';
import { jsonBytes } from '../../flags/limits';
import { flagDefinitionSchema } from '../../flags/schema';
import { newId } from '../../lib/ids';
import { type Actor, appendAudit } from '../audit/audit';
import { assertPublishBudget } from '../publish/budget';

export interface ChangeContext {
  tenantId: string;
  actor: Actor;
  requestId: string | null;
  reason: string;
}

/** Bumps the tenant's config version inside the change's transaction; returns the new one. */
export async function bumpConfigVersion(tx: Db, tenantId: string): Promise<number> {
  const [row] = await tx
    .update(tenants)
    .set({ configVersion: sql`${tenants.configVersion} + 1` })
    .where(eq(tenants.id, tenantId))
    .returning({ v: tenants.configVersion });
  if (!row) throw new NotFoundError(`No tenant ${tenantId}.`);
  return row.v;
}

/** A storefront of the tenant by id or slug; 404 if it is not the tenant's. */
export async function findStorefront(db: Db, tenantId: string, ref: string) {
  const [sf] = await db
    .select()
    .from(storefronts)
    .where(
      and(
        eq(storefronts.tenantId, tenantId),
        sql`(${storefronts.id} = ${ref} or ${storefronts.slug} = ${ref})`,
      ),
    );
  if (!sf) throw new NotFoundError(`No storefront "${ref}" in this tenant.`);
  return sf;
}

export interface KillswitchInput {
  scope: 'tenant' | 'storefront' | 'channel' | 'feature' | 'provider';
  target: string;
  storefrontId: string | null;
  engaged: boolean;
  failMode?: 'closed' | 'open';
  retryAfterSeconds?: number;
}

function killswitchView(k: typeof killswitches.$inferSelect) {
  return {
    id: k.id,
    scope: k.scope,
    target: k.target,
    storefrontId: k.storefrontId,
    engaged: k.engaged,
    failMode: k.failMode,
    retryAfterSeconds: k.retryAfterSeconds,
    reason: k.reason,
    updatedAt: k.updatedAt.toISOString(),
  };
}

export type KillswitchRecord = ReturnType<typeof killswitchView>;

/** Creates or flips a killswitch, with its audit row and a config version bump, atomically. */
export async function setKillswitch(db: Db, ctx: ChangeContext, input: KillswitchInput) {
  return db.transaction(async (tx) => {
    const scopeWhere = and(
      eq(killswitches.tenantId, ctx.tenantId),
      input.storefrontId === null
        ? isNull(killswitches.storefrontId)
        : eq(killswitches.storefrontId, input.storefrontId),
      eq(killswitches.scope, input.scope),
      eq(killswitches.target, input.target),
    );
    const [before] = await tx.select().from(killswitches).where(scopeWhere).for('update');
    const values = {
      engaged: input.engaged,
      failMode: input.failMode ?? before?.failMode ?? 'closed',
      retryAfterSeconds: input.retryAfterSeconds ?? before?.retryAfterSeconds ?? 60,
      reason: ctx.reason,
      updatedAt: new Date(),
    };
    const [after] = before
      ? await tx.update(killswitches).set(values).where(eq(killswitches.id, before.id)).returning()
      : await tx
          .insert(killswitches)
          .values({
            id: newId('ks'),
            tenantId: ctx.tenantId,
            storefrontId: input.storefrontId,
            scope: input.scope,
            target: input.target,
            ...values,
          })
          .returning();
    if (!after) throw new Error('killswitch write returned nothing');
    const configVersion = await bumpConfigVersion(tx, ctx.tenantId);
    await appendAudit(tx, {
      tenantId: ctx.tenantId,
      storefrontId: input.storefrontId,
      actor: ctx.actor,
      action: before
        ? input.engaged
          ? 'killswitch.engage'
          : 'killswitch.release'
        : 'killswitch.create',
      targetType: 'killswitch',
      targetId: after.id,
      before: before ? killswitchView(before) : null,
      after: killswitchView(after),
      reason: ctx.reason,
      requestId: ctx.requestId,
    });
    return { killswitch: killswitchView(after), configVersion };
  });
}

export async function listKillswitches(db: Db, tenantId: string) {
  const rows = await db.select().from(killswitches).where(eq(killswitches.tenantId, tenantId));
  return rows.map(killswitchView);
}

export interface FlagInput {
  key: string;
  storefrontId: string | null;
  valueType: 'boolean' | 'string' | 'number' | 'json';
  enabled: boolean;
  definition: unknown;
}

function flagView(f: typeof featureFlags.$inferSelect) {
  return {
    id: f.id,
    key: f.key,
    storefrontId: f.storefrontId,
    valueType: f.valueType,
    enabled: f.enabled,
    version: f.version,
    definition: f.definition,
    updatedAt: f.updatedAt.toISOString(),
  };
}

export type FlagRecord = ReturnType<typeof flagView>;

function flagScope(tenantId: string, storefrontId: string | null, key: string) {
  return and(
    eq(featureFlags.tenantId, tenantId),
    storefrontId === null
      ? isNull(featureFlags.storefrontId)
      : eq(featureFlags.storefrontId, storefrontId),
    eq(featureFlags.key, key),
  );
}

/** Creates or replaces a flag (tenant-wide, or a storefront override), audited. */
export async function putFlag(db: Db, ctx: ChangeContext, input: FlagInput) {
  // A flag without its own salt gets a random one, so rollouts of different flags are independent.
  const definition =
    input.definition && typeof input.definition === 'object' && !('salt' in input.definition)
      ? { ...input.definition, salt: crypto.randomUUID() }
      : input.definition;
  const parsed = flagDefinitionSchema(input.valueType).safeParse(definition);
  if (!parsed.success) {
    throw new ValidationError('The flag definition is not valid.', {
      errors: parsed.error.issues.map((i) => ({
        path: ['definition', ...i.path.map(String)].join('.'),
        message: i.message,
      })),
    });
  }
  return db.transaction(async (tx) => {
    const [before] = await tx
      .select()
      .from(featureFlags)
      .where(flagScope(ctx.tenantId, input.storefrontId, input.key))
      .for('update');
    const values = {
      valueType: input.valueType,
      enabled: input.enabled,
      definition: parsed.data as unknown as Record<string, unknown>,
      updatedAt: new Date(),
    };
    const [after] = before
      ? await tx
          .update(featureFlags)
          .set({ ...values, version: before.version + 1 })
          .where(eq(featureFlags.id, before.id))
          .returning()
      : await tx
          .insert(featureFlags)
          .values({
            id: newId('flag'),
            tenantId: ctx.tenantId,
            storefrontId: input.storefrontId,
            key: input.key,
            ...values,
          })
          .returning();
    if (!after) throw new Error('flag write returned nothing');
    const configVersion = await bumpConfigVersion(tx, ctx.tenantId);
    // A change that does not grow the flag is never refused for size, so a tenant over its
    // budget (flags stored before budgets existed) can always shrink back under it.
    if (!before || jsonBytes(values.definition) > jsonBytes(before.definition)) {
      await assertPublishBudget(tx, ctx.tenantId);
    }
    await appendAudit(tx, {
      tenantId: ctx.tenantId,
      storefrontId: input.storefrontId,
      actor: ctx.actor,
      action: before ? 'flag.update' : 'flag.create',
      targetType: 'flag',
      targetId: after.id,
      before: before ? flagView(before) : null,
      after: flagView(after),
      reason: ctx.reason,
      requestId: ctx.requestId,
    });
    return { flag: flagView(after), configVersion };
  });
}

/** Turns a flag on or off (served variations vs. its off variation), audited. */
export async function setFlagEnabled(
  db: Db,
  ctx: ChangeContext,
  key: string,
  storefrontId: string | null,
  enabled: boolean,
) {
  return db.transaction(async (tx) => {
    const [before] = await tx
      .select()
      .from(featureFlags)
      .where(flagScope(ctx.tenantId, storefrontId, key))
      .for('update');
    if (!before) throw new NotFoundError(`No flag "${key}" in this scope.`);
    const [after] = await tx
      .update(featureFlags)
      .set({ enabled, version: before.version + 1, updatedAt: new Date() })
      .where(eq(featureFlags.id, before.id))
      .returning();
    if (!after) throw new Error('flag write returned nothing');
    const configVersion = await bumpConfigVersion(tx, ctx.tenantId);
    await appendAudit(tx, {
      tenantId: ctx.tenantId,
      storefrontId,
      actor: ctx.actor,
      action: enabled ? 'flag.enable' : 'flag.disable',
      targetType: 'flag',
      targetId: after.id,
      before: flagView(before),
      after: flagView(after),
      reason: ctx.reason,
      requestId: ctx.requestId,
    });
    return { flag: flagView(after), configVersion };
  });
}

export async function listFlags(db: Db, tenantId: string) {
  const rows = await db.select().from(featureFlags).where(eq(featureFlags.tenantId, tenantId));
  return rows.map(flagView);
}
