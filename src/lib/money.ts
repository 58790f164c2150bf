/**
 * ISO 4217 minor-unit exponents. Money is always an integer amount of minor units plus a
 * currency; this table says how many decimals a currency's minor unit has.
 */
const EXPONENTS: Record<string, number> = {
  BHD: 3,
  CLF: 4,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  UYW: 4,
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
};

/** Active ISO 4217 codes we accept (the common trading currencies). */
export const CURRENCIES = new Set([
  'AED',
  'ARS',
  'AUD',
  'BGN',
  'BHD',
  'BIF',
  'BRL',
  'CAD',
  'CHF',
  'CLF',
  'CLP',
  'CNY',
  'COP',
  'CZK',
  'DJF',
  'DKK',
  'EGP',
  'EUR',
  'GBP',
  'GNF',
  'HKD',
  'HUF',
  'IDR',
  'ILS',
  'INR',
  'IQD',
  'ISK',
  'JOD',
  'JPY',
  'KES',
  'KMF',
  'KRW',
  'KWD',
  'LYD',
  'MAD',
  'MXN',
  'MYR',
  'NGN',
  'NOK',
  'NZD',
  'OMR',
  'PEN',
  'PHP',
  'PKR',
  'PLN',
  'PYG',
  'QAR',
  'RON',
  'RWF',
  'SAR',
  'SEK',
  'SGD',
  'THB',
  'TND',
  'TRY',
  'TWD',
  'UAH',
  'UGX',
  'USD',
  'UYI',
  'UYU',
  'UYW',
  'VND',
  'VUV',
  'XAF',
  'XOF',
  'XPF',
  'ZAR',
]);

export function isCurrency(code: string): boolean {
  return CURRENCIES.has(code);
}

export function minorUnitExponent(currency: string): number {
  return EXPONENTS[currency] ?? 2;
}

const formatters = new Map<string, Intl.NumberFormat>();

/** `Intl.NumberFormat` per locale and currency: building one costs far more than using it. */
function numberFormat(locale: string, currency: string): Intl.NumberFormat {
  const key = `${locale}|${currency}`;
  let fmt = formatters.get(key);
  if (!fmt) {
    const exp = minorUnitExponent(currency);
    fmt = new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      minimumFractionDigits: exp,
      maximumFractionDigits: exp,
    });
    if (formatters.size > 256) formatters.clear();
    formatters.set(key, fmt);
  }
  return fmt;
}

/**
 * Formats integer minor units for display, e.g. `(2900, 'USD', 'en-US')` → `$29.00`,
 * `(3200, 'JPY', 'ja-JP')` → `￥3,200`. Never used for arithmetic.
 */
export function formatMoney(amount: number, currency: string, locale: string): string {
  const exp = minorUnitExponent(currency);
  const fmt = numberFormat(locale, currency);
  // A decimal string, not a float division, so no amount ever rounds (Intl formats strings exactly).
  const digits = Math.abs(amount)
    .toString()
    .padStart(exp + 1, '0');
  const major = exp === 0 ? digits : `${digits.slice(0, -exp)}.${digits.slice(-exp)}`;
  return fmt.format((amount < 0 ? `-${major}` : major) as unknown as number);
}
