/**
 * The RPC contract of a subscription object (durable-objects/subscription.ts): one per
 * subscription, named by its id. It owns the subscription's live state; Postgres holds a copy.
 */
import type { Outcome } from '../domain/errors';
import type { StoredPaymentMethod } from '../payments/types';
import type { PaymentView } from '../services/payments/record';
import type {
  BundleRef,
  ChargeTerms,
  CheckoutInput,
  SubscriptionEvent,
  SubscriptionPayment,
  SubscriptionView,
} from '../services/subscriptions/record';
import type { PlanPrice, ProrationBehavior } from '../subscriptions/billing';
import type { DunningConfig } from '../subscriptions/dunning';
import type { ChangeDirection } from '../subscriptions/proration';
import type { UnixSeconds } from '../subscriptions/time';

/** What a call that may charge answers. */
export interface SubscriptionResult {
  subscription: SubscriptionView;
  /** The payment the call made (or replayed); null when nothing was charged. */
  payment: PaymentView | null;
  /** True when `payment` failed: the call changed nothing but that attempt (a 402). */
  declined: boolean;
  /**
   * True when `payment`'s outcome is not known yet (a provider timed out and could not be
   * asked): nothing is applied; the object asks again until it knows, then applies it (a 202).
   */
  pending?: boolean;
}

/** A plan change as the route resolved it. */
export interface PlanChangeInput {
  bundle: BundleRef;
  price: PlanPrice;
  proration: ProrationBehavior;
  /** Default: now. Within the current period, not in the future. */
  prorationDate?: UnixSeconds;
  /** Defer a downgrade to the period end. */
  atPeriodEnd?: boolean;
  /**
   * How far back `prorationDate` may be (a customer token's change: a preview's date, minutes
   * old, never the period's start, which would credit time already used).
   */
  maxBackdateSeconds?: number;
}

/** Every call that changes a subscription. */
export type SubscriptionCommand =
  | { type: 'pause'; resumeAt: UnixSeconds | null }
  | { type: 'resume' }
  | { type: 'cancel'; atPeriodEnd: boolean }
  | { type: 'reactivate' }
  | ({ type: 'change' } & PlanChangeInput)
  | { type: 'payment_method'; paymentMethod: StoredPaymentMethod };

/** The storefront's current terms, refreshed by the route on each call that may charge. */
export interface CurrentTerms {
  terms: ChargeTerms;
  dunning: DunningConfig;
  /** The storefront's `subscriptions.refundEndsAccess` (absent: not known, the default true). */
  refundEndsAccess?: boolean;
}

/**
 * What a payment object tells its subscription after a refund (durable-objects/payment.ts):
 * the payment and every succeeded refund of it so far, so a redelivery, or two notices crossing,
 * apply each refund once (by its id).
 */
export interface RefundNotice {
  paymentId: string;
  tenantId: string;
  storefrontId: string;
  mode: string;
  /** The payment's captured amount (minor units of `currency`). */
  amount: number;
  currency: string;
  refunds: { id: string; amount: number; createdAt: string }[];
}

/** What the subscription did with a {@link RefundNotice}. */
export interface RefundNoticeResult {
  /**
   * `applied`: new refunds recorded; `duplicate`: all seen before; `ignored`: not its payment;
   * `retry`: not known yet (a charge of its is unsettled): tell it again later.
   */
  effect: 'applied' | 'duplicate' | 'ignored' | 'retry';
  /** Whether this notice ended the subscription (a full refund of the current period's payment). */
  ended: boolean;
  status: string | null;
}

/** A change's preview, as `POST …/change/preview` answers it. */
export interface ChangePreviewView {
  amount: number;
  currency: string;
  prorationDate: string;
  lines: { description: string; amount: number; periodStart: string; periodEnd: string }[];
  direction: ChangeDirection;
  timing: 'immediate' | 'period_end';
  /** What goes to the next invoice instead of being charged now (`create_prorations`). */
  addedToNextInvoice: number;
}

/** An Idempotency-Key as the object keeps it: the key and the hash of the request. */
export interface IdempotencyClaim {
  key: string;
  requestHash: string;
}

export interface SubscriptionContract extends Rpc.DurableObjectBranded {
  /** Creates the subscription (once: the same id again replays the first answer). */
  checkout(
    input: CheckoutInput,
  ): Promise<Outcome<SubscriptionResult & { replayed: boolean; status: number }>>;
  get(): Promise<SubscriptionView | null>;
  owner(): Promise<{
    tenantId: string;
    storefrontId: string;
    mode: string;
    customerId: string;
  } | null>;
  /** Applies a command (idempotent by `claim`: a replay answers the first result). */
  command(
    command: SubscriptionCommand,
    current: CurrentTerms | null,
    claim: IdempotencyClaim | null,
  ): Promise<Outcome<SubscriptionResult & { replayed: boolean }>>;
  preview(change: PlanChangeInput): Promise<Outcome<ChangePreviewView>>;
  /** The event log from `afterSeq` on, oldest first. */
  events(afterSeq: number, limit: number): Promise<SubscriptionEvent[]>;
  payments(): Promise<SubscriptionPayment[]>;
  /** Does what is due now (renewal, retry, expiry…) on the real clock: the alarm's work. */
  tick(): Promise<{ fired: number }>;
  /** Test clocks: when the next thing is due (null: nothing). */
  nextDue(): Promise<UnixSeconds | null>;
  /** Test clocks: the clock is at `at`; does what is due by then, in order. */
  advanceTo(at: UnixSeconds): Promise<{ fired: number; nextDue: UnixSeconds | null }>;
  /** Whether Postgres has every event and the latest state (tests, operations). */
  copied(): Promise<{ copied: boolean; events: number; copiedEvents: number }>;
  /**
   * A payment of this subscription was refunded (told by the payment object, again until it
   * answers): each refund recorded once; a full refund of the current period's payment ends it.
   */
  paymentRefunded(notice: RefundNotice): Promise<RefundNoticeResult>;
}
