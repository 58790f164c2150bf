/**
 * Finding a tokenized payment method for a charge: its own object first (no Postgres), the
 * `payment_methods` row for one tokenized before the objects existed (then kept in its object).
 */
import { and, eq } from 'drizzle-orm';
import type { VaultedPaymentMethod } from '../../contracts/payment-method';
import { getDb } from '../../db/client';
import { paymentMethods } from '../../db/schema';
import { NotFoundError } from '../../domain/errors';
import type { Env } from '../../env';
import type { Mode, StoredPaymentMethod } from '../../payments/types';

type MethodRow = typeof paymentMethods.$inferSelect;

/** What a charge needs of a `payment_methods` row. */
export function storedMethodOf(row: MethodRow): StoredPaymentMethod {
  const d = row.details as Record<string, string | number>;
  return {
    id: row.id,
    mode: row.mode,
    type: row.type,
    fingerprint: row.fingerprint,
    ...(row.type === 'card'
      ? {
          card: {
            brand: String(d.brand),
            last4: String(d.last4),
            expMonth: Number(d.expMonth),
            expYear: Number(d.expYear),
          },
        }
      : { bankDebit: { last4: String(d.last4), routingNumber: String(d.routingNumber) } }),
    ...(row.sandboxOutcome
      ? { sandboxOutcome: row.sandboxOutcome as StoredPaymentMethod['sandboxOutcome'] }
      : {}),
  };
}

/** The vault entry of a freshly inserted row. */
export function vaultEntryOf(row: MethodRow): VaultedPaymentMethod {
  return {
    method: storedMethodOf(row),
    tenantId: row.tenantId,
    storefrontId: row.storefrontId,
    customerId: row.customerId,
  };
}

/**
 * The payment method `id` if it belongs to this storefront in this mode; a 404 otherwise (one of
 * another storefront, tenant or mode is not shown to exist).
 */
export async function findPaymentMethod(
  env: Env,
  owner: { tenantId: string; storefrontId: string; mode: Mode },
  id: string,
): Promise<VaultedPaymentMethod> {
  const stub = env.PAYMENT_METHOD.get(env.PAYMENT_METHOD.idFromName(id));
  let entry = await stub.get();
  if (!entry) {
    const { db, close } = getDb(env);
    try {
      const [row] = await db
        .select()
        .from(paymentMethods)
        .where(and(eq(paymentMethods.id, id), eq(paymentMethods.storefrontId, owner.storefrontId)));
      if (row) entry = await stub.save(vaultEntryOf(row));
    } finally {
      await close().catch(() => {});
    }
  }
  if (
    !entry ||
    entry.tenantId !== owner.tenantId ||
    entry.storefrontId !== owner.storefrontId ||
    entry.method.mode !== owner.mode
  ) {
    throw new NotFoundError(`No payment method ${id} in this storefront (in ${owner.mode} mode).`);
  }
  return entry;
}
