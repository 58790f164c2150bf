/**
 * The static rate table a tenant-wide MRR total is converted with. Reports show every
 * currency's own figure beside the total, and a currency missing here is listed as not
 * converted (the total then says it is partial) — amounts are never added across currencies
 * silently.
 */

/** The day these rates were taken (ECB reference rates, rounded). */
export const RATES_DATE = '2026-12-01';

/** The currency tenant totals are converted to. */
export const REPORTING_CURRENCY = 'USD';

/** US dollars per one major unit of each currency. */
export const USD_PER_UNIT: Readonly<Record<string, number>> = {
  USD: 1,
  EUR: 1.08,
  GBP: 1.27,
  JPY: 0.0067,
  CAD: 0.73,
  AUD: 0.66,
  CHF: 1.13,
  SEK: 0.095,
  NOK: 0.093,
  DKK: 0.145,
  PLN: 0.25,
  BRL: 0.2,
  MXN: 0.058,
  INR: 0.012,
  SGD: 0.74,
  NZD: 0.6,
};

/** Minor-unit exponents that are not 2 (ISO 4217). */
const EXPONENT: Readonly<Record<string, number>> = { JPY: 0, KRW: 0, CLP: 0, ISK: 0, VND: 0 };

export function minorExponent(currency: string): number {
  return EXPONENT[currency] ?? 2;
}

/**
 * `amount` minor units of `currency` in minor units of {@link REPORTING_CURRENCY}, rounded half
 * away from zero; null when the table has no rate for it.
 */
export function toReporting(amount: number, currency: string): number | null {
  const rate = USD_PER_UNIT[currency];
  if (rate === undefined) return null;
  const major = amount / 10 ** minorExponent(currency);
  const usdMinor = major * rate * 10 ** minorExponent(REPORTING_CURRENCY);
  return Math.sign(usdMinor) * Math.round(Math.abs(usdMinor));
}

export interface CurrencyTotal {
  currency: string;
  amount: number;
}

/** A tenant-wide total: each currency's own, and their sum converted at the static table. */
export function convertedTotal(byCurrency: readonly CurrencyTotal[]) {
  let amount = 0;
  const unconverted: string[] = [];
  for (const c of byCurrency) {
    const v = toReporting(c.amount, c.currency);
    if (v === null) unconverted.push(c.currency);
    else amount += v;
  }
  return {
    currency: REPORTING_CURRENCY,
    amount,
    ratesDate: RATES_DATE,
    /** Currencies left out of `amount` (no rate): the total is partial when this is not empty. */
    unconverted,
  };
}
