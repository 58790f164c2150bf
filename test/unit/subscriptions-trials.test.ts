import { describe, expect, it } from 'vitest';
import { fieldErrors } from '../../src/errors';
import { isoOf, toUnixSeconds } from '../../src/subscriptions/time';
import {
  MAX_TRIAL_DAYS,
  TrialSettingsSchema,
  trialEnd,
  trialEndAction,
} from '../../src/subscriptions/trials';

const at = (iso: string) => toUnixSeconds(new Date(iso));

describe('trials', () => {
  it('end trialDays × 24 h after they start, at the same second', () => {
    expect(isoOf(trialEnd(at('2024-02-15T13:14:15Z'), 14))).toBe('2024-02-29T13:14:15Z');
    expect(isoOf(trialEnd(at('2025-01-01T00:00:00Z'), MAX_TRIAL_DAYS))).toBe(
      '2027-01-01T00:00:00Z',
    );
  });

  it('are 1–730 whole days', () => {
    for (const days of [0, -1, 1.5, MAX_TRIAL_DAYS + 1]) {
      expect(() => trialEnd(at('2025-01-01T00:00:00Z'), days)).toThrow(RangeError);
    }
    const errors = (input: unknown) => {
      const r = TrialSettingsSchema.safeParse(input);
      return r.success ? [] : fieldErrors(r.error.issues).map((e) => e.path);
    };
    expect(errors({ days: 0 })).toEqual(['days']);
    expect(errors({ days: 731 })).toEqual(['days']);
    expect(errors({ days: 7, missingPaymentMethod: 'charge' })).toEqual(['missingPaymentMethod']);
    expect(errors({ days: 7, extra: true })).toHaveLength(1);
  });

  it('charge a customer with a payment method; without, cancel (default) or pause', () => {
    const cancel = TrialSettingsSchema.parse({ days: 7 });
    expect(cancel).toEqual({ days: 7, missingPaymentMethod: 'cancel' });
    expect(trialEndAction(cancel, true)).toEqual({ kind: 'charge' });
    expect(trialEndAction(cancel, false)).toEqual({ kind: 'no_payment_method', to: 'cancelled' });
    const pause = TrialSettingsSchema.parse({ days: 7, missingPaymentMethod: 'pause' });
    expect(trialEndAction(pause, true)).toEqual({ kind: 'charge' });
    expect(trialEndAction(pause, false)).toEqual({ kind: 'no_payment_method', to: 'paused' });
  });
});
