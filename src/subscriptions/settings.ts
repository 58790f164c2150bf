/**
 * What a tenant configures about subscriptions: a bundle's trial, a storefront's dunning and
 * whether a full refund of the current period's payment ends access.
 * Validated on write (the tenant spec), published in the storefront's snapshot, read by the
 * subscription object at checkout and at every renewal.
 */
import { z } from 'zod';
import { type DunningConfig, DunningConfigSchema } from './dunning';
import { MAX_TRIAL_DAYS, TRIAL_MISSING_PAYMENT_METHOD_ACTIONS } from './trials';

/**
 * A bundle's trial: its length when the checkout does not say, whether a trial may start
 * without a payment method, and what trial end does without one (cancel, as Stripe's default,
 * or pause).
 */
export const BundleTrialSchema = z.strictObject({
  days: z.number().int().min(1).max(MAX_TRIAL_DAYS),
  requirePaymentMethod: z.boolean().default(true),
  missingPaymentMethod: z.enum(TRIAL_MISSING_PAYMENT_METHOD_ACTIONS).default('cancel'),
});
export type BundleTrial = z.output<typeof BundleTrialSchema>;

/** A storefront's subscription settings. */
export const SubscriptionSettingsSchema = z.strictObject({
  /** Retries after a failed renewal, the grace period, and where it ends (src/subscriptions/dunning.ts). */
  dunning: DunningConfigSchema.default({
    retryDays: [1, 3, 7, 14],
    graceDays: 14,
    endState: 'ended',
  }),
  /**
   * Whether a full refund of the payment that paid the current period ends the subscription
   * (and its entitlements) at once, as a cancel-now with reason `refunded`. Off: access stays
   * to the period's end, the refund is only recorded.
   */
  refundEndsAccess: z.boolean().default(true),
});
export type SubscriptionSettings = { dunning: DunningConfig; refundEndsAccess: boolean };

export const DEFAULT_SUBSCRIPTION_SETTINGS: SubscriptionSettings = SubscriptionSettingsSchema.parse(
  {},
);

/** A trial of a bundle without one configured: any length asked, a method required. */
export const DEFAULT_TRIAL: Omit<BundleTrial, 'days'> = {
  requirePaymentMethod: true,
  missingPaymentMethod: 'cancel',
};
