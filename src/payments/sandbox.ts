/**
 * The sandbox providers: real `ProviderAdapter`s for test mode, named after the providers they
 * stand in for, that behave as those do with Stripe's test cards (`sandbox-cards.ts`) and fail on
 * demand (outage modes). Their state lives behind `SandboxBackend` (a Durable Object in the
 * worker, `InMemorySandboxBackend` in tests), so replays, lookups and refunds see every charge.
 *
 * Outage modes, read from the backend at each charge:
 * - `ok`: the method's sandbox outcome.
 * - `error`: `error` / `provider_unavailable` (a 5xx), nothing recorded. Refunds fail too.
 * - `timeout`: no answer; the adapter returns `unknown` once its `timeoutMs` has passed. With
 *   `captureBeforeTimeout` the provider did process the charge first (the outcome is recorded,
 *   so a lookup finds it); without, it never saw it (a lookup finds nothing).
 * - `slow`: `delayMs` (default half of `timeoutMs`, always below it), then as `ok`.
 * Lookups always answer, whatever the mode, unless `lookups: 'error'` (the provider's status API is
 * down too): then a timed-out charge stays `unknown` until the provider's webhook tells.
 *
 * Each charge and refund emits a webhook event (`chargeEvent`, `refundEvent`), signed with the
 * backend's webhook secret (`sandboxWebhook`) and delivered as the provider would.
 *
 * `timeoutMs` defaults to 2,000 ms: a local sandbox answers in milliseconds, so a charge still
 * pending after 2 s is an outage, and a test of the timeout path waits no longer than that
 * (tests pass a few ms).
 */
import { sandboxChargeOutcome } from './sandbox-cards';
import type {
  ChargeOutcome,
  ChargeRequest,
  Mode,
  ProviderAdapter,
  ProviderCapabilities,
  ProviderEvent,
  RefundOutcome,
  RefundRequest,
} from './types';
import {
  parseProviderEvent,
  serializeProviderEvent,
  signWebhook,
  verifyWebhookSignature,
  WEBHOOK_TOLERANCE_SECONDS,
} from './webhooks';

export const SANDBOX_PROVIDERS = ['stripe', 'paypal', 'adyen', 'localpay', 'localbank'] as const;
export type SandboxProviderName = (typeof SANDBOX_PROVIDERS)[number];

export function isSandboxProvider(name: string): name is SandboxProviderName {
  return (SANDBOX_PROVIDERS as readonly string[]).includes(name);
}

/** The header a sandbox provider signs its webhooks in (`t=…,v1=…`). */
export const SANDBOX_SIGNATURE_HEADER = 'x-sandbox-signature';
export const DEFAULT_SANDBOX_TIMEOUT_MS = 2_000;

const STRIPE_CURRENCIES = [
  'USD',
  'EUR',
  'GBP',
  'JPY',
  'CAD',
  'AUD',
  'NZD',
  'CHF',
  'SEK',
  'NOK',
  'DKK',
  'PLN',
  'CZK',
  'HUF',
  'RON',
  'BGN',
  'SGD',
  'HKD',
  'MXN',
  'BRL',
  'INR',
  'AED',
  'THB',
  'MYR',
  'ZAR',
] as const;

export const SANDBOX_CAPABILITIES: Readonly<Record<SandboxProviderName, ProviderCapabilities>> = {
  stripe: { methods: ['card'], currencies: STRIPE_CURRENCIES, countries: '*' },
  paypal: { methods: ['card'], currencies: ['USD', 'EUR', 'GBP'], countries: '*' },
  adyen: { methods: ['card'], currencies: ['EUR', 'GBP', 'USD'], countries: '*' },
  localpay: { methods: ['card'], currencies: ['JPY'], countries: ['JP'] },
  localbank: { methods: ['bank_debit'], currencies: ['USD'], countries: ['US'] },
};

const CHARGE_ID_PREFIX: Record<SandboxProviderName, string> = {
  stripe: 'ch_',
  paypal: 'PAYID-',
  adyen: 'psp_',
  localpay: 'lp_ch_',
  localbank: 'lb_dr_',
};

export interface SandboxOutage {
  mode: 'ok' | 'error' | 'timeout' | 'slow';
  /** `timeout` mode: the charge is processed (and recorded) before the answer is lost. */
  captureBeforeTimeout: boolean;
  /** `slow` mode: the delay in ms (kept below the adapter's timeout). */
  delayMs?: number;
  /** `error`: status lookups fail too (default `ok`: they answer in every mode). */
  lookups?: 'ok' | 'error';
}

/** A charge the sandbox provider processed (declined and errored ones included). */
export interface SandboxCharge {
  idempotencyKey: string;
  providerChargeId: string;
  outcome: Exclude<ChargeOutcome, { status: 'unknown' }>;
  amount: number;
  currency: string;
  /** The charge's merchant reference (the logical payment), as its webhooks carry it. */
  reference?: string;
  /** Epoch ms. */
  createdAt: number;
}

export interface SandboxRefund {
  idempotencyKey: string;
  providerRefundId: string;
  providerChargeId: string;
  amount: number;
  currency: string;
  /** Epoch ms. */
  createdAt: number;
}

/**
 * The sandbox provider's state, one per provider (and tenant, as the integrator scopes it).
 * Each method must be atomic (a Durable Object's serialized calls are).
 */
export interface SandboxBackend {
  /** The secret this provider signs its webhooks with. */
  webhookSecret(): Promise<string>;
  /** The outage mode now. */
  outage(): Promise<SandboxOutage>;
  /** Stores `charge` unless one exists for its idempotency key; returns the stored one (first wins). */
  record(charge: SandboxCharge): Promise<SandboxCharge>;
  /** The charge made with this idempotency key, if any. */
  find(idempotencyKey: string): Promise<SandboxCharge | null>;
  /**
   * Applies `evaluateRefund` to the request (against the charge `req.providerChargeId`, the
   * amount refunded so far and any refund already made with `req.idempotencyKey`) and stores
   * the refund if accepted, as `{ …req, providerRefundId, createdAt }`.
   */
  refund(req: RefundRequest, providerRefundId: string, createdAt: number): Promise<RefundOutcome>;
}

export type RefundDecision =
  | { kind: 'accept' }
  /** The same refund again (same key, charge, amount and currency): answer as the first time. */
  | { kind: 'replay'; outcome: RefundOutcome }
  | { kind: 'reject'; outcome: RefundOutcome };

function refundFailed(reason: string): RefundDecision {
  return { kind: 'reject', outcome: { status: 'failed', reason } };
}

/**
 * Whether a refund may be made: full or partial, never beyond the captured amount in total, in
 * the charge's currency, idempotent by key (a key reused for a different refund is refused).
 */
export function evaluateRefund(
  req: RefundRequest,
  ctx: { charge: SandboxCharge | null; refundedSoFar: number; existing: SandboxRefund | null },
): RefundDecision {
  const { charge, refundedSoFar, existing } = ctx;
  if (existing !== null) {
    const same =
      existing.providerChargeId === req.providerChargeId &&
      existing.amount === req.amount &&
      existing.currency === req.currency;
    if (!same) return refundFailed('idempotency_key_reused');
    return {
      kind: 'replay',
      outcome: { status: 'succeeded', providerRefundId: existing.providerRefundId },
    };
  }
  if (!Number.isSafeInteger(req.amount) || req.amount <= 0) return refundFailed('invalid_amount');
  if (charge === null) return refundFailed('no_such_charge');
  if (charge.outcome.status !== 'captured') return refundFailed('charge_not_captured');
  if (charge.currency !== req.currency) return refundFailed('currency_mismatch');
  if (refundedSoFar + req.amount > charge.amount) return refundFailed('exceeds_captured');
  return { kind: 'accept' };
}

/** The webhook event a newly recorded charge emits (ids are deterministic: redeliveries dedup). */
export function chargeEvent(charge: SandboxCharge): ProviderEvent {
  const { outcome } = charge;
  const captured = outcome.status === 'captured';
  const event: ProviderEvent = {
    id: `evt_${charge.providerChargeId}_${captured ? 'captured' : 'failed'}`,
    type: captured ? 'charge.captured' : 'charge.failed',
    providerChargeId: charge.providerChargeId,
    amount: charge.amount,
  };
  if (charge.reference !== undefined) event.reference = charge.reference;
  if (outcome.status !== 'captured') event.declineCode = outcome.declineCode;
  return event;
}

/** The webhook event a refund emits (`reference`: the refunded charge's). */
export function refundEvent(refund: SandboxRefund, reference?: string): ProviderEvent {
  const event: ProviderEvent = {
    id: `evt_${refund.providerRefundId}`,
    type: 'charge.refunded',
    providerChargeId: refund.providerChargeId,
    amount: refund.amount,
    providerRefundId: refund.providerRefundId,
  };
  if (reference !== undefined) event.reference = reference;
  return event;
}

/**
 * A whole sandbox provider in memory, for tests and local runs. `events` collects the webhook
 * events it would send; `setOutage` changes the outage mode.
 */
export class InMemorySandboxBackend implements SandboxBackend {
  private readonly secret: string;
  readonly events: ProviderEvent[] = [];
  private mode: SandboxOutage;
  private readonly charges = new Map<string, SandboxCharge>();
  private readonly chargesById = new Map<string, SandboxCharge>();
  private readonly refunds = new Map<string, SandboxRefund>();
  private readonly refunded = new Map<string, number>();

  constructor(opts: { webhookSecret?: string; outage?: Partial<SandboxOutage> } = {}) {
    this.secret = opts.webhookSecret ?? 'whsec_sandbox_test';
    this.mode = { mode: 'ok', captureBeforeTimeout: false, ...opts.outage };
  }

  setOutage(outage: Partial<SandboxOutage>): void {
    this.mode = { mode: 'ok', captureBeforeTimeout: false, ...outage };
  }

  async webhookSecret(): Promise<string> {
    return this.secret;
  }

  async outage(): Promise<SandboxOutage> {
    return { ...this.mode };
  }

  async record(charge: SandboxCharge): Promise<SandboxCharge> {
    const existing = this.charges.get(charge.idempotencyKey);
    if (existing) return existing;
    this.charges.set(charge.idempotencyKey, charge);
    this.chargesById.set(charge.providerChargeId, charge);
    this.events.push(chargeEvent(charge));
    return charge;
  }

  async find(idempotencyKey: string): Promise<SandboxCharge | null> {
    return this.charges.get(idempotencyKey) ?? null;
  }

  async refund(
    req: RefundRequest,
    providerRefundId: string,
    createdAt: number,
  ): Promise<RefundOutcome> {
    const decision = evaluateRefund(req, {
      charge: this.chargesById.get(req.providerChargeId) ?? null,
      refundedSoFar: this.refunded.get(req.providerChargeId) ?? 0,
      existing: this.refunds.get(req.idempotencyKey) ?? null,
    });
    if (decision.kind !== 'accept') return decision.outcome;
    const refund: SandboxRefund = { ...req, providerRefundId, createdAt };
    this.refunds.set(req.idempotencyKey, refund);
    this.refunded.set(
      req.providerChargeId,
      (this.refunded.get(req.providerChargeId) ?? 0) + req.amount,
    );
    this.events.push(refundEvent(refund, this.chargesById.get(req.providerChargeId)?.reference));
    return { status: 'succeeded', providerRefundId };
  }

  /** Every captured charge (a test's "charged at most once" check). */
  captures(): SandboxCharge[] {
    return [...this.charges.values()].filter((c) => c.outcome.status === 'captured');
  }
}

export interface SandboxAdapterOptions {
  /** Default 2,000 ms (see the top of this file). */
  timeoutMs?: number;
  /** Epoch-ms clock (default `Date.now`). */
  clock?: () => number;
  /** Waits `ms` (default `setTimeout`). */
  sleep?: (ms: number) => Promise<void>;
  /** Webhook timestamp tolerance in seconds (default 300). */
  webhookToleranceSec?: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function randomId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

function supported(list: readonly string[] | '*', value: string | undefined): boolean {
  return list === '*' || (value !== undefined && list.includes(value));
}

/** One sandbox provider. */
export class SandboxAdapter implements ProviderAdapter {
  readonly mode: Mode = 'test';
  readonly capabilities: ProviderCapabilities;
  readonly timeoutMs: number;
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly toleranceSec: number;

  constructor(
    readonly name: SandboxProviderName,
    private readonly backend: SandboxBackend,
    opts: SandboxAdapterOptions = {},
  ) {
    this.capabilities = SANDBOX_CAPABILITIES[name];
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_SANDBOX_TIMEOUT_MS;
    this.clock = opts.clock ?? Date.now;
    this.sleep = opts.sleep ?? defaultSleep;
    this.toleranceSec = opts.webhookToleranceSec ?? WEBHOOK_TOLERANCE_SECONDS;
  }

  /** What a real provider would refuse outright (a 400: never retried elsewhere). */
  private invalid(req: ChargeRequest): string | null {
    const pm = req.paymentMethod;
    if (pm.mode !== 'test') return 'live_payment_method';
    if (!this.capabilities.methods.includes(pm.type)) return 'unsupported_payment_method';
    if ((pm.type === 'card' && !pm.card) || (pm.type === 'bank_debit' && !pm.bankDebit)) {
      return 'invalid_payment_method';
    }
    if (!supported(this.capabilities.currencies, req.currency)) return 'unsupported_currency';
    if (!supported(this.capabilities.countries, req.country)) return 'unsupported_country';
    if (!Number.isSafeInteger(req.amount) || req.amount <= 0) return 'invalid_amount';
    return null;
  }

  private newCharge(req: ChargeRequest, started: number): SandboxCharge {
    const providerChargeId = `${CHARGE_ID_PREFIX[this.name]}${randomId()}`;
    const outcome = sandboxChargeOutcome(
      req.paymentMethod.sandboxOutcome,
      providerChargeId,
      this.clock() - started,
    ) as SandboxCharge['outcome'];
    return {
      idempotencyKey: req.idempotencyKey,
      providerChargeId,
      outcome,
      amount: req.amount,
      currency: req.currency,
      ...(req.reference !== undefined ? { reference: req.reference } : {}),
      createdAt: this.clock(),
    };
  }

  async charge(req: ChargeRequest): Promise<ChargeOutcome> {
    const started = this.clock();
    const latency = () => this.clock() - started;
    const invalid = this.invalid(req);
    if (invalid) return { status: 'failed', declineCode: invalid, latencyMs: latency() };

    let timer: ReturnType<typeof setTimeout> | undefined;
    let abandoned = false;
    const deadline = new Promise<ChargeOutcome>((resolve) => {
      timer = setTimeout(() => {
        abandoned = true;
        resolve({ status: 'unknown', latencyMs: latency() });
      }, this.timeoutMs);
    });
    const work = async (): Promise<ChargeOutcome> => {
      const outage = await this.backend.outage();
      if (outage.mode === 'error') {
        return {
          status: 'error',
          declineCode: 'provider_unavailable',
          declineClass: 'provider',
          latencyMs: latency(),
        };
      }
      if (outage.mode === 'timeout') {
        if (outage.captureBeforeTimeout) await this.backend.record(this.newCharge(req, started));
        await this.sleep(this.timeoutMs);
        return { status: 'unknown', latencyMs: latency() };
      }
      if (outage.mode === 'slow') {
        const max = Math.floor(this.timeoutMs * 0.75);
        await this.sleep(Math.min(Math.max(0, outage.delayMs ?? this.timeoutMs / 2), max));
      }
      // Past the deadline the caller has given up: a real provider might still charge, but the
      // sandbox keeps the lookup that follows truthful by not processing it at all.
      if (abandoned) return { status: 'unknown', latencyMs: latency() };
      const stored = await this.backend.record(this.newCharge(req, started));
      if (stored.amount !== req.amount || stored.currency !== req.currency) {
        return { status: 'failed', declineCode: 'idempotency_key_reused', latencyMs: latency() };
      }
      return { ...stored.outcome, latencyMs: latency() };
    };
    try {
      return await Promise.race([work(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  async lookup(idempotencyKey: string): Promise<ChargeOutcome | null> {
    const outage = await this.backend.outage();
    if (outage.lookups === 'error') throw new Error('provider_unavailable');
    const charge = await this.backend.find(idempotencyKey);
    return charge ? { ...charge.outcome } : null;
  }

  async refund(req: RefundRequest): Promise<RefundOutcome> {
    const outage = await this.backend.outage();
    if (outage.mode === 'error') return { status: 'failed', reason: 'provider_unavailable' };
    return this.backend.refund(req, `re_${randomId()}`, this.clock());
  }

  async verifyWebhook(headers: Headers, body: string): Promise<ProviderEvent> {
    await verifyWebhookSignature(
      await this.backend.webhookSecret(),
      headers.get(SANDBOX_SIGNATURE_HEADER),
      body,
      Math.floor(this.clock() / 1000),
      this.toleranceSec,
    );
    return parseProviderEvent(body);
  }
}

/**
 * A signed webhook delivery as a sandbox provider sends it (for the backend that delivers its
 * `events`, and for tests): the body and the headers to POST.
 */
export async function sandboxWebhook(
  secret: string,
  event: ProviderEvent,
  nowMs: number,
): Promise<{ body: string; headers: Record<string, string> }> {
  const sec = Math.floor(nowMs / 1000);
  const body = serializeProviderEvent(event, sec);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      [SANDBOX_SIGNATURE_HEADER]: await signWebhook(secret, body, sec),
    },
  };
}

/** A registry of adapters by provider name. */
export type AdapterRegistry = Readonly<Record<string, ProviderAdapter>>;

/** Every sandbox provider, each over its backend. */
export function sandboxAdapters(
  backendFor: (provider: SandboxProviderName) => SandboxBackend,
  opts: SandboxAdapterOptions = {},
): Readonly<Record<SandboxProviderName, ProviderAdapter>> {
  const out = Object.create(null) as Record<SandboxProviderName, ProviderAdapter>;
  for (const name of SANDBOX_PROVIDERS)
    out[name] = new SandboxAdapter(name, backendFor(name), opts);
  return Object.freeze(out);
}

/**
 * Builds a live adapter from its credentials (resolved once per isolate and passed in). A real
 * provider is a new file implementing `ProviderAdapter` (`src/payments/providers/stripe.ts`…),
 * registered in `LIVE_ADAPTERS` under the name routing configs use.
 */
export type LiveAdapterFactory = (config: {
  credentials: Readonly<Record<string, string>>;
  timeoutMs?: number;
}) => ProviderAdapter;

/** The live adapters: none yet. Live mode routes to nothing until one is registered here. */
export const LIVE_ADAPTERS: Readonly<Record<string, LiveAdapterFactory>> = Object.freeze({});

/**
 * The executor's and router's lookups over a registry: own properties only, so a provider named
 * like an `Object.prototype` member (`constructor`) resolves to nothing.
 */
export function adapterLookup(registry: AdapterRegistry): {
  adapter: (provider: string) => ProviderAdapter | undefined;
  capabilities: (provider: string) => ProviderCapabilities | undefined;
} {
  const adapter = (provider: string) =>
    Object.hasOwn(registry, provider) ? registry[provider] : undefined;
  return { adapter, capabilities: (provider) => adapter(provider)?.capabilities };
}
