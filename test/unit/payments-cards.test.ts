import { describe, expect, it } from 'vitest';
import {
  abaRoutingValid,
  bankAccountFingerprint,
  cardBrand,
  cardFingerprint,
  last4,
  luhnValid,
  tokenizeBankDebit,
  tokenizeCard,
  validateBankDebit,
  validateCard,
  validateCardNumber,
  validateCvc,
  validateExpiry,
} from '../../src/payments/cards';
import {
  SANDBOX_BANK_ACCOUNTS,
  SANDBOX_CARDS,
  SANDBOX_SUCCESS_CARDS,
  sandboxChargeOutcome,
  sandboxOutcomeForCard,
} from '../../src/payments/sandbox-cards';

const NOW = Date.UTC(2026, 5, 15); // 15 June 2026

describe('card numbers', () => {
  it.each([
    ['4242424242424242', 'visa'],
    ['4242 4242 4242 4242', 'visa'],
    ['4242-4242-4242-4242', 'visa'],
    ['4222222222222', 'visa'],
    ['5555555555554444', 'mastercard'],
    ['2223003122003222', 'mastercard'],
    ['2720990000000007', 'mastercard'],
    ['378282246310005', 'amex'],
    ['371449635398431', 'amex'],
    ['6011111111111117', 'discover'],
    ['6445644564456445', 'discover'],
    ['6500000000000002', 'discover'],
    ['3566002020360505', 'jcb'],
    ['3056930009020004', 'diners'],
    ['36227206271667', 'diners'],
    ['6200000000000005', 'unionpay'],
    ['6205500000000000004', 'unionpay'],
  ])('%s is a valid %s', (number, brand) => {
    const r = validateCardNumber(number);
    expect(r).toEqual({ ok: true, brand, last4: number.replace(/\D/g, '').slice(-4) });
  });

  it('every documented sandbox card is valid, with its brand', () => {
    for (const { number, brand } of SANDBOX_SUCCESS_CARDS) {
      expect(validateCardNumber(number), number).toMatchObject({ ok: true, brand });
    }
    for (const number of Object.keys(SANDBOX_CARDS)) {
      expect(validateCardNumber(number), number).toMatchObject({ ok: true, brand: 'visa' });
    }
  });

  it.each([
    [undefined, 'required'],
    [4242424242424242, 'required'],
    ['', 'required'],
    ['4242424242424241', 'check digit'],
    ['4242.4242.4242.4242', 'digits only'],
    ['4242424242424242a', 'digits only'],
    ['４２４２４２４２４２４２４２４２', 'digits only'],
    ['4242 4242 4242 4242 4242 4242 4242 4242', 'digits only'],
    ['42424242424', '12 to 19 digits'],
    ['42424242424242424242', '12 to 19 digits'],
    ['37828224631000', 'amex card number has 15 digits'],
    ['42424242424242', 'visa card number has 13, 16 or 19 digits'],
    ['55555555555544', 'mastercard card number has 16 digits'],
  ])('%s is refused (%s)', (number, message) => {
    const r = validateCardNumber(number);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.path).toBe('card.number');
    expect(r.error.message).toContain(message);
  });

  it('no error message contains the number', () => {
    for (const n of ['4242424242424241', '37828224631000', '424242424242424x']) {
      const r = validateCardNumber(n);
      expect(JSON.stringify(r)).not.toContain(n.slice(0, 12));
    }
  });

  it('brand of unknown ranges', () => {
    expect(cardBrand('9999999999999995')).toBe('unknown');
    expect(cardBrand('1234567890123')).toBe('unknown');
    expect(validateCardNumber('9999999999999995')).toMatchObject({ ok: true, brand: 'unknown' });
  });

  it('Luhn and last4', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('12a4')).toBe(false);
    expect(last4('4242 4242 4242 4242')).toBe('4242');
  });
});

describe('expiry and CVC', () => {
  it.each([
    [6, 2026, []],
    [12, 2046, []],
    [5, 2026, ['card.expMonth']],
    [12, 2025, ['card.expYear']],
    [1, 2047, ['card.expYear']],
    [0, 2027, ['card.expMonth']],
    [13, 2027, ['card.expMonth']],
    [1.5, 2027, ['card.expMonth']],
    ['6', 2027, ['card.expMonth']],
    [6, 27, ['card.expYear']],
    [6, '2027', ['card.expYear']],
    [undefined, undefined, ['card.expMonth', 'card.expYear']],
  ])('%s/%s → %j', (month, year, paths) => {
    expect(validateExpiry(month, year, NOW).map((e) => e.path)).toEqual(paths);
  });

  it('a card is valid through the last moment of its month (UTC)', () => {
    const lastMs = Date.UTC(2026, 6, 1) - 1;
    expect(validateExpiry(6, 2026, lastMs)).toEqual([]);
    expect(validateExpiry(6, 2026, lastMs + 1)).toHaveLength(1);
  });

  it.each([
    ['123', 'visa', true],
    ['1234', 'amex', true],
    ['123', 'amex', false],
    ['1234', 'visa', false],
    ['12a', 'visa', false],
    [123, 'visa', false],
    [undefined, 'unknown', false],
  ] as const)('cvc %s for %s: %s', (cvc, brand, ok) => {
    const e = validateCvc(cvc, brand);
    expect(e === null).toBe(ok);
    if (e) expect(e.path).toBe('card.cvc');
  });

  it('validateCard reports every failing field', () => {
    const r = validateCard(
      { number: '4242424242424241', expMonth: 13, expYear: 2026, cvc: '1' },
      NOW,
    );
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map((e) => e.path)).toEqual(['card.number', 'card.expMonth', 'card.cvc']);
    }
    const ok = validateCard(
      { number: '3782 822463 10005', expMonth: 1, expYear: 2030, cvc: '1234' },
      NOW,
    );
    expect(ok).toEqual({
      ok: true,
      card: { brand: 'amex', last4: '0005', expMonth: 1, expYear: 2030 },
    });
    const amexWith3 = validateCard(
      { number: '378282246310005', expMonth: 1, expYear: 2030, cvc: '123' },
      NOW,
    );
    expect(amexWith3.ok).toBe(false);
  });
});

describe('bank debit', () => {
  it('ABA checksum', () => {
    expect(abaRoutingValid('110000000')).toBe(true);
    expect(abaRoutingValid('021000021')).toBe(true);
    expect(abaRoutingValid('011000015')).toBe(true);
    expect(abaRoutingValid('021000022')).toBe(false);
    expect(abaRoutingValid('12345678')).toBe(false);
  });

  it.each([
    [{ accountNumber: '000123456789', routingNumber: '110000000' }, []],
    [{ accountNumber: '1234', routingNumber: '110000000' }, []],
    [{ accountNumber: '12345678901234567', routingNumber: '110000000' }, []],
    [{ accountNumber: '123', routingNumber: '110000000' }, ['bankDebit.accountNumber']],
    [
      { accountNumber: '123456789012345678', routingNumber: '110000000' },
      ['bankDebit.accountNumber'],
    ],
    [{ accountNumber: '12-34', routingNumber: '110000000' }, ['bankDebit.accountNumber']],
    [{ accountNumber: '000123456789', routingNumber: '110000001' }, ['bankDebit.routingNumber']],
    [{ accountNumber: '000123456789', routingNumber: 110000000 }, ['bankDebit.routingNumber']],
    [{}, ['bankDebit.accountNumber', 'bankDebit.routingNumber']],
  ])('%j → %j', (input, paths) => {
    const r = validateBankDebit(input);
    expect(r.ok ? [] : r.errors.map((e) => e.path)).toEqual(paths);
  });
});

describe('fingerprints and tokenization', () => {
  it('is per tenant, independent of spacing, and hex SHA-256', async () => {
    const a = await cardFingerprint('ten_a', '4242424242424242');
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await cardFingerprint('ten_a', '4242 4242 4242 4242')).toBe(a);
    expect(await cardFingerprint('ten_b', '4242424242424242')).not.toBe(a);
    expect(await cardFingerprint('ten_a', '5555555555554444')).not.toBe(a);
    const bank = await bankAccountFingerprint('ten_a', '110000000', '000123456789');
    expect(bank).toMatch(/^[0-9a-f]{64}$/);
    expect(await bankAccountFingerprint('ten_a', '021000021', '000123456789')).not.toBe(bank);
  });

  it('tokenizes a test card with its sandbox outcome, never keeping the number', async () => {
    const r = await tokenizeCard(
      { number: '4000 0000 0000 9995', expMonth: 12, expYear: 2030, cvc: '123' },
      { tenantId: 'ten_a', mode: 'test', now: NOW },
    );
    expect(r).toEqual({
      ok: true,
      method: {
        mode: 'test',
        type: 'card',
        card: { brand: 'visa', last4: '9995', expMonth: 12, expYear: 2030 },
        fingerprint: await cardFingerprint('ten_a', '4000000000009995'),
        sandboxOutcome: 'insufficient_funds',
      },
    });
    expect(JSON.stringify(r)).not.toContain('400000000000');
    const live = await tokenizeCard(
      { number: '4000000000009995', expMonth: 12, expYear: 2030, cvc: '123' },
      { tenantId: 'ten_a', mode: 'live', now: NOW },
    );
    expect(live.ok && live.method.sandboxOutcome).toBe(undefined);
  });

  it('refuses an invalid card with field errors', async () => {
    const r = await tokenizeCard(
      { number: '4242424242424242', expMonth: 1, expYear: 2026, cvc: '123' },
      { tenantId: 'ten_a', mode: 'test', now: NOW },
    );
    expect(r).toEqual({
      ok: false,
      errors: [{ path: 'card.expMonth', message: 'the card has expired' }],
    });
  });

  it('tokenizes a test bank account', async () => {
    const r = await tokenizeBankDebit(
      { accountNumber: '000111111116', routingNumber: '110000000' },
      { tenantId: 'ten_a', mode: 'test', now: NOW },
    );
    expect(r.ok && r.method).toMatchObject({
      type: 'bank_debit',
      bankDebit: { last4: '1116', routingNumber: '110000000' },
      sandboxOutcome: 'insufficient_funds',
    });
  });
});

describe('sandbox outcomes', () => {
  it('maps every test card to its charge outcome', () => {
    const expected: Record<string, unknown> = {
      '4242424242424242': { status: 'captured', providerChargeId: 'ch_1', latencyMs: 3 },
      '4000000000000002': {
        status: 'declined',
        declineCode: 'generic_decline',
        declineClass: 'issuer',
        latencyMs: 3,
      },
      '4000000000009995': { status: 'declined', declineCode: 'insufficient_funds' },
      '4000000000009987': { status: 'declined', declineCode: 'lost_card' },
      '4000000000009979': { status: 'declined', declineCode: 'stolen_card' },
      '4000000000000069': { status: 'declined', declineCode: 'expired_card' },
      '4000000000000127': { status: 'declined', declineCode: 'incorrect_cvc' },
      '4000000000000119': {
        status: 'error',
        declineCode: 'processing_error',
        declineClass: 'provider',
      },
      '4000000000000341': { status: 'declined', declineCode: 'generic_decline' },
    };
    for (const [number, outcome] of Object.entries(expected)) {
      const o = sandboxChargeOutcome(sandboxOutcomeForCard(number), 'ch_1', 3);
      expect(o, number).toMatchObject(outcome as object);
      if (o.status === 'declined') expect(o.declineClass).toBe('issuer');
    }
    expect(sandboxOutcomeForCard('5555555555554444')).toBe('succeeds');
    expect(Object.keys(SANDBOX_BANK_ACCOUNTS)).toContain('000123456789');
  });
});
