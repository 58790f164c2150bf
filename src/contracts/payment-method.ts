/**
 * The RPC contract of a payment method's object (durable-objects/payment-method.ts): one per
 * payment method, named by its id, so a checkout or a renewal finds the method it charges
 * without Postgres (an outage delays the copy in `payment_methods`, not a sale).
 */
import type { StoredPaymentMethod } from '../payments/types';

export interface VaultedPaymentMethod {
  method: StoredPaymentMethod;
  tenantId: string;
  storefrontId: string;
  customerId: string | null;
}

export interface PaymentMethodContract extends Rpc.DurableObjectBranded {
  /** Keeps the method (the first save wins: a method never changes once tokenized). */
  save(entry: VaultedPaymentMethod): Promise<VaultedPaymentMethod>;
  get(): Promise<VaultedPaymentMethod | null>;
}
