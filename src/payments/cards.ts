/**
 * Card and bank-debit checks for tokenization, and the payment-method fingerprint.
 *
 * Input: a card number is a string of ASCII digits; ASCII spaces and hyphens anywhere in it are
 * separators and are removed (people paste `4242 4242 4242 4242` or `4242-4242-…`). Anything
 * else (letters, dots, non-ASCII digits such as `４` or `٤`) is refused rather than guessed at, as
 * is an input longer than 32 characters. Bank account and routing numbers take digits only.
 *
 * Every failure is a field-level error (`{ path: 'card.number', message }`) for a 400. No message,
 * return value or exception of this module contains a full card or account number: the callers
 * get the brand, the last four digits and the fingerprint, never the number back.
 */
import { hmacSha256Hex } from '../lib/crypto';
import { sandboxOutcomeForBankAccount, sandboxOutcomeForCard } from './sandbox-cards';
import type { Mode, PaymentFieldError, StoredPaymentMethod } from './types';

export type CardBrand =
  | 'visa'
  | 'mastercard'
  | 'amex'
  | 'discover'
  | 'jcb'
  | 'diners'
  | 'unionpay'
  | 'unknown';

/** Longest raw card-number input accepted (19 digits plus separators). */
export const MAX_CARD_INPUT_LENGTH = 32;
export const MIN_CARD_DIGITS = 12;
export const MAX_CARD_DIGITS = 19;
/** How far ahead an expiry may be: further is a typo (2052 for 2025), not a card. */
export const MAX_EXPIRY_YEARS_AHEAD = 20;

/** Digit counts each brand issues; `unknown` takes the general 12–19. */
const BRAND_LENGTHS: Record<Exclude<CardBrand, 'unknown'>, readonly number[]> = {
  visa: [13, 16, 19],
  mastercard: [16],
  amex: [15],
  discover: [16, 17, 18, 19],
  jcb: [16, 17, 18, 19],
  diners: [14, 15, 16, 17, 18, 19],
  unionpay: [16, 17, 18, 19],
};

/**
 * The number with its separators removed, or null when it holds anything but ASCII digits,
 * spaces and hyphens (or is too long). Internal: callers never get the number back.
 */
export function normalizeCardNumber(input: string): string | null {
  if (input.length > MAX_CARD_INPUT_LENGTH) return null;
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) out += input[i];
    else if (c !== 0x20 && c !== 0x2d) return null;
  }
  return out;
}

function isDigits(s: string): boolean {
  return /^[0-9]+$/.test(s);
}

/** The Luhn (mod 10) check over a string of ASCII digits. */
export function luhnValid(digits: string): boolean {
  if (digits.length === 0 || !isDigits(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 0x30;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * The brand by issuer identification number (IIN) range:
 * - visa 4; mastercard 51–55 and 2221–2720; amex 34, 37;
 * - discover 6011, 644–649, 65; unionpay 62, 81 (Discover's 622126–622925 co-brand is read as
 *   unionpay, as Braintree's `credit-card-type` and Stripe.js do);
 * - jcb 3528–3589; diners 300–305, 3095, 36, 38, 39. Anything else: `unknown`.
 */
export function cardBrand(digits: string): CardBrand {
  if (!isDigits(digits)) return 'unknown';
  const p1 = digits.charCodeAt(0) - 0x30;
  const p2 = digits.length >= 2 ? Number(digits.slice(0, 2)) : -1;
  const p3 = digits.length >= 3 ? Number(digits.slice(0, 3)) : -1;
  const p4 = digits.length >= 4 ? Number(digits.slice(0, 4)) : -1;
  if (p1 === 4) return 'visa';
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return 'mastercard';
  if (p2 === 34 || p2 === 37) return 'amex';
  if (p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65) return 'discover';
  if (p2 === 62 || p2 === 81) return 'unionpay';
  if (p4 >= 3528 && p4 <= 3589) return 'jcb';
  if ((p3 >= 300 && p3 <= 305) || p4 === 3095 || p2 === 36 || p2 === 38 || p2 === 39) {
    return 'diners';
  }
  return 'unknown';
}

/** The last four digits of a number (separators ignored). */
export function last4(number: string): string {
  const digits = normalizeCardNumber(number) ?? number.replace(/[^0-9]/g, '');
  return digits.slice(-4);
}

function err(path: string, message: string): PaymentFieldError {
  return { path, message };
}

export type CardNumberCheck =
  | { ok: true; brand: CardBrand; last4: string }
  | { ok: false; error: PaymentFieldError };

/** Checks a card number: characters, 12–19 digits, the brand's lengths, Luhn. */
export function validateCardNumber(number: unknown, path = 'card.number'): CardNumberCheck {
  if (typeof number !== 'string' || number.length === 0) {
    return { ok: false, error: err(path, 'required: a string of digits') };
  }
  const digits = normalizeCardNumber(number);
  if (digits === null) {
    return {
      ok: false,
      error: err(
        path,
        `digits only (spaces and hyphens allowed), at most ${MAX_CARD_INPUT_LENGTH} characters`,
      ),
    };
  }
  if (digits.length < MIN_CARD_DIGITS || digits.length > MAX_CARD_DIGITS) {
    return {
      ok: false,
      error: err(path, `must have ${MIN_CARD_DIGITS} to ${MAX_CARD_DIGITS} digits`),
    };
  }
  const brand = cardBrand(digits);
  if (brand !== 'unknown' && !BRAND_LENGTHS[brand].includes(digits.length)) {
    const lengths = BRAND_LENGTHS[brand];
    const list =
      lengths.length === 1
        ? String(lengths[0])
        : `${lengths.slice(0, -1).join(', ')} or ${lengths[lengths.length - 1]}`;
    return { ok: false, error: err(path, `a ${brand} card number has ${list} digits`) };
  }
  if (!luhnValid(digits)) {
    return { ok: false, error: err(path, 'is not a valid card number (check digit)') };
  }
  return { ok: true, brand, last4: digits.slice(-4) };
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/**
 * Checks an expiry: `expMonth` an integer 1–12, `expYear` a four-digit integer (JSON numbers,
 * not strings). A card is valid through the last day of its expiry month, in UTC, so it is
 * expired only once `now`'s month is later; and it may expire at most 20 years after `now`'s year.
 */
export function validateExpiry(
  expMonth: unknown,
  expYear: unknown,
  now: number,
  prefix = 'card',
): PaymentFieldError[] {
  const errors: PaymentFieldError[] = [];
  const monthOk = isIntegerIn(expMonth, 1, 12);
  const yearOk = isIntegerIn(expYear, 1000, 9999);
  if (!monthOk) errors.push(err(`${prefix}.expMonth`, 'must be an integer from 1 to 12'));
  if (!yearOk) errors.push(err(`${prefix}.expYear`, 'must be a four-digit year'));
  if (!monthOk || !yearOk) return errors;
  const today = new Date(now);
  const year = today.getUTCFullYear();
  const month = today.getUTCMonth() + 1;
  if (expYear < year) {
    errors.push(err(`${prefix}.expYear`, 'the card has expired'));
  } else if (expYear === year && expMonth < month) {
    errors.push(err(`${prefix}.expMonth`, 'the card has expired'));
  } else if (expYear > year + MAX_EXPIRY_YEARS_AHEAD) {
    errors.push(
      err(`${prefix}.expYear`, `must be at most ${MAX_EXPIRY_YEARS_AHEAD} years from now`),
    );
  }
  return errors;
}

/** Checks a CVC: a string of 4 digits for amex, 3 for every other brand. */
export function validateCvc(
  cvc: unknown,
  brand: CardBrand,
  path = 'card.cvc',
): PaymentFieldError | null {
  const length = brand === 'amex' ? 4 : 3;
  if (typeof cvc !== 'string' || cvc.length !== length || !isDigits(cvc)) {
    return err(path, `must be ${length} digits`);
  }
  return null;
}

export interface CardInput {
  number?: unknown;
  expMonth?: unknown;
  expYear?: unknown;
  cvc?: unknown;
}

export interface ValidCard {
  brand: CardBrand;
  last4: string;
  expMonth: number;
  expYear: number;
}

export type CardCheck = { ok: true; card: ValidCard } | { ok: false; errors: PaymentFieldError[] };

/**
 * Checks a whole card and reports every failing field. The CVC is checked against the brand
 * (4 digits for amex); when the number is invalid it is checked as 3 or 4 digits.
 */
export function validateCard(input: CardInput, now: number, prefix = 'card'): CardCheck {
  const errors: PaymentFieldError[] = [];
  const number = validateCardNumber(input.number, `${prefix}.number`);
  if (!number.ok) errors.push(number.error);
  errors.push(...validateExpiry(input.expMonth, input.expYear, now, prefix));
  const path = `${prefix}.cvc`;
  if (number.ok) {
    const cvc = validateCvc(input.cvc, number.brand, path);
    if (cvc) errors.push(cvc);
  } else if (validateCvc(input.cvc, 'visa', path) && validateCvc(input.cvc, 'amex', path)) {
    errors.push(err(path, 'must be 3 digits (4 for amex)'));
  }
  if (!number.ok || errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    card: {
      brand: number.brand,
      last4: number.last4,
      expMonth: input.expMonth as number,
      expYear: input.expYear as number,
    },
  };
}

/** ABA routing-number checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10). */
export function abaRoutingValid(routing: string): boolean {
  if (routing.length !== 9 || !isDigits(routing)) return false;
  const d = (i: number) => routing.charCodeAt(i) - 0x30;
  const sum = 3 * (d(0) + d(3) + d(6)) + 7 * (d(1) + d(4) + d(7)) + (d(2) + d(5) + d(8));
  return sum % 10 === 0;
}

export interface BankDebitInput {
  accountNumber?: unknown;
  routingNumber?: unknown;
}

export type BankDebitCheck =
  | { ok: true; bankDebit: { last4: string; routingNumber: string } }
  | { ok: false; errors: PaymentFieldError[] };

/** Checks a US bank debit: account number 4–17 digits, routing number 9 digits with the ABA sum. */
export function validateBankDebit(input: BankDebitInput, prefix = 'bankDebit'): BankDebitCheck {
  const errors: PaymentFieldError[] = [];
  const { accountNumber, routingNumber } = input;
  if (
    typeof accountNumber !== 'string' ||
    accountNumber.length < 4 ||
    accountNumber.length > 17 ||
    !isDigits(accountNumber)
  ) {
    errors.push(err(`${prefix}.accountNumber`, 'must be 4 to 17 digits'));
  }
  if (typeof routingNumber !== 'string' || routingNumber.length !== 9 || !isDigits(routingNumber)) {
    errors.push(err(`${prefix}.routingNumber`, 'must be 9 digits'));
  } else if (!abaRoutingValid(routingNumber)) {
    errors.push(err(`${prefix}.routingNumber`, 'is not a valid ABA routing number (checksum)'));
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    bankDebit: {
      last4: (accountNumber as string).slice(-4),
      routingNumber: routingNumber as string,
    },
  };
}

const encoder = new TextEncoder();

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
  let out = '';
  for (const b of digest) out += b.toString(16).padStart(2, '0');
  return out;
}

/**
 * The card fingerprint: lower-case hex SHA-256 of the UTF-8 JSON array
 * `["azotte.pm.v1","card",tenantId,digits]`, where `digits` is the number without separators.
 * JSON makes the fields unambiguous; the tenant makes fingerprints useless across tenants. The
 * same card (however it was spaced) has one fingerprint per tenant.
 */
export async function cardFingerprint(
  tenantId: string,
  number: string,
  secret?: string,
): Promise<string> {
  const digits = normalizeCardNumber(number);
  if (digits === null || digits.length === 0) {
    throw new TypeError('cardFingerprint: not a card number');
  }
  return digest(JSON.stringify(['azotte.pm.v1', 'card', tenantId, digits]), secret);
}

/**
 * With a secret (the deployment's), an HMAC: brand, last 4 and expiry leave few enough numbers
 * that a plain hash could be searched; a keyed one cannot without the key.
 */
function digest(text: string, secret: string | undefined): Promise<string> {
  return secret ? hmacSha256Hex(secret, text) : sha256Hex(text);
}

/** The bank-account fingerprint: as `cardFingerprint`, over `["azotte.pm.v1","bank_debit",tenantId,routing,account]`. */
export async function bankAccountFingerprint(
  tenantId: string,
  routingNumber: string,
  accountNumber: string,
  secret?: string,
): Promise<string> {
  if (!isDigits(routingNumber) || !isDigits(accountNumber)) {
    throw new TypeError('bankAccountFingerprint: not a routing and account number');
  }
  return digest(
    JSON.stringify(['azotte.pm.v1', 'bank_debit', tenantId, routingNumber, accountNumber]),
    secret,
  );
}

/** A payment method as tokenization stores it: everything but the id the caller assigns. */
export type TokenizedPaymentMethod = Omit<StoredPaymentMethod, 'id'>;

export type TokenizeResult =
  | { ok: true; method: TokenizedPaymentMethod }
  | { ok: false; errors: PaymentFieldError[] };

export interface TokenizeContext {
  tenantId: string;
  mode: Mode;
  /** Epoch ms: the expiry is checked against it. */
  now: number;
  /** Keys the fingerprint (an HMAC); without it a plain SHA-256 (tests). */
  fingerprintSecret?: string;
}

/**
 * Validates a card and builds what the platform keeps of it (brand, last4, expiry, fingerprint;
 * never the number or the CVC). In test mode it also records the card's sandbox outcome
 * (`sandboxOutcomeForCard`); a live method has none.
 */
export async function tokenizeCard(
  input: CardInput,
  ctx: TokenizeContext,
): Promise<TokenizeResult> {
  const checked = validateCard(input, ctx.now);
  if (!checked.ok) return checked;
  const number = input.number as string;
  const method: TokenizedPaymentMethod = {
    mode: ctx.mode,
    type: 'card',
    card: { ...checked.card },
    fingerprint: await cardFingerprint(ctx.tenantId, number, ctx.fingerprintSecret),
  };
  if (ctx.mode === 'test') {
    method.sandboxOutcome = sandboxOutcomeForCard(normalizeCardNumber(number) ?? '');
  }
  return { ok: true, method };
}

/** As `tokenizeCard`, for a bank debit (test mode: `sandboxOutcomeForBankAccount`). */
export async function tokenizeBankDebit(
  input: BankDebitInput,
  ctx: TokenizeContext,
): Promise<TokenizeResult> {
  const checked = validateBankDebit(input);
  if (!checked.ok) return checked;
  const accountNumber = input.accountNumber as string;
  const method: TokenizedPaymentMethod = {
    mode: ctx.mode,
    type: 'bank_debit',
    bankDebit: checked.bankDebit,
    fingerprint: await bankAccountFingerprint(
      ctx.tenantId,
      checked.bankDebit.routingNumber,
      accountNumber,
      ctx.fingerprintSecret,
    ),
  };
  if (ctx.mode === 'test') method.sandboxOutcome = sandboxOutcomeForBankAccount(accountNumber);
  return { ok: true, method };
}
