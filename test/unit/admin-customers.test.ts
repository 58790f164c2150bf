import { describe, expect, it } from 'vitest';
import { nextRenewalAt, parseCustomerQuery } from '../../src/services/admin/customers';

describe('parseCustomerQuery', () => {
  it('reads ids exactly and anything else as a lower-cased email prefix', () => {
    const id = '01J8Z3X4ZK7M2N5P6Q7R8S9T0V';
    expect(parseCustomerQuery(` cus_${id} `)).toEqual({ kind: 'customer', id: `cus_${id}` });
    expect(parseCustomerQuery(`sub_${id}`)).toEqual({ kind: 'subscription', id: `sub_${id}` });
    expect(parseCustomerQuery(`pay_${id}`)).toEqual({ kind: 'payment', id: `pay_${id}` });
    // Not an id (lower case, too short): an email prefix like any other text.
    expect(parseCustomerQuery(`cus_${id.toLowerCase()}`)).toEqual({
      kind: 'email',
      prefix: `cus_${id.toLowerCase()}`,
    });
    expect(parseCustomerQuery('Ada.Active@')).toEqual({ kind: 'email', prefix: 'ada.active@' });
  });
});

describe('nextRenewalAt', () => {
  const end = new Date('2027-01-31T00:00:00Z');
  const trial = new Date('2027-01-14T00:00:00Z');
  const base = {
    status: 'active',
    currentPeriodEnd: end,
    trialEnd: null,
    cancelAtPeriodEnd: false,
    termEnd: null,
  };
  it('is the period end of an active subscription and the trial end of a trialing one', () => {
    expect(nextRenewalAt(base)).toEqual(end);
    expect(nextRenewalAt({ ...base, status: 'trialing', trialEnd: trial })).toEqual(trial);
  });
  it('is null when nothing bills by itself', () => {
    expect(nextRenewalAt({ ...base, cancelAtPeriodEnd: true })).toBeNull();
    expect(nextRenewalAt({ ...base, termEnd: end })).toBeNull();
    for (const status of ['past_due', 'paused', 'cancelled', 'ended', 'incomplete']) {
      expect(nextRenewalAt({ ...base, status })).toBeNull();
    }
  });
  it('a fixed term ending after the period end still renews at it', () => {
    expect(nextRenewalAt({ ...base, termEnd: new Date('2027-06-30T00:00:00Z') })).toEqual(end);
  });
});
