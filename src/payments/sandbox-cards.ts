/**
 * The sandbox's test cards and bank accounts: Stripe's vocabulary, the same for every sandbox
 * provider, so a test integration behaves the same whichever provider the router picks.
 *
 * Test mode accepts any number that passes the card checks (`validateCard`); a number not in
 * `SANDBOX_CARDS` behaves as 4242 4242 4242 4242 (`succeeds`). That covers Stripe's per-brand
 * success numbers (`SANDBOX_SUCCESS_CARDS`: 5555 5555 5555 4444 mastercard, 3782 822463 10005
 * amex, …) and any other made-up valid number. Nothing in test mode ever moves money.
 *
 * Bank debit (any valid ABA routing number, e.g. Stripe's 110000000):
 * - 000123456789 succeeds, 000111111116 insufficient_funds, 000111111113 generic_decline (a
 *   closed account), 000222222227 processing_error; any other valid account succeeds.
 */
import type { ChargeOutcome, DeclineCode, SandboxOutcome } from './types';

/** Test card numbers with a special outcome (digits only). */
export const SANDBOX_CARDS: Readonly<Record<string, SandboxOutcome>> = {
  '4242424242424242': 'succeeds',
  '4000000000000002': 'generic_decline',
  '4000000000009995': 'insufficient_funds',
  '4000000000009987': 'lost_card',
  '4000000000009979': 'stolen_card',
  '4000000000000069': 'expired_card',
  '4000000000000127': 'incorrect_cvc',
  '4000000000000119': 'processing_error',
  '4000000000000341': 'attach_ok_charge_declines',
};

/** Stripe's documented success numbers per brand (they, like any valid number, succeed). */
export const SANDBOX_SUCCESS_CARDS: readonly { number: string; brand: string }[] = [
  { number: '4242424242424242', brand: 'visa' },
  { number: '4000056655665556', brand: 'visa' },
  { number: '5555555555554444', brand: 'mastercard' },
  { number: '2223003122003222', brand: 'mastercard' },
  { number: '5200828282828210', brand: 'mastercard' },
  { number: '5105105105105100', brand: 'mastercard' },
  { number: '378282246310005', brand: 'amex' },
  { number: '371449635398431', brand: 'amex' },
  { number: '6011111111111117', brand: 'discover' },
  { number: '6011000990139424', brand: 'discover' },
  { number: '6011981111111113', brand: 'discover' },
  { number: '3056930009020004', brand: 'diners' },
  { number: '36227206271667', brand: 'diners' },
  { number: '3566002020360505', brand: 'jcb' },
  { number: '6200000000000005', brand: 'unionpay' },
  { number: '6200000000000047', brand: 'unionpay' },
  { number: '6205500000000000004', brand: 'unionpay' },
];

/** Test bank accounts with a special outcome. */
export const SANDBOX_BANK_ACCOUNTS: Readonly<Record<string, SandboxOutcome>> = {
  '000123456789': 'succeeds',
  '000111111116': 'insufficient_funds',
  '000111111113': 'generic_decline',
  '000222222227': 'processing_error',
};

/** The outcome of a (validated, separator-free) test card number: unlisted numbers succeed. */
export function sandboxOutcomeForCard(digits: string): SandboxOutcome {
  return SANDBOX_CARDS[digits] ?? 'succeeds';
}

/** The outcome of a (validated) test bank account number: unlisted accounts succeed. */
export function sandboxOutcomeForBankAccount(accountNumber: string): SandboxOutcome {
  return SANDBOX_BANK_ACCOUNTS[accountNumber] ?? 'succeeds';
}

/** The issuer decline each declining outcome stands for. */
const ISSUER_DECLINES: Partial<Record<SandboxOutcome, DeclineCode>> = {
  generic_decline: 'generic_decline',
  insufficient_funds: 'insufficient_funds',
  lost_card: 'lost_card',
  stolen_card: 'stolen_card',
  expired_card: 'expired_card',
  incorrect_cvc: 'incorrect_cvc',
  attach_ok_charge_declines: 'generic_decline',
};

/**
 * What a sandbox charge of a method with this outcome returns: `succeeds` captures (with
 * `providerChargeId`); issuer declines are `declined`, `declineClass: 'issuer'` (never fail
 * over); `processing_error` is the provider's failure (`error`, `declineClass: 'provider'`,
 * which may fail over). A method without an outcome (absent) succeeds.
 */
export function sandboxChargeOutcome(
  outcome: SandboxOutcome | undefined,
  providerChargeId: string,
  latencyMs: number,
): ChargeOutcome {
  if (outcome === undefined || outcome === 'succeeds') {
    return { status: 'captured', providerChargeId, latencyMs };
  }
  if (outcome === 'processing_error') {
    return {
      status: 'error',
      declineCode: 'processing_error',
      declineClass: 'provider',
      latencyMs,
    };
  }
  const declineCode = ISSUER_DECLINES[outcome] ?? 'generic_decline';
  return { status: 'declined', declineCode, declineClass: 'issuer', latencyMs };
}

/** Whether `digits` is one of the sandbox's test card numbers (refused in live mode). */
export function isSandboxTestCard(digits: string): boolean {
  return (
    Object.hasOwn(SANDBOX_CARDS, digits) || SANDBOX_SUCCESS_CARDS.some((c) => c.number === digits)
  );
}
