/**
 * A subscription as its SubscriptionDurableObject holds it, the view the API answers with, and
 * what a checkout hands the object. Transport-free: the object and the routes share these.
 */
import type { Grant } from '../../entitlements/fold';
import type { PaymentRouting } from '../../payments/routing';
import type { Mode, StoredPaymentMethod } from '../../payments/types';
import type { BillingState, InvoiceLine, PlanPrice } from '../../subscriptions/billing';
import type { DunningConfig, DunningStreak } from '../../subscriptions/dunning';
import type { LifecycleState } from '../../subscriptions/lifecycle';
import type { BundleTrial } from '../../subscriptions/settings';
import type { UnixSeconds } from '../../subscriptions/time';

/** A time as the API shows it (as every other timestamp: `2027-01-31T00:00:00.000Z`). */
export function apiTime(t: UnixSeconds): string {
  return new Date(t * 1000).toISOString();
}
const isoOf = apiTime;

import type { PaymentView } from '../payments/record';

/** A bundle as a subscription refers to it. */
export interface BundleRef {
  id: string;
  slug: string;
  name: string;
  /**
   * What the bundle grants, from the snapshot the checkout or change was made with (the
   * customer's entitlements object folds it). Absent on subscriptions made before it was kept.
   */
  entitlements?: Grant[];
}

/** What the payments layer needs to route a charge for this storefront, as last published. */
export interface ChargeTerms {
  routing: PaymentRouting;
  /** Providers a killswitch had turned off. */
  killed: string[];
  configVersion: number;
  /** The buyer's country at checkout (routing rules by country). */
  country?: string;
}

/** What a checkout hands the subscription object: everything resolved at the edge. */
export interface CheckoutInput {
  subscriptionId: string;
  /** Hash of what the caller asked: the same Idempotency-Key with other terms is refused. */
  requestHash: string;
  tenantId: string;
  storefrontId: string;
  mode: Mode;
  customer: { id: string; email: string | null };
  bundle: BundleRef;
  price: PlanPrice;
  /** The trial to start (days resolved), or null for none. */
  trial: (Pick<BundleTrial, 'missingPaymentMethod'> & { days: number }) | null;
  paymentMethod: StoredPaymentMethod | null;
  terms: ChargeTerms;
  dunning: DunningConfig;
  /** The storefront's `subscriptions.refundEndsAccess` as the checkout's edge saw it. */
  refundEndsAccess?: boolean;
  testClock: { id: string; now: UnixSeconds } | null;
  targetingKey: string | null;
  campaign: string | null;
}

/** An invoice not paid yet: the first one, a renewal being dunned, a resume. */
export interface OpenInvoice {
  /** The natural key its payments derive from (`initial`, `renewal:<period start>`…). */
  key: string;
  amountDue: number;
  currency: string;
  lines: InvoiceLine[];
}

/** A payment made for the subscription, as the object lists it. */
export interface SubscriptionPayment {
  id: string;
  /** What it paid for: `checkout`, `renewal`, `dunning_retry`, `plan_change`, `resume`… */
  purpose: string;
  /** The natural key it was made under (`attempt:<invoice>:<n>`). */
  key: string;
  status: PaymentView['status'];
  amount: number;
  /** What was refunded of it so far, as the payment object told the subscription. */
  amountRefunded: number;
  currency: string;
  provider: string | null;
  declineCode: string | null;
  createdAt: string;
}

export interface SubscriptionRecord {
  id: string;
  tenantId: string;
  storefrontId: string;
  mode: Mode;
  customerId: string;
  /** Kept so the Postgres copy can create the customer row it refers to. */
  customerEmail: string | null;
  bundle: BundleRef;
  billing: BillingState;
  /** The bundle a deferred downgrade switches to at the period end. */
  pendingBundle: BundleRef | null;
  lifecycle: LifecycleState;
  /** What trial end does without a payment method. */
  trialEnd: { at: UnixSeconds; missingPaymentMethod: BundleTrial['missingPaymentMethod'] } | null;
  dunning: DunningConfig;
  /** The failure streak being dunned (past_due), else null. */
  streak: DunningStreak | null;
  openInvoice: OpenInvoice | null;
  paymentMethod: StoredPaymentMethod | null;
  terms: ChargeTerms;
  testClockId: string | null;
  /** The test clock's time as it last told the object (null without a clock). */
  clockNow: UnixSeconds | null;
  targetingKey: string | null;
  campaign: string | null;
  createdAt: UnixSeconds;
  cancelledAt: UnixSeconds | null;
  endedAt: UnixSeconds | null;
  pausedAt: UnixSeconds | null;
  /** One more at every saved change; Postgres keeps the newest copy only. */
  version: number;
  /**
   * A charge whose outcome is not known yet (unknown at the provider): what made it, asked
   * again at `retryAt` under the same natural key until it is known. Nothing else charges
   * meanwhile (a second charge beside one that may have captured is how double charges happen).
   */
  pendingCharge?: PendingCharge | null;
  /**
   * Charges with an answer so far, outside renewals: the key of a change, a resume or a retry
   * with a new method (`change:<n>`…), so a retried call reuses the key of an attempt whose
   * answer was lost, and a new attempt after a decline is a new payment.
   */
  chargeSeq?: number;
  /**
   * The payment that paid the current period (the checkout's, a renewal's, the retry that
   * recovered it, a resume's, a change that restarted the cycle), null when the period was not
   * paid by a payment (a trial, a zero or credited invoice, unpaid). A full refund of it ends
   * access when {@link refundEndsAccess}. Absent on records made before it was kept.
   */
  periodPaymentId?: string | null;
  /** The storefront's `subscriptions.refundEndsAccess` as last seen (absent: the default, true). */
  refundEndsAccess?: boolean;
  /** Analytics facts folded from the events at each save (src/analytics/facts.ts). */
  convertedAt?: UnixSeconds | null;
  firstPaidAt?: UnixSeconds | null;
  firstPaidPriceId?: string | null;
}

export type PendingCharge =
  | { type: 'initial'; key: string; n: string; purpose: string; retryAt: number; tries: number }
  | { type: 'action'; retryAt: number; tries: number }
  | { type: 'command'; command: unknown; retryAt: number; tries: number };

const iso = (t: UnixSeconds | null | undefined) =>
  t === null || t === undefined ? null : isoOf(t);

/** A subscription as the API shows it. */
export function subscriptionView(r: SubscriptionRecord) {
  const l = r.lifecycle;
  const unpaidStart = l.status === 'incomplete' || l.status === 'incomplete_expired';
  return {
    id: r.id,
    object: 'subscription' as const,
    livemode: r.mode === 'live',
    customerId: r.customerId,
    status: l.status,
    bundleId: r.bundle.id,
    bundleSlug: r.bundle.slug,
    priceId: r.billing.price.id,
    amount: r.billing.price.amount,
    currency: r.billing.price.currency,
    interval: r.billing.price.interval,
    intervalCount: r.billing.price.intervalCount,
    currentPeriodStart: unpaidStart ? null : iso(r.billing.period.start),
    currentPeriodEnd: unpaidStart ? null : iso(r.billing.period.end),
    billingAnchor: iso(r.billing.anchor),
    cancelAtPeriodEnd: l.cancelAtPeriodEnd,
    trialEnd: iso(r.trialEnd?.at),
    billingIssue: l.billingIssue,
    pausedAt: iso(r.pausedAt),
    resumeAt: iso(l.resumeAt),
    cancelledAt: iso(r.cancelledAt),
    endedAt: iso(r.endedAt),
    creditBalance: r.billing.creditBalance,
    pendingChange: r.billing.scheduled
      ? {
          bundleId: r.pendingBundle?.id ?? r.billing.scheduled.price.bundleId,
          priceId: r.billing.scheduled.price.id,
          at: isoOf(r.billing.scheduled.at),
        }
      : null,
    latestInvoice: r.openInvoice
      ? {
          key: r.openInvoice.key,
          amountDue: r.openInvoice.amountDue,
          currency: r.openInvoice.currency,
          paid: false,
        }
      : null,
    paymentMethodId: r.paymentMethod?.id ?? null,
    testClockId: r.testClockId,
    targetingKey: r.targetingKey,
    campaign: r.campaign,
    createdAt: isoOf(r.createdAt),
  };
}
export type SubscriptionView = ReturnType<typeof subscriptionView>;

/** One entry of a subscription's event log. */
export interface SubscriptionEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  /** ISO time it happened (the test clock's time on a clock). */
  occurredAt: string;
}
