import { describe, expect, it } from 'vitest';
import { StorefrontSnapshotSchema } from '../../src/edge/snapshot';
import { StorefrontSpecSchema } from '../../src/services/tenant-config/spec';
import {
  DEFAULT_SUBSCRIPTION_SETTINGS,
  SubscriptionSettingsSchema,
} from '../../src/subscriptions/settings';

const storefront = {
  slug: 'us-store',
  name: 'US Store',
  currency: 'USD',
  region: 'US',
};

describe('subscriptions.refundEndsAccess', () => {
  it('defaults to true: in the settings, in a storefront spec without settings, and with only dunning set', () => {
    expect(DEFAULT_SUBSCRIPTION_SETTINGS.refundEndsAccess).toBe(true);
    expect(StorefrontSpecSchema.parse(storefront).subscriptions.refundEndsAccess).toBe(true);
    const dunningOnly = SubscriptionSettingsSchema.parse({ dunning: { retryDays: [2, 5] } });
    expect(dunningOnly).toMatchObject({ refundEndsAccess: true, dunning: { retryDays: [2, 5] } });
  });

  it('is kept when set, and the dunning defaults still apply', () => {
    const off = StorefrontSpecSchema.parse({
      ...storefront,
      subscriptions: { refundEndsAccess: false },
    }).subscriptions;
    expect(off).toEqual({
      refundEndsAccess: false,
      dunning: { retryDays: [1, 3, 7, 14], graceDays: 14, endState: 'ended' },
    });
  });

  it('takes only a boolean; an unknown setting is refused', () => {
    for (const bad of ['false', 0, null, 'yes']) {
      const r = SubscriptionSettingsSchema.safeParse({ refundEndsAccess: bad });
      expect(r.success, String(bad)).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(['refundEndsAccess']);
    }
    expect(SubscriptionSettingsSchema.safeParse({ refundsEndAccess: false }).success).toBe(false);
  });

  it('a snapshot published before the setting existed reads as the default', () => {
    const parsed = StorefrontSnapshotSchema.shape.storefront.shape.subscriptions.parse({
      dunning: { retryDays: [1, 3, 7, 14], graceDays: 14, endState: 'ended' },
    });
    expect(parsed.refundEndsAccess).toBe(true);
  });
});
