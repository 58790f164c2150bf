/**
 * Trials: when a trial ends and what its end does.
 *
 * A trial of `days` days ends at the same second of the day, `days` × 86,400 s after it starts.
 * The paid billing cycle is anchored at the trial's end (Stripe's default), so the first paid
 * period runs from the trial's end to one cadence later (src/subscriptions/cycles.ts).
 *
 * At trial end a customer with a payment method is charged (`trial_ended_paid`, or
 * `trial_ended_payment_failed` → `past_due` and dunning). Without one, the storefront's
 * `missingPaymentMethod` says what happens (Stripe's trial_settings.end_behavior): `cancel`
 * (the default, → `cancelled`) or `pause` (→ `paused`, resumed when a method is added).
 */
import { z } from 'zod';
import type { TrialNoMethodEndState } from './lifecycle';
import { assertUnixSeconds, SECONDS_PER_DAY, type UnixSeconds } from './time';

/** Two years, as Stripe's maximum trial. */
export const MAX_TRIAL_DAYS = 730;

export const TRIAL_MISSING_PAYMENT_METHOD_ACTIONS = ['cancel', 'pause'] as const;
export type TrialMissingPaymentMethodAction = (typeof TRIAL_MISSING_PAYMENT_METHOD_ACTIONS)[number];

/** A price's or a storefront's trial, validated on write. */
export const TrialSettingsSchema = z.strictObject({
  days: z.number().int().min(1).max(MAX_TRIAL_DAYS),
  missingPaymentMethod: z.enum(TRIAL_MISSING_PAYMENT_METHOD_ACTIONS).default('cancel'),
});
export type TrialSettings = z.output<typeof TrialSettingsSchema>;

/** When a trial of `days` days started at `start` ends. Throws a `RangeError` for bad input. */
export function trialEnd(start: UnixSeconds, days: number): UnixSeconds {
  assertUnixSeconds(start, 'trial start');
  if (!Number.isInteger(days) || days < 1 || days > MAX_TRIAL_DAYS) {
    throw new RangeError(`trial days must be 1–${MAX_TRIAL_DAYS}: ${days}`);
  }
  const end = start + days * SECONDS_PER_DAY;
  assertUnixSeconds(end, 'trial end');
  return end;
}

/** What trial end does: charge the customer's method, or end the trial without one. */
export type TrialEndAction =
  | { kind: 'charge' }
  | {
      kind: 'no_payment_method' /** The `to` of `trial_ended_no_method`. */;
      to: TrialNoMethodEndState;
    };

/** The action at trial end for a customer who has (or has no) payment method. */
export function trialEndAction(settings: TrialSettings, hasPaymentMethod: boolean): TrialEndAction {
  if (hasPaymentMethod) return { kind: 'charge' };
  return {
    kind: 'no_payment_method',
    to: settings.missingPaymentMethod === 'pause' ? 'paused' : 'cancelled',
  };
}
