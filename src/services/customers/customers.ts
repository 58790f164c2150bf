import { and, eq, sql } from 'drizzle-orm';
import { customers, tenants } from '../../db/schema';
import type { Db } from '../../db/types';
import { NotFoundError } from '../../domain/errors';
import { sha256Hex } from '../../lib/crypto';
import { idFromDigest } from '../../lib/ids';
import { signCustomerToken } from '../../security/customer-tokens';
import { epochSeconds } from '../../security/jwt-common';
import { type Actor, appendAudit } from '../audit/audit';
import { customerTokenIssuer } from './issuer';
import { activeSigningKey, type SigningKeyEnv } from './signing-keys';

type CustomerRow = typeof customers.$inferSelect;

/**
 * The id of the storefront's customer with `email`: derived from the storefront and the email
 * (compared case-insensitively), so a checkout names its customer without asking Postgres and a
 * copy made after an outage lands on the same row.
 */
export async function customerIdFor(storefrontId: string, email: string): Promise<string> {
  return idFromDigest(
    'cus',
    await sha256Hex(`customer:${storefrontId}:${email.trim().toLowerCase()}`),
  );
}

/** A customer as the API shows it. */
export function customerView(c: CustomerRow) {
  return {
    id: c.id,
    storefrontId: c.storefrontId,
    email: c.email,
    name: c.name,
    externalId: c.externalId,
    createdAt: c.createdAt.toISOString(),
  };
}

export interface UpsertCustomerInput {
  tenantId: string;
  storefrontId: string;
  email: string;
  name?: string | null;
  externalId?: string | null;
}

/**
 * The storefront's customer with this email (compared case-insensitively), created if there is
 * none. A customer is unique within a storefront: the same email in another storefront is
 * another customer. An existing customer is returned as it is (name and externalId are not
 * overwritten). Creation is audited in the same transaction; the audit row carries ids, not the
 * email, because the trail is append-only and personal data must stay erasable.
 */
export async function upsertCustomer(
  db: Db,
  input: UpsertCustomerInput,
  audit: { actor: Actor; requestId: string | null } = {
    actor: { type: 'system', id: 'customers' },
    requestId: null,
  },
): Promise<{ customer: ReturnType<typeof customerView>; created: boolean }> {
  const email = input.email.trim();
  return db.transaction(async (tx) => {
    // ON CONFLICT DO NOTHING waits for a concurrent insert of the same email and then yields,
    // so the select below sees the winner's row.
    const [inserted] = await tx
      .insert(customers)
      .values({
        id: await customerIdFor(input.storefrontId, email),
        tenantId: input.tenantId,
        storefrontId: input.storefrontId,
        email,
        name: input.name ?? null,
        externalId: input.externalId ?? null,
      })
      .onConflictDoNothing()
      .returning();
    if (inserted) {
      await appendAudit(tx, {
        tenantId: input.tenantId,
        storefrontId: input.storefrontId,
        actor: audit.actor,
        action: 'customer.create',
        targetType: 'customer',
        targetId: inserted.id,
        before: null,
        after: { id: inserted.id, storefrontId: inserted.storefrontId },
        reason: null,
        requestId: audit.requestId,
      });
      return { customer: customerView(inserted), created: true };
    }
    const [existing] = await tx
      .select()
      .from(customers)
      .where(
        and(
          eq(customers.tenantId, input.tenantId),
          eq(customers.storefrontId, input.storefrontId),
          sql`lower(${customers.email}) = lower(${email})`,
        ),
      );
    if (!existing) throw new Error('customer upsert found neither a new nor an existing row');
    return { customer: customerView(existing), created: false };
  });
}

/** The customer if it belongs to this storefront of this tenant; otherwise a 404. */
export async function findStorefrontCustomer(
  db: Db,
  tenantId: string,
  storefrontId: string,
  customerId: string,
) {
  const [row] = await db
    .select()
    .from(customers)
    .where(
      and(
        eq(customers.id, customerId),
        eq(customers.tenantId, tenantId),
        eq(customers.storefrontId, storefrontId),
      ),
    );
  if (!row) throw new NotFoundError(`No customer ${customerId} in this storefront.`);
  return customerView(row);
}

export interface IssueTokenInput {
  tenantId: string;
  storefrontId: string;
  customerId: string;
  ttlSeconds: number;
  /** The issuing key's mode, carried in the token. */
  mode?: 'test' | 'live';
  /** Defaults to the current time. */
  now?: Date;
  requestId?: string | null;
}

/**
 * Signs a customer token for a customer of the storefront (`aud` = storefront id, `sub` =
 * customer id, `iss` = the tenant's issuer) with the tenant's current key, creating the tenant's
 * first key if it has none. `keyCreated` means the caller must publish before the edge can
 * verify tokens of the new key. The token is returned, never stored or logged.
 */
export async function issueCustomerToken(db: Db, env: SigningKeyEnv, input: IssueTokenInput) {
  const now = input.now ?? new Date();
  await findStorefrontCustomer(db, input.tenantId, input.storefrontId, input.customerId);
  const [tenant] = await db
    .select({ slug: tenants.slug })
    .from(tenants)
    .where(eq(tenants.id, input.tenantId));
  if (!tenant) throw new NotFoundError('No such tenant.');
  const { key, created, sealed } = await activeSigningKey(db, env, input.tenantId, {
    now,
    requestId: input.requestId,
  });
  const issuer = customerTokenIssuer(tenant.slug);
  const token = await signCustomerToken(key, {
    issuer,
    audience: input.storefrontId,
    subject: input.customerId,
    tenantId: input.tenantId,
    ttlSeconds: input.ttlSeconds,
    now: now.getTime(),
    ...(input.mode ? { mode: input.mode } : {}),
  });
  const exp = epochSeconds(now.getTime()) + input.ttlSeconds;
  return {
    token,
    expiresAt: new Date(exp * 1000).toISOString(),
    kid: key.kid,
    keyCreated: created,
    keyCreatedAt: new Date(key.createdAt),
    /** For the edge's signer entry (src/services/customers/signer.ts); never shown. */
    signer: { tenantId: input.tenantId, kid: key.kid, alg: key.alg, sealed, issuer },
  };
}
