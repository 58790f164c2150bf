/**
 * The payments layer's contracts: what every provider adapter implements, what a charge asks and
 * answers, and the routing decision. Transport-free (no HTTP, no bindings): the sandbox
 * adapters, a real Stripe/Adyen/PayPal adapter and the payment executor all speak these types.
 */

/** Test keys reach only sandbox providers; live keys only real adapters. Never mixed. */
export type Mode = 'test' | 'live';

export type PaymentMethodType = 'card' | 'bank_debit';

/**
 * What the platform keeps of a payment method: never the number or the CVC. `sandboxOutcome`
 * is the sandbox vault's record of which test card (or account) this is, so a sandbox charge
 * behaves as Stripe's test cards do; a live method has none (the provider's vault holds it).
 */
export interface StoredPaymentMethod {
  id: string;
  mode: Mode;
  type: PaymentMethodType;
  card?: { brand: string; last4: string; expMonth: number; expYear: number };
  bankDebit?: { last4: string; routingNumber: string };
  /** SHA-256 over the tenant and the full number: the same card twice has one fingerprint. */
  fingerprint: string;
  sandboxOutcome?: SandboxOutcome;
}

/** Stripe's test-card outcomes, one vocabulary for every sandbox provider. */
export type SandboxOutcome =
  | 'succeeds'
  | 'generic_decline'
  | 'insufficient_funds'
  | 'lost_card'
  | 'stolen_card'
  | 'expired_card'
  | 'incorrect_cvc'
  | 'processing_error'
  /** 4000000000000341: tokenizes, but every charge fails with generic_decline. */
  | 'attach_ok_charge_declines';

/** An issuer's answer (never fails over) vs the provider's own failure (may fail over). */
export type DeclineClass = 'issuer' | 'provider';

export type DeclineCode =
  | 'generic_decline'
  | 'insufficient_funds'
  | 'lost_card'
  | 'stolen_card'
  | 'expired_card'
  | 'incorrect_cvc'
  | 'processing_error';

/** One charge (authorize + capture) at one provider. */
export interface ChargeRequest {
  /** Per provider, derived from the logical payment: a retry at the same provider is a replay. */
  idempotencyKey: string;
  tenantId: string;
  storefrontId: string;
  amount: number;
  /** ISO 4217, upper case. */
  currency: string;
  country?: string;
  paymentMethod: StoredPaymentMethod;
  description?: string;
  /**
   * The logical payment (`pay_…`) the charge is made for, sent with the charge as the
   * provider's merchant reference (Stripe's metadata, Adyen's `merchantReference`), so the
   * provider's webhooks name it.
   */
  reference?: string;
}

/**
 * What a charge attempt came to. `unknown`: the provider did not answer in time; it may or may
 * not have captured, so it must be looked up (by the idempotency key) before anything else is
 * tried. `error`: the provider failed (5xx, processing_error) without charging.
 */
export type ChargeOutcome =
  | { status: 'captured'; providerChargeId: string; latencyMs: number }
  | {
      status: 'declined';
      declineCode: DeclineCode;
      declineClass: 'issuer';
      latencyMs: number;
    }
  | {
      status: 'error';
      /** e.g. `processing_error`, `provider_unavailable` (5xx). */
      declineCode: string;
      declineClass: 'provider';
      latencyMs: number;
    }
  | { status: 'unknown'; latencyMs: number }
  /** An error this layer cannot classify: never fails over. */
  | { status: 'failed'; declineCode: string; latencyMs: number };

export interface RefundRequest {
  idempotencyKey: string;
  providerChargeId: string;
  amount: number;
  currency: string;
}

export type RefundOutcome =
  | { status: 'succeeded'; providerRefundId: string }
  | { status: 'failed'; reason: string };

/** A verified, parsed provider webhook. */
export interface ProviderEvent {
  /** Unique per provider: a delivery of an id already applied has no effect. */
  id: string;
  type: 'charge.captured' | 'charge.failed' | 'charge.refunded';
  providerChargeId: string;
  /** The charge's amount (captured, failed) or the refund's (refunded), in minor units. */
  amount?: number;
  /** The logical payment the charge was made for (the charge's `reference`). */
  reference?: string;
  /** `charge.refunded`: the provider's id of the refund. */
  providerRefundId?: string;
  /** `charge.failed`: the provider's decline code. */
  declineCode?: string;
}

/** What an adapter supports; the router skips it for anything else (`ineligible`). */
export interface ProviderCapabilities {
  methods: readonly PaymentMethodType[];
  /** ISO 4217 codes, or '*' for any. */
  currencies: readonly string[] | '*';
  /** ISO 3166-1 alpha-2 codes, or '*' for any. */
  countries: readonly string[] | '*';
}

/**
 * The one interface of every provider. A real adapter (Stripe, Adyen, PayPal) is a new file
 * implementing it, registered for live mode; the sandbox adapters implement it for test mode.
 */
export interface ProviderAdapter {
  readonly name: string;
  readonly mode: Mode;
  readonly capabilities: ProviderCapabilities;
  /** A charge taking longer than this is abandoned as `unknown`. */
  readonly timeoutMs: number;
  charge(req: ChargeRequest): Promise<ChargeOutcome>;
  /** The charge made with `idempotencyKey`, if the provider has one (after an `unknown`). */
  lookup(idempotencyKey: string): Promise<ChargeOutcome | null>;
  refund(req: RefundRequest): Promise<RefundOutcome>;
  /** Verifies the signature and parses; throws on a bad signature. */
  verifyWebhook(headers: Headers, body: string): Promise<ProviderEvent>;
}

/** A field-level validation failure (`card.number: …`), shaped like the problem body's errors. */
export interface PaymentFieldError {
  path: string;
  message: string;
}

/** Why the router passed over a provider of the chosen route. */
export type SkipReason = 'killswitch' | 'breaker_open' | 'ineligible';

/** What the router decided for one payment: the providers to try, in order. */
export interface RouteDecision {
  /** The id of the rule that matched, or 'default'. */
  rule: string;
  /** The payment's bucket in [0, 10000) (from `bucketOf`), which picked within weighted tiers. */
  bucket: number;
  /** Providers to try, in order; never longer than the config's `maxAttempts`. */
  order: string[];
  /** Providers of the route passed over before `order` was full, each listed once. */
  skipped: { provider: string; reason: SkipReason }[];
}

/**
 * One call to one provider, as the payment executor records it. `lookedUp`: the charge ended
 * `unknown` and was looked up by its idempotency key; `status` is then what the lookup showed
 * (`captured`, `declined`), `error` with `declineCode: 'timeout'` when the lookup found no
 * charge, or `unknown` when the lookup could not answer.
 */
export interface Attempt {
  provider: string;
  /** The per-provider key the charge was sent with (`attemptIdempotencyKey`). */
  idempotencyKey: string;
  status: 'captured' | 'declined' | 'error' | 'unknown' | 'failed';
  providerChargeId?: string;
  declineCode?: string;
  declineClass?: DeclineClass;
  latencyMs: number;
  lookedUp?: boolean;
  /** The provider's webhook event that settled an `unknown` attempt. */
  settledByEvent?: string;
}

/** What a logical payment came to after the attempt loop. */
export interface PaymentResult {
  /**
   * `unknown`: a provider may have captured and could not tell us; nothing else was tried. The
   * payment must be resolved (lookup later, or the provider's webhook) before any retry.
   */
  status: 'succeeded' | 'declined' | 'failed' | 'unknown';
  /** The provider of the last attempt (absent when no provider was called). */
  provider?: string;
  providerChargeId?: string;
  attempts: Attempt[];
  declineCode?: string;
  declineClass?: DeclineClass;
}
