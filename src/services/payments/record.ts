/**
 * A logical payment as its PaymentDurableObject holds it, the view the API answers with, and
 * the inputs a charge needs. Transport-free: the object and the routes share these.
 */
import type { ProviderConfig } from '../../db/schema/storefronts';
import { ApiError } from '../../errors';
import { type PaymentRouting, PaymentRoutingSchema } from '../../payments/routing';
import type {
  Attempt,
  DeclineClass,
  Mode,
  RouteDecision,
  SkipReason,
  StoredPaymentMethod,
} from '../../payments/types';

/** What a charge hands the payment object: everything resolved at the edge, no Postgres. */
export interface ChargeInput {
  paymentId: string;
  /** Hash of what the caller asked (a replay with other terms is refused). */
  requestHash: string;
  idempotencyKey: string;
  tenantId: string;
  storefrontId: string;
  mode: Mode;
  amount: number;
  currency: string;
  country?: string;
  customerId: string | null;
  subscriptionId: string | null;
  description?: string;
  paymentMethod: StoredPaymentMethod;
  routing: PaymentRouting;
  configVersion: number;
  /** Providers a killswitch has turned off for this storefront. */
  killed: string[];
}

export interface RefundRecord {
  id: string;
  amount: number;
  currency: string;
  status: 'succeeded' | 'failed';
  reason: string | null;
  failureReason: string | null;
  /** The provider's id of the refund (reconciliation). */
  providerRefundId?: string | null;
  idempotencyKey: string;
  createdAt: string;
}

export type PaymentStatus = 'processing' | 'succeeded' | 'declined' | 'failed' | 'unknown';

export interface PaymentRecord {
  id: string;
  requestHash: string;
  idempotencyKey: string;
  tenantId: string;
  storefrontId: string;
  mode: Mode;
  amount: number;
  currency: string;
  customerId: string | null;
  subscriptionId: string | null;
  paymentMethodId: string;
  status: PaymentStatus;
  provider: string | null;
  providerChargeId: string | null;
  declineCode: string | null;
  declineClass: DeclineClass | null;
  decision: RouteDecision & { configVersion: number };
  attempts: Attempt[];
  refunds: RefundRecord[];
  refundedAmount: number;
  createdAt: string;
  /** Whether Postgres has this state (false: the object's alarm copies it). */
  copied: boolean;
  /** One more at every saved change; Postgres keeps the newest copy only. */
  version: number;
  /**
   * Captures a provider's webhook reported beside the payment's own result (a late capture at
   * a provider whose lookup had found nothing), each refunded in full at once.
   */
  strayCaptures: StrayCapture[];
}

export interface StrayCapture {
  provider: string;
  providerChargeId: string;
  amount: number;
  eventId: string;
  refund: {
    status: 'succeeded' | 'failed';
    providerRefundId: string | null;
    reason: string | null;
  };
  at: string;
}

/** A payment as it begins: `decision` made, nothing tried yet. */
export function newPaymentRecord(input: ChargeInput, decision: RouteDecision): PaymentRecord {
  return {
    id: input.paymentId,
    requestHash: input.requestHash,
    idempotencyKey: input.idempotencyKey,
    tenantId: input.tenantId,
    storefrontId: input.storefrontId,
    mode: input.mode,
    amount: input.amount,
    currency: input.currency,
    customerId: input.customerId,
    subscriptionId: input.subscriptionId,
    paymentMethodId: input.paymentMethod.id,
    status: 'processing',
    provider: null,
    providerChargeId: null,
    declineCode: null,
    declineClass: null,
    decision: { ...decision, configVersion: input.configVersion },
    attempts: [],
    refunds: [],
    refundedAmount: 0,
    createdAt: new Date().toISOString(),
    copied: false,
    version: 0,
    strayCaptures: [],
  };
}

/** The payment as the API shows it (`GET /v1/payments/{id}`, and what checkout returns). */
export function paymentView(p: PaymentRecord) {
  return {
    id: p.id,
    object: 'payment' as const,
    livemode: p.mode === 'live',
    status: p.status,
    amount: p.amount,
    currency: p.currency,
    provider: p.provider,
    customerId: p.customerId,
    subscriptionId: p.subscriptionId,
    paymentMethodId: p.paymentMethodId,
    declineCode: p.declineCode,
    declineClass: p.declineClass,
    attempts: p.attempts.map((a) => ({
      provider: a.provider,
      status: a.status,
      declineCode: a.declineCode ?? null,
      declineClass: a.declineClass ?? null,
      latencyMs: a.latencyMs,
      lookedUp: a.lookedUp ?? false,
      ...(a.settledByEvent ? { settledByEvent: a.settledByEvent } : {}),
    })),
    decision: {
      configVersion: p.decision.configVersion,
      rule: p.decision.rule,
      bucket: p.decision.bucket,
      order: p.decision.order,
      skipped: p.decision.skipped as { provider: string; reason: SkipReason }[],
    },
    amountRefunded: p.refundedAmount,
    refunds: p.refunds.map((r) => ({
      id: r.id,
      amount: r.amount,
      currency: r.currency,
      status: r.status,
      reason: r.reason,
      failureReason: r.failureReason,
      createdAt: r.createdAt,
    })),
    strayCaptures: (p.strayCaptures ?? []).map((c) => ({
      provider: c.provider,
      amount: c.amount,
      refundStatus: c.refund.status,
      at: c.at,
    })),
    createdAt: p.createdAt,
  };
}
export type PaymentView = ReturnType<typeof paymentView>;

/**
 * The storefront's routing: its validated `paymentRouting`, else one tier per priority of the
 * older `paymentProviders` list, weights scaled to sum to 100 (largest remainder). A stored
 * routing that does not validate is a 503 problem, never a silent fallback.
 */
export function storefrontRouting(
  routing: unknown,
  providers: readonly Pick<ProviderConfig, 'provider' | 'priority' | 'weight'>[],
): PaymentRouting {
  if (routing) {
    const parsed = PaymentRoutingSchema.safeParse(routing);
    if (parsed.success) return parsed.data;
    // Validated on write, so this is a row from before the rules: refuse to guess where money
    // goes (the provider list may say something else) and say so.
    const first = parsed.error.issues[0];
    throw new ApiError(
      'config_unavailable',
      `This storefront's payment routing is invalid (${first ? `${first.path.join('.')}: ${first.message}` : 'unreadable'}); an operator must set it again.`,
      { headers: { 'retry-after': '60' } },
    );
  }
  const byPriority = new Map<number, { provider: string; weight: number }[]>();
  for (const p of providers) {
    const tier = byPriority.get(p.priority) ?? [];
    if (!tier.some((t) => t.provider === p.provider))
      tier.push({ provider: p.provider, weight: p.weight });
    byPriority.set(p.priority, tier);
  }
  const seen = new Set<string>();
  const tiers = [...byPriority.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, list]) => list.filter((p) => !seen.has(p.provider) && seen.add(p.provider)))
    .filter((list) => list.length > 0)
    .map((list) => ({ providers: scaleTo100(list) }));
  return PaymentRoutingSchema.parse({
    default: {
      tiers:
        tiers.length > 0 ? tiers.slice(0, 5) : [{ providers: [{ provider: 'none', weight: 100 }] }],
    },
  });
}

function scaleTo100(all: { provider: string; weight: number }[]) {
  const list = all.slice(0, 10); // a tier holds at most 10 providers
  const total = list.reduce((n, p) => n + Math.max(0, p.weight), 0);
  const raw = list.map((p) =>
    total > 0 ? (Math.max(0, p.weight) * 100) / total : 100 / list.length,
  );
  const out = raw.map((r) => Math.floor(r));
  let rest = 100 - out.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0]);
  for (const [, i] of order) {
    if (rest <= 0) break;
    out[i] = (out[i] ?? 0) + 1;
    rest--;
  }
  return list.map((p, i) => ({ provider: p.provider, weight: out[i] ?? 0 }));
}
