/**
 * The RPC contract of the payment object (durable-objects/payment.ts): one per logical payment,
 * named by the payment id.
 */
import type { Outcome } from '../domain/errors';
import type { Mode, ProviderEvent } from '../payments/types';
import type { ChargeInput, PaymentView, RefundRecord } from '../services/payments/record';
import type { WebhookEffect } from '../services/payments/webhooks';

/** A refund as the route asks for it. */
export interface RefundInput {
  /** Minor units; default: what is left to refund. */
  amount?: number;
  reason: string | null;
  idempotencyKey: string;
  /**
   * Do not wait for the subscription's notice (its alarm sends it): for the subscription object
   * itself refunding, which would otherwise wait for its own serialized call.
   */
  deferNotice?: boolean;
}

/** A verified provider event, for the payment it names, as the webhook receiver hands it on. */
export interface PaymentEventInput {
  tenantId: string;
  mode: Mode;
  provider: string;
  event: ProviderEvent;
}

export interface PaymentContract extends Rpc.DurableObjectBranded {
  /**
   * Charges once; the same id again answers the first result (`replayed`). A refusal (the id
   * used with other terms) is the outcome's domain error: `unwrap` throws it again.
   */
  charge(input: ChargeInput): Promise<Outcome<{ payment: PaymentView; replayed: boolean }>>;
  get(): Promise<PaymentView | null>;
  /** Who the payment belongs to (the routes check it before answering). */
  owner(): Promise<{ tenantId: string; storefrontId: string; mode: string } | null>;
  /** Refunds `amount` (default: what is left); idempotent by `idempotencyKey`. */
  refund(
    req: RefundInput,
  ): Promise<Outcome<{ refund: RefundRecord; payment: PaymentView; replayed: boolean }>>;
  /** Whether Postgres has this payment's latest state (tests, operations). */
  copied(): Promise<boolean>;
  /** Applies a provider's verified webhook event, once per event id (see the object). */
  applyEvent(input: PaymentEventInput): Promise<{ effect: WebhookEffect; detail: string }>;
}
