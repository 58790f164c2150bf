import { and, eq, isNull, or, sql } from 'drizzle-orm';
import { operatorRoles, operators, tenants } from '../../db/schema';
import type { Channel } from '../../db/schema/enums';
import type { Db } from '../../db/types';
import { newId } from '../../lib/ids';
import { hashPassword, verifyPassword } from '../../security/passwords';
import type { Grant } from '../../security/rbac';

export interface OperatorGrant extends Grant {
  storefrontIds: string[];
  channels: string[];
}

export interface OperatorPrincipal {
  id: string;
  email: string;
  name: string;
  grants: OperatorGrant[];
}

async function grantsOf(db: Db, operatorId: string): Promise<OperatorGrant[]> {
  const rows = await db
    .select()
    .from(operatorRoles)
    .where(eq(operatorRoles.operatorId, operatorId));
  return rows.map((r) => ({
    tenantId: r.tenantId,
    role: r.role,
    storefrontIds: [...r.storefrontIds],
    channels: [...r.channels],
  }));
}

/**
 * Email + password → the operator and their grants, or null. A password is always checked,
 * even for an unknown email, so the answer time does not tell which emails exist.
 */
export async function authenticateOperator(
  db: Db,
  email: string,
  password: string,
): Promise<OperatorPrincipal | null> {
  const [op] = await db
    .select()
    .from(operators)
    .where(and(sql`lower(${operators.email}) = lower(${email})`, isNull(operators.disabledAt)));
  const ok = await verifyPassword(password, op?.passwordHash ?? null);
  if (!op || !ok) return null;
  return { id: op.id, email: op.email, name: op.name, grants: await grantsOf(db, op.id) };
}

/** A session's operator, if still enabled. */
export async function loadOperator(db: Db, operatorId: string): Promise<OperatorPrincipal | null> {
  const [op] = await db
    .select()
    .from(operators)
    .where(and(eq(operators.id, operatorId), isNull(operators.disabledAt)));
  if (!op) return null;
  return { id: op.id, email: op.email, name: op.name, grants: await grantsOf(db, op.id) };
}

/** A tenant by id or slug. */
export async function findTenant(db: Db, ref: string) {
  const [t] = await db
    .select()
    .from(tenants)
    .where(or(eq(tenants.id, ref), eq(tenants.slug, ref)));
  return t;
}

export interface NewOperator {
  email: string;
  name: string;
  password: string;
  grants: {
    tenantId: string;
    role: OperatorGrant['role'];
    storefrontIds?: string[];
    channels?: OperatorGrant['channels'];
  }[];
}

/** Creates an operator (or updates the password and grants of an existing email). */
export async function upsertOperator(db: Db, input: NewOperator): Promise<string> {
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    const [existing] = await tx
      .select({ id: operators.id })
      .from(operators)
      .where(sql`lower(${operators.email}) = lower(${input.email})`);
    const id = existing?.id ?? newId('op');
    if (existing) {
      await tx
        .update(operators)
        .set({ name: input.name, passwordHash })
        .where(eq(operators.id, id));
    } else {
      await tx.insert(operators).values({ id, email: input.email, name: input.name, passwordHash });
    }
    for (const g of input.grants) {
      const values = {
        role: g.role,
        storefrontIds: g.storefrontIds ?? [],
        channels: (g.channels ?? []) as Channel[],
      };
      await tx
        .insert(operatorRoles)
        .values({ id: newId('orl'), operatorId: id, tenantId: g.tenantId, ...values })
        .onConflictDoUpdate({
          target: [operatorRoles.operatorId, operatorRoles.tenantId],
          set: values,
        });
    }
    return id;
  });
}
