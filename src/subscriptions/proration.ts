/**
 * Proration arithmetic and the direction of a plan change, in integer minor units.
 *
 * Rounding (the one rule): a proration line is `amount × remaining / length` for a price's
 * `amount` per period, the `remaining` seconds of the current period after the proration date,
 * and the period's `length` in seconds, computed exactly (BigInt) and rounded once to the
 * nearest minor unit, halves to even (banker's rounding, unbiased over many lines). Each line is
 * rounded on its own and an invoice's total is the exact sum of its lines, so:
 * - every line is within ½ minor unit of its exact value, a change's net (credit + charge)
 *   within 1 minor unit of the exact difference;
 * - the lines one invoice shows always add up to what it charges;
 * - a change and its reverse at the same second net exactly zero (same computation, opposite
 *   signs; halves to even is symmetric around zero), as does a change to an equal price.
 * Zero-decimal currencies (JPY, KRW…) need nothing special: every amount is already minor units.
 *
 * Direction: a change is an upgrade when the new price costs more per second than the old,
 * compared by cross-multiplication (`a.amount × length(b)` vs `b.amount × length(a)`, BigInt)
 * over the cadences' nominal lengths (src/subscriptions/cycles.ts `nominalSeconds`), never by
 * floating-point division.
 */
import { type Cadence, nominalSeconds } from './cycles';

export type ChangeDirection = 'upgrade' | 'downgrade' | 'lateral';

/** What a price costs: `amount` minor units every cadence. */
export interface Rate extends Cadence {
  amount: number;
}

/** `n / d` rounded to the nearest integer, halves to even; `d` > 0. */
function divRoundHalfEven(n: bigint, d: bigint): bigint {
  const negative = n < 0n;
  const m = negative ? -n : n;
  let q = m / d;
  const twice = (m % d) * 2n;
  if (twice > d || (twice === d && q % 2n === 1n)) q += 1n;
  return negative ? -q : q;
}

/** Throws a `RangeError` unless `amount` is a whole, non-negative, safe number of minor units. */
export function assertMinorUnits(amount: number, what: string): void {
  if (!Number.isSafeInteger(amount) || amount < 0) {
    throw new RangeError(`${what} must be whole minor units ≥ 0: ${amount}`);
  }
}

/**
 * The share of `amount` for `remaining` of `length` seconds, rounded once (halves to even).
 * `0 ≤ remaining ≤ length`, `length` > 0, all integers.
 */
export function prorate(amount: number, remaining: number, length: number): number {
  assertMinorUnits(amount, 'amount');
  if (!Number.isSafeInteger(length) || length <= 0) {
    throw new RangeError(`period length must be whole seconds > 0: ${length}`);
  }
  if (!Number.isSafeInteger(remaining) || remaining < 0 || remaining > length) {
    throw new RangeError(`remaining seconds must be 0–${length}: ${remaining}`);
  }
  return Number(divRoundHalfEven(BigInt(amount) * BigInt(remaining), BigInt(length)));
}

/** −1, 0 or 1 as `a` costs less than, as much as, or more than `b` per second. */
export function compareRates(a: Rate, b: Rate): -1 | 0 | 1 {
  assertMinorUnits(a.amount, 'amount');
  assertMinorUnits(b.amount, 'amount');
  const left = BigInt(a.amount) * BigInt(nominalSeconds(b));
  const right = BigInt(b.amount) * BigInt(nominalSeconds(a));
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Whether moving from `current` to `next` is an upgrade, a downgrade, or neither. */
export function changeDirection(current: Rate, next: Rate): ChangeDirection {
  const c = compareRates(next, current);
  return c > 0 ? 'upgrade' : c < 0 ? 'downgrade' : 'lateral';
}
