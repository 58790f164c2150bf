/**
 * A subscription's money: its price, billing cycle, credit balance and the invoice lines waiting
 * for the next invoice; plan changes with proration, and renewal invoices. Pure functions of a
 * {@link BillingState}: the Durable Object keeps the state, charges what they say is due, and
 * applies the matching lifecycle event (src/subscriptions/lifecycle.ts).
 *
 * A plan change follows Stripe's proration behaviours:
 * - `create_prorations`: a credit for the unused time on the old price and a charge for the
 *   remaining time on the new one, both added to the next invoice; nothing is charged now (the
 *   `/change` payment is null).
 * - `always_invoice`: the same lines, invoiced and charged now (with any lines already waiting).
 * - `none`: no proration; the new price applies from the next invoice.
 * A change to a different cadence (monthly → yearly) resets the billing cycle to the proration
 * date and is always invoiced now, as Stripe's: the new price's whole first period is charged,
 * less the credit for the unused time (none with `none`).
 *
 * A downgrade (cheaper per second, src/subscriptions/proration.ts) may be deferred to the period
 * end: nothing is prorated and the renewal switches price. Any immediate change replaces a
 * deferred one. During a trial nothing is prorated (the trial is free): the price is swapped.
 *
 * A charge is never negative: when an invoice's lines add up to a credit, nothing is charged and
 * the credit is carried in the subscription's credit balance, which later invoices draw from
 * before charging. Each invoice satisfies `subtotal = amountDue + creditApplied − creditAdded`.
 *
 * The preview of a change is {@link previewPlanChange}, which is {@link changePlan} without the
 * next state: for the same state and proration date it shows exactly what the change charges.
 */
import { isCurrency } from '../lib/money';
import { assertCadence, type Cadence, periodAt, sameCadence } from './cycles';
import {
  assertMinorUnits,
  type ChangeDirection,
  changeDirection,
  prorate,
  type Rate,
} from './proration';
import { assertUnixSeconds, isoOf, type UnixSeconds } from './time';

/** A bundle price a subscription can be on (a `bundle_prices` row). */
export interface PlanPrice extends Rate {
  /** `price_…` */
  id: string;
  bundleId: string;
  /** ISO 4217, upper case; `amount` is in its minor units. */
  currency: string;
  /** Shown in line descriptions; the id when absent. */
  name?: string;
}

export const PRORATION_BEHAVIORS = ['create_prorations', 'always_invoice', 'none'] as const;
export type ProrationBehavior = (typeof PRORATION_BEHAVIORS)[number];

/** `unused_time` credits the old price, `remaining_time` charges the new, `period` a whole one. */
export type InvoiceLineKind = 'unused_time' | 'remaining_time' | 'period';

export interface InvoiceLine {
  kind: InvoiceLineKind;
  priceId: string;
  description: string;
  /** Minor units; negative for a credit. */
  amount: number;
  periodStart: UnixSeconds;
  periodEnd: UnixSeconds;
}

export interface Invoice {
  currency: string;
  lines: InvoiceLine[];
  /** The sum of `lines`; negative when they add up to a credit. */
  subtotal: number;
  /** Taken from the credit balance, ≥ 0. */
  creditApplied: number;
  /** A net credit carried to the credit balance, ≥ 0. */
  creditAdded: number;
  /** What is charged, ≥ 0; 0 means no payment. */
  amountDue: number;
}

export interface BillingPeriod {
  start: UnixSeconds;
  end: UnixSeconds;
}

/** A downgrade deferred to the period end. */
export interface ScheduledChange {
  price: PlanPrice;
  at: UnixSeconds;
}

/** What the engine keeps of a subscription's billing between calls. */
export interface BillingState {
  price: PlanPrice;
  /** The billing cycle's anchor (period ends are computed from it; src/subscriptions/cycles.ts). */
  anchor: UnixSeconds;
  /** The current period, or the trial. */
  period: BillingPeriod;
  /** True while `period` is a trial: nothing was paid for it, nothing is prorated. */
  inTrial: boolean;
  /** Minor units the next invoices draw from before charging, ≥ 0. */
  creditBalance: number;
  /** Lines waiting for the next invoice (proration under `create_prorations`). */
  pendingLines: InvoiceLine[];
  scheduled: ScheduledChange | null;
}

/** Throws a `RangeError` for a price that is not whole minor units of a known currency. */
export function assertPlanPrice(price: PlanPrice): void {
  if (!price.id) throw new RangeError('a price needs an id');
  if (!isCurrency(price.currency)) throw new RangeError(`unknown currency ${price.currency}`);
  assertMinorUnits(price.amount, `amount of ${price.id}`);
  assertCadence(price);
}

function cycleOf(anchor: UnixSeconds, cadence: Cadence) {
  return { anchor, interval: cadence.interval, intervalCount: cadence.intervalCount };
}

function labelOf(price: PlanPrice): string {
  return price.name ?? price.id;
}

/** Billing that starts paid at `start`: the cycle is anchored there. */
export function startBilling(price: PlanPrice, start: UnixSeconds): BillingState {
  assertPlanPrice(price);
  const first = periodAt(cycleOf(start, price), start);
  return {
    price,
    anchor: start,
    period: { start: first.start, end: first.end },
    inTrial: false,
    creditBalance: 0,
    pendingLines: [],
    scheduled: null,
  };
}

/** Billing that starts with a trial from `start` to `trialEnd`; the cycle is anchored at its end. */
export function startTrialBilling(
  price: PlanPrice,
  start: UnixSeconds,
  trialEnd: UnixSeconds,
): BillingState {
  assertPlanPrice(price);
  assertUnixSeconds(start, 'trial start');
  assertUnixSeconds(trialEnd, 'trial end');
  if (trialEnd <= start) throw new RangeError('a trial must end after it starts');
  return {
    price,
    anchor: trialEnd,
    period: { start, end: trialEnd },
    inTrial: true,
    creditBalance: 0,
    pendingLines: [],
    scheduled: null,
  };
}

function sum(amounts: readonly number[]): number {
  let total = 0;
  for (const a of amounts) total += a;
  if (!Number.isSafeInteger(total)) throw new RangeError('an invoice total exceeds safe integers');
  return total;
}

/**
 * The invoice for `lines` given a `creditBalance`: a positive subtotal draws on the balance
 * first, a negative one is charged nothing and adds its credit to the balance.
 */
export function invoiceFor(
  currency: string,
  lines: readonly InvoiceLine[],
  creditBalance: number,
): Invoice {
  assertMinorUnits(creditBalance, 'credit balance');
  const subtotal = sum(lines.map((l) => l.amount));
  const creditApplied = subtotal > 0 ? Math.min(creditBalance, subtotal) : 0;
  const creditAdded = subtotal < 0 ? -subtotal : 0;
  return {
    currency,
    lines: [...lines],
    subtotal,
    creditApplied,
    creditAdded,
    amountDue: subtotal > 0 ? subtotal - creditApplied : 0,
  };
}

function balanceAfter(creditBalance: number, invoice: Invoice): number {
  const after = creditBalance - invoice.creditApplied + invoice.creditAdded;
  if (!Number.isSafeInteger(after))
    throw new RangeError('the credit balance exceeds safe integers');
  return after;
}

function periodLine(price: PlanPrice, period: BillingPeriod): InvoiceLine {
  return {
    kind: 'period',
    priceId: price.id,
    description: `${labelOf(price)} from ${isoOf(period.start)} to ${isoOf(period.end)}`,
    amount: price.amount,
    periodStart: period.start,
    periodEnd: period.end,
  };
}

/**
 * Renews at the end of the current period (or trial): the invoice for the next period (lines
 * waiting, then the period at the price it switches to, if a downgrade was deferred) and the
 * billing state in that period. The invoice is what the renewal charges, paid or not: a failed
 * payment is dunned, and the period has begun either way (as Stripe's).
 */
export function renew(billing: BillingState): { invoice: Invoice; next: BillingState } {
  const price = billing.scheduled?.price ?? billing.price;
  // A deferred change to another cadence starts its cycle where the old one stops.
  const anchor = sameCadence(price, billing.price) ? billing.anchor : billing.period.end;
  const p = periodAt(cycleOf(anchor, price), billing.period.end);
  if (p.start !== billing.period.end) {
    throw new RangeError('the current period does not end on a boundary of the billing cycle');
  }
  const period = { start: p.start, end: p.end };
  const invoice = invoiceFor(
    price.currency,
    [...billing.pendingLines, periodLine(price, period)],
    billing.creditBalance,
  );
  return {
    invoice,
    next: {
      price,
      anchor,
      period,
      inTrial: false,
      creditBalance: balanceAfter(billing.creditBalance, invoice),
      pendingLines: [],
      scheduled: null,
    },
  };
}

/** The next renewal's invoice, as {@link renew} will make it. */
export function upcomingInvoice(billing: BillingState): Invoice {
  return renew(billing).invoice;
}

export interface PlanChangeRequest {
  price: PlanPrice;
  /** The second the change is prorated at; within the current period, before its end. */
  prorationDate: UnixSeconds;
  behavior: ProrationBehavior;
  /** Defer a downgrade to the period end instead of prorating it now. */
  deferDowngrade?: boolean;
}

export interface PlanChangePreview {
  direction: ChangeDirection;
  /** `period_end`: a deferred downgrade; nothing changes until the renewal. */
  timing: 'immediate' | 'period_end';
  effectiveAt: UnixSeconds;
  prorationDate: UnixSeconds;
  /** This change's lines: the proration, and on a new cadence its first period. */
  lines: InvoiceLine[];
  /** The invoice made and charged now, or null when nothing is invoiced now. */
  invoice: Invoice | null;
  /** What the change charges now (the invoice's amount due), ≥ 0; 0 means no payment. */
  amountDue: number;
  /** The lines that go to the next invoice instead (`create_prorations`). */
  addedToNextInvoice: InvoiceLine[];
  /** How the credit balance moves: + a credit carried, − credit used for `amountDue`. */
  creditBalanceDelta: number;
  /** The period after the change (a new one from the proration date when the cadence changes). */
  period: BillingPeriod;
  /** True when the change restarts the billing cycle at the proration date. */
  anchorReset: boolean;
}

export type PlanChangeError =
  | { kind: 'currency_mismatch'; current: string; requested: string }
  | { kind: 'same_price'; priceId: string }
  | {
      kind: 'proration_date_outside_period';
      prorationDate: UnixSeconds;
      periodStart: UnixSeconds;
      periodEnd: UnixSeconds;
    };

export type PlanChangeResult =
  | { ok: true; preview: PlanChangePreview; next: BillingState }
  | { ok: false; error: PlanChangeError };

/** A credit of `amount` minor units as a line amount (never −0, which JSON would hide). */
function credit(amount: number): number {
  return amount === 0 ? 0 : -amount;
}

function prorationLines(
  current: PlanPrice,
  next: PlanPrice,
  period: BillingPeriod,
  t: UnixSeconds,
  chargeRemaining: boolean,
): InvoiceLine[] {
  const length = period.end - period.start;
  const remaining = period.end - t;
  const lines: InvoiceLine[] = [
    {
      kind: 'unused_time',
      priceId: current.id,
      description: `Unused time on ${labelOf(current)} after ${isoOf(t)}`,
      amount: credit(prorate(current.amount, remaining, length)),
      periodStart: t,
      periodEnd: period.end,
    },
  ];
  if (chargeRemaining) {
    lines.push({
      kind: 'remaining_time',
      priceId: next.id,
      description: `Remaining time on ${labelOf(next)} after ${isoOf(t)}`,
      amount: prorate(next.amount, remaining, length),
      periodStart: t,
      periodEnd: period.end,
    });
  }
  return lines;
}

/**
 * Changes the subscription's price at `request.prorationDate`: what it charges now, what it adds
 * to the next invoice, how the credit balance moves, and the billing state after. Refusals are
 * data: another currency (`currency_mismatch`), the price it is already on (`same_price`), a
 * proration date outside `[period.start, period.end)`. Throws a `RangeError` for malformed
 * input (a fractional amount, an unknown currency, a cadence out of bounds).
 */
export function changePlan(billing: BillingState, request: PlanChangeRequest): PlanChangeResult {
  const { price: next, prorationDate: t, behavior } = request;
  const current = billing.price;
  assertPlanPrice(next);
  assertUnixSeconds(t, 'proration date');
  if (next.currency !== current.currency) {
    return {
      ok: false,
      error: { kind: 'currency_mismatch', current: current.currency, requested: next.currency },
    };
  }
  if (next.id === current.id) return { ok: false, error: { kind: 'same_price', priceId: next.id } };
  const { period } = billing;
  if (t < period.start || t >= period.end) {
    return {
      ok: false,
      error: {
        kind: 'proration_date_outside_period',
        prorationDate: t,
        periodStart: period.start,
        periodEnd: period.end,
      },
    };
  }
  const direction = changeDirection(current, next);
  const base = { direction, prorationDate: t, creditBalanceDelta: 0 };
  /** A change that charges and prorates nothing, taking effect at `effectiveAt`. */
  const nothingDue = (
    timing: PlanChangePreview['timing'],
    effectiveAt: UnixSeconds,
  ): PlanChangePreview => ({
    ...base,
    timing,
    effectiveAt,
    lines: [],
    invoice: null,
    amountDue: 0,
    addedToNextInvoice: [],
    period,
    anchorReset: false,
  });

  if (billing.inTrial) {
    // The trial is free: nothing to prorate; the paid cycle still starts at the trial's end.
    const preview = nothingDue('immediate', t);
    return { ok: true, preview, next: { ...billing, price: next, scheduled: null } };
  }

  if (direction === 'downgrade' && request.deferDowngrade) {
    const preview = nothingDue('period_end', period.end);
    return {
      ok: true,
      preview,
      next: { ...billing, scheduled: { price: next, at: period.end } },
    };
  }

  const anchorReset = !sameCadence(current, next);
  let lines: InvoiceLine[];
  let newPeriod = period;
  if (anchorReset) {
    const first = periodAt(cycleOf(t, next), t);
    newPeriod = { start: first.start, end: first.end };
    lines = [
      ...(behavior === 'none' ? [] : prorationLines(current, next, period, t, false)),
      periodLine(next, newPeriod),
    ];
  } else {
    lines = behavior === 'none' ? [] : prorationLines(current, next, period, t, true);
  }

  const invoiceNow = anchorReset || behavior === 'always_invoice';
  const invoice = invoiceNow
    ? invoiceFor(next.currency, [...billing.pendingLines, ...lines], billing.creditBalance)
    : null;
  const creditBalance = invoice
    ? balanceAfter(billing.creditBalance, invoice)
    : billing.creditBalance;
  const addedToNextInvoice = invoiceNow ? [] : lines;
  const preview: PlanChangePreview = {
    ...base,
    timing: 'immediate',
    effectiveAt: t,
    lines,
    invoice,
    amountDue: invoice?.amountDue ?? 0,
    addedToNextInvoice,
    creditBalanceDelta: creditBalance - billing.creditBalance,
    period: newPeriod,
    anchorReset,
  };
  return {
    ok: true,
    preview,
    next: {
      price: next,
      anchor: anchorReset ? t : billing.anchor,
      period: newPeriod,
      inTrial: false,
      creditBalance,
      pendingLines: invoiceNow ? [] : [...billing.pendingLines, ...addedToNextInvoice],
      scheduled: null,
    },
  };
}

/**
 * The preview of a plan change: {@link changePlan}'s answer without the next state, so a
 * preview and the change at the same proration date charge the same amount with the same lines.
 */
export function previewPlanChange(
  billing: BillingState,
  request: PlanChangeRequest,
): { ok: true; preview: PlanChangePreview } | { ok: false; error: PlanChangeError } {
  const result = changePlan(billing, request);
  return result.ok ? { ok: true, preview: result.preview } : result;
}

/** Drops a deferred downgrade: the subscription renews on its current price. */
export function cancelScheduledChange(billing: BillingState): BillingState {
  return { ...billing, scheduled: null };
}

/** The invoice of billing that has just started paid ({@link startBilling}): its first period. */
export function firstInvoice(billing: BillingState): Invoice {
  return invoiceFor(
    billing.price.currency,
    [...billing.pendingLines, periodLine(billing.price, billing.period)],
    billing.creditBalance,
  );
}

/**
 * Billing restarted at `at` (a resume after a pause): a new cycle anchored there, its first
 * period invoiced with the lines waiting, drawing on (and keeping) the credit balance.
 */
export function restartBilling(
  billing: BillingState,
  at: UnixSeconds,
): { invoice: Invoice; next: BillingState } {
  const fresh = startBilling(billing.price, at);
  const invoice = invoiceFor(
    billing.price.currency,
    [...billing.pendingLines, periodLine(billing.price, fresh.period)],
    billing.creditBalance,
  );
  return {
    invoice,
    next: { ...fresh, creditBalance: balanceAfter(billing.creditBalance, invoice) },
  };
}
