import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { operatorRoles, operatorSessionRevocations, operators, tenants } from '../../db/schema';
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

/** A verified session token's facts, as {@link loadSession} needs them. */
export interface SessionRef {
  sessionId: string;
  operatorId: string;
  /** The token's `iat`, epoch seconds. */
  issuedAt: number;
}

export type LoadedSession =
  | { ok: true; operator: OperatorPrincipal }
  | { ok: false; reason: 'disabled' | 'signed_out' };

/**
 * A session's operator, if the session is still live: the operator exists and is enabled, the
 * session was not signed out, and it was issued after the operator's last "sign out
 * everywhere". The revocation check rides on the query that loads the operator (no extra
 * round trip), so a sign-out applies at every edge from the next request.
 */
export async function loadSession(db: Db, ref: SessionRef): Promise<LoadedSession> {
  const [op] = await db
    .select({
      id: operators.id,
      email: operators.email,
      name: operators.name,
      disabledAt: operators.disabledAt,
      sessionsNotBefore: operators.sessionsNotBefore,
      signedOut: sql<boolean>`exists (select 1 from ${operatorSessionRevocations} where ${operatorSessionRevocations.sessionId} = ${ref.sessionId})`,
    })
    .from(operators)
    .where(eq(operators.id, ref.operatorId));
  if (!op || op.disabledAt) return { ok: false, reason: 'disabled' };
  const notBefore = op.sessionsNotBefore?.getTime();
  if (op.signedOut || (notBefore !== undefined && ref.issuedAt * 1000 < notBefore)) {
    return { ok: false, reason: 'signed_out' };
  }
  return {
    ok: true,
    operator: { id: op.id, email: op.email, name: op.name, grants: await grantsOf(db, op.id) },
  };
}

/**
 * Ends one session before its token expires (`expiresAt`, when its row may go). Idempotent.
 * Rows of sessions whose tokens have expired anyway are deleted on the way.
 */
export async function revokeSession(
  db: Db,
  session: { sessionId: string; operatorId: string; expiresAt: Date },
): Promise<void> {
  await db.insert(operatorSessionRevocations).values(session).onConflictDoNothing();
  await db
    .delete(operatorSessionRevocations)
    .where(lt(operatorSessionRevocations.expiresAt, sql`now() - interval '1 minute'`));
}

/**
 * Ends every session of an operator issued up to `now` ("sign out everywhere"). Tokens carry
 * `iat` in whole seconds, so a session opened later in the same second is ended too (sign in
 * again a second later).
 */
export async function revokeAllSessions(db: Db, operatorId: string, now: number): Promise<void> {
  const notBefore = new Date(Math.floor(now / 1000) * 1000 + 1000);
  await db
    .update(operators)
    .set({ sessionsNotBefore: notBefore })
    .where(eq(operators.id, operatorId));
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
