import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatMoney, isCurrency, minorUnitExponent } from '../../src/lib/money';

describe('money', () => {
  it('knows minor-unit exponents', () => {
    expect([minorUnitExponent('USD'), minorUnitExponent('JPY'), minorUnitExponent('KWD')]).toEqual([
      2, 0, 3,
    ]);
  });
  it('formats minor units exactly', () => {
    expect(formatMoney(2900, 'USD', 'en-US')).toBe('$29.00');
    expect(formatMoney(3200, 'JPY', 'ja-JP')).toBe('￥3,200');
    expect(formatMoney(1999, 'KWD', 'en-US').replace(/\s/g, ' ')).toBe('KWD 1.999');
    expect(formatMoney(5, 'USD', 'en-US')).toBe('$0.05');
    expect(formatMoney(-250, 'EUR', 'en-US')).toBe('-€2.50');
  });
  it('never loses a cent for any amount up to 2^53', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (amount) => {
        const digits = formatMoney(amount, 'USD', 'en-US').replace(/[^0-9]/g, '');
        expect(BigInt(digits)).toBe(BigInt(amount));
      }),
    );
  });
  it('validates ISO 4217 codes', () => {
    expect(isCurrency('EUR')).toBe(true);
    expect(isCurrency('eur')).toBe(false);
    expect(isCurrency('XYZ')).toBe(false);
  });
});
