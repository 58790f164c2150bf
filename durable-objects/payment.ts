import { DurableObject } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { getDb } from '../src/db/client';
import { paymentAttempts, paymentRefunds, payments } from '../src/db/schema';
import type { Env } from '../src/env';
import { ApiError, type FieldError, type ProblemCode } from '../src/errors';
import { newId } from '../src/lib/ids';
import { executePayment } from '../src/payments/execute';
import { bucketOf, decide } from '../src/payments/routing';
import { adapterLookup, type SandboxBackend, sandboxAdapters } from '../src/payments/sandbox';
import type { Attempt, PaymentResult, ProviderAdapter } from '../src/payments/types';
import { DurableObjectSandboxBackend } from '../src/services/payments/adapters';
import {
  type ChargeInput,
  newPaymentRecord,
  type PaymentRecord,
  type PaymentView,
  paymentView,
  type RefundRecord,
} from '../src/services/payments/record';

interface RefundInput {
  amount?: number;
  reason: string | null;
  idempotencyKey: string;
}

/**
 * A call's result, or the domain problem it ran into. Errors do not keep their class across
 * RPC, so a refusal travels as data and the route turns it back into its problem.
 */
export type Outcome<T> =
  | { ok: true; value: T }
  | { ok: false; problem: { code: ProblemCode; detail: string; errors?: FieldError[] } };

async function asOutcome<T>(run: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (err) {
    if (err instanceof ApiError && err.status < 500) {
      return { ok: false, problem: { code: err.code, detail: err.message, errors: err.errors } };
    }
    throw err;
  }
}

/** A payment still `processing` this long after it began is resumed by the alarm. */
const RESUME_AFTER_MS = 30_000;

/** How long the object waits before copying to Postgres again after a failure. */
const COPY_RETRY_MS = 5_000;

/**
 * One logical payment (named by its id): the routing decision, every attempt, the result and
 * its refunds, held in this object's storage before anything is answered — so a retried call
 * is a replay, a crash mid-payment resumes with the decision it saved (never a new one, which
 * could skip a provider that captured), and a Postgres outage delays the copy, never loses a
 * capture. Postgres gets a copy (payments, payment_attempts, payment_refunds) by write-through,
 * and by the alarm when that failed.
 */
export class PaymentDurableObject extends DurableObject<Env> {
  private record: PaymentRecord | undefined;

  private async load(): Promise<PaymentRecord | undefined> {
    this.record ??= await this.ctx.storage.get<PaymentRecord>('payment');
    return this.record;
  }

  private async save(record: PaymentRecord): Promise<void> {
    this.record = record;
    await this.ctx.storage.put('payment', record);
  }

  /**
   * Charges once. A second call with the same id answers the first result (`replayed`); with
   * other terms it is refused. A call that finds a payment still `processing` (the object was
   * interrupted) resumes it with its saved decision.
   */
  async charge(input: ChargeInput): Promise<Outcome<{ payment: PaymentView; replayed: boolean }>> {
    return this.serialized(() => asOutcome(() => this.chargeNow(input)));
  }

  /** The call under way: calls run one at a time (see {@link serialized}). */
  private chain: Promise<unknown> = Promise.resolve();

  /**
   * Runs `fn` after every call before it has finished. A call awaits other objects (the
   * providers, their health), which lets the next call in: without this, two concurrent first
   * calls could each make a decision and charge, and two refunds with one key could both count.
   */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private async chargeNow(
    input: ChargeInput,
  ): Promise<{ payment: PaymentView; replayed: boolean }> {
    const existing = await this.load();
    if (existing && existing.requestHash !== input.requestHash) {
      throw new ApiError(
        'idempotency_key_reused',
        'This Idempotency-Key was used for a different payment (amount, currency, method or customer).',
      );
    }
    if (existing?.status === 'unknown') await this.resolveUnknown(existing, input);
    if (existing && existing.status !== 'processing') {
      return { payment: paymentView(existing), replayed: true };
    }
    const record = existing ?? (await this.begin(input));
    const registry = this.adapters(input);
    const { adapter } = adapterLookup(registry);
    const health = (provider: string) =>
      this.env.PROVIDER_HEALTH.get(
        this.env.PROVIDER_HEALTH.idFromName(`${input.tenantId}:${provider}`),
      );
    // Resuming an interrupted payment: never call a provider already tried again (its earlier
    // error left nothing to replay, so a new call could capture beside a later provider's
    // capture). Look each one up first: a capture there is the result.
    const done = record.attempts.filter(Boolean);
    for (const a of done) {
      const found = await adapter(a.provider)
        ?.lookup(a.idempotencyKey)
        .catch(() => null);
      if (found?.status === 'captured') {
        return this.finish(record, {
          status: 'succeeded',
          provider: a.provider,
          providerChargeId: found.providerChargeId,
          attempts: done,
        });
      }
    }
    const offset = done.length;
    const result = await executePayment({
      decision: { order: record.decision.order.slice(offset) },
      adapters: adapter,
      paymentId: record.id,
      maxAttempts: Math.max(0, input.routing.maxAttempts - offset),
      request: {
        tenantId: input.tenantId,
        storefrontId: input.storefrontId,
        amount: input.amount,
        currency: input.currency,
        country: input.country,
        paymentMethod: input.paymentMethod,
        description: input.description,
      },
      onAttempt: async (attempt: Attempt, index: number) => {
        record.attempts[offset + index] = attempt;
        await this.save(record);
        // The breaker learns from every attempt; its failure never fails the payment.
        await health(attempt.provider)
          .record({ status: attempt.status, lookedUp: attempt.lookedUp })
          .catch(() => {});
      },
    });
    return this.finish(record, { ...result, attempts: [...done, ...result.attempts] });
  }

  /** Saves the result (before anything is answered), then copies it to Postgres. */
  private async finish(
    record: PaymentRecord,
    result: PaymentResult,
  ): Promise<{ payment: PaymentView; replayed: boolean }> {
    record.status = result.status;
    record.provider = result.provider ?? null;
    record.providerChargeId = result.providerChargeId ?? null;
    record.declineCode = result.declineCode ?? null;
    record.declineClass = result.declineClass ?? null;
    record.attempts = result.attempts;
    record.copied = false;
    await this.save(record);
    await this.copy();
    return { payment: paymentView(record), replayed: false };
  }

  /** The routing decision, made once and saved before any provider is called. */
  private async begin(input: ChargeInput): Promise<PaymentRecord> {
    const registry = this.adapters(input);
    const { capabilities } = adapterLookup(registry);
    // Open breakers among the route's providers (one call each, in parallel).
    const providers = new Set<string>();
    for (const route of [input.routing.default, ...input.routing.rules.map((r) => r.route)])
      for (const tier of route.tiers) for (const p of tier.providers) providers.add(p.provider);
    const open = new Set<string>();
    await Promise.all(
      [...providers].map(async (provider) => {
        if (!capabilities(provider)) return;
        const stub = this.env.PROVIDER_HEALTH.get(
          this.env.PROVIDER_HEALTH.idFromName(`${input.tenantId}:${provider}`),
        );
        // Read-only: a half-open breaker's probe is taken by the call itself (the attempt's
        // outcome closes or re-opens it), not by every payment that merely considers it.
        const status = await stub.status().catch(() => 'closed' as const);
        if (status === 'open') open.add(provider);
      }),
    );
    const decision = decide(
      input.routing,
      {
        method: input.paymentMethod.type,
        country: input.country,
        currency: input.currency,
        amount: input.amount,
      },
      {
        bucket: bucketOf(input.paymentId),
        killed: new Set(input.killed),
        breakerOpen: open,
        capabilities,
      },
    );
    const record = newPaymentRecord(input, decision);
    // What the alarm needs to resume the payment if this call never finishes (an eviction, a
    // crash), and the alarm itself: both before any provider is called.
    await this.ctx.storage.put('input', input);
    await this.save(record);
    await this.ctx.storage.setAlarm(Date.now() + RESUME_AFTER_MS);
    return record;
  }

  /**
   * An `unknown` payment (a provider timed out and its lookup could not answer): looks the
   * charge up again. A capture or a decline found there is the result; otherwise it stays
   * unknown and nothing else is tried (never a second charge).
   */
  private async resolveUnknown(record: PaymentRecord, input: ChargeInput): Promise<boolean> {
    const last = record.attempts[record.attempts.length - 1];
    if (record.status !== 'unknown' || !last) return false;
    const { adapter } = adapterLookup(this.adapters(input));
    const found = await adapter(last.provider)
      ?.lookup(last.idempotencyKey)
      .catch(() => null);
    if (found?.status !== 'captured' && found?.status !== 'declined') return false;
    const resolved: Attempt = {
      ...last,
      status: found.status,
      lookedUp: true,
      ...(found.status === 'captured'
        ? { providerChargeId: found.providerChargeId }
        : { declineCode: found.declineCode, declineClass: found.declineClass }),
    };
    const attempts = [...record.attempts.slice(0, -1), resolved];
    await this.finish(
      record,
      found.status === 'captured'
        ? {
            status: 'succeeded',
            provider: last.provider,
            providerChargeId: found.providerChargeId,
            attempts,
          }
        : {
            status: 'declined',
            provider: last.provider,
            declineCode: found.declineCode,
            declineClass: found.declineClass,
            attempts,
          },
    );
    return true;
  }

  /**
   * Test mode: the sandbox providers (over their objects). Live mode: the live adapters, of
   * which there are none yet (src/payments/sandbox.ts, LIVE_ADAPTERS), so every provider is
   * ineligible and a live charge fails with no provider available.
   */
  private adapters(
    input: Pick<ChargeInput, 'mode' | 'tenantId'>,
  ): Readonly<Record<string, ProviderAdapter>> {
    if (input.mode === 'live') {
      return Object.freeze(Object.create(null)) as Record<string, ProviderAdapter>;
    }
    const backendFor = (provider: string): SandboxBackend =>
      new DurableObjectSandboxBackend(
        this.env.SANDBOX_PROVIDER.get(
          this.env.SANDBOX_PROVIDER.idFromName(`${input.tenantId}:${provider}`),
        ),
        `${input.tenantId}:${provider}`,
      );
    return sandboxAdapters(backendFor, { timeoutMs: sandboxTimeoutMs(this.env) });
  }

  async get(): Promise<PaymentView | null> {
    const record = await this.load();
    return record ? paymentView(record) : null;
  }

  /** Who the payment belongs to (the routes check it before answering). */
  async owner(): Promise<{ tenantId: string; storefrontId: string; mode: string } | null> {
    const record = await this.load();
    return record
      ? { tenantId: record.tenantId, storefrontId: record.storefrontId, mode: record.mode }
      : null;
  }

  /**
   * Refunds `amount` (default: what is left), at most what was captured in all. Idempotent by
   * `idempotencyKey`: the same key answers the first refund.
   */
  async refund(
    req: RefundInput,
  ): Promise<Outcome<{ refund: RefundRecord; payment: PaymentView; replayed: boolean }>> {
    return this.serialized(() => asOutcome(() => this.refundNow(req)));
  }

  private async refundNow(
    req: RefundInput,
  ): Promise<{ refund: RefundRecord; payment: PaymentView; replayed: boolean }> {
    const record = await this.load();
    if (!record) throw new ApiError('not_found', 'No such payment.');
    // A refund that succeeded (or was refused for good) under this key is replayed; one that
    // failed because the provider was unavailable may be tried again with the same key.
    const earlier = record.refunds.find(
      (r) => r.idempotencyKey === req.idempotencyKey && r.failureReason !== 'provider_unavailable',
    );
    if (earlier) {
      if (req.amount !== undefined && earlier.amount !== req.amount) {
        throw new ApiError(
          'idempotency_key_reused',
          'This Idempotency-Key was used for a refund of another amount.',
        );
      }
      return { refund: earlier, payment: paymentView(record), replayed: true };
    }
    if (record.status !== 'succeeded' || !record.provider || !record.providerChargeId) {
      throw new ApiError(
        'conflict',
        `Only a succeeded payment can be refunded; this one is ${record.status}.`,
      );
    }
    const left = record.amount - record.refundedAmount;
    const amount = req.amount ?? left;
    if (amount <= 0 || amount > left) {
      throw new ApiError(
        'validation_failed',
        `The refund may be at most ${left} (minor units of ${record.currency}); ${record.refundedAmount} of ${record.amount} is refunded already.`,
        { errors: [{ path: 'amount', message: `at most ${left}` }] },
      );
    }
    const { adapter } = adapterLookup(this.adapters(record));
    const provider = adapter(record.provider);
    if (!provider)
      throw new ApiError('conflict', `The provider ${record.provider} is not available.`);
    const id = newId('re');
    const outcome = await provider.refund({
      idempotencyKey: `${record.id}:${req.idempotencyKey}`,
      providerChargeId: record.providerChargeId,
      amount,
      currency: record.currency,
    });
    const refund: RefundRecord = {
      id,
      amount,
      currency: record.currency,
      status: outcome.status,
      reason: req.reason,
      failureReason: outcome.status === 'failed' ? outcome.reason : null,
      providerRefundId: outcome.status === 'succeeded' ? outcome.providerRefundId : null,
      idempotencyKey: req.idempotencyKey,
      createdAt: new Date().toISOString(),
    };
    record.refunds.push(refund);
    if (outcome.status === 'succeeded') record.refundedAmount += amount;
    record.copied = false;
    await this.save(record);
    await this.copy();
    return { refund, payment: paymentView(record), replayed: false };
  }

  /** Copies the record to Postgres; on failure the alarm tries again (nothing is lost). */
  private async copy(): Promise<void> {
    const record = this.record;
    if (!record || record.copied) return;
    try {
      await copyToPostgres(this.env, record);
      record.copied = true;
      await this.save(record);
    } catch (err) {
      console.error(
        JSON.stringify({
          level: 'warn',
          msg: 'payment not copied to Postgres yet; retrying',
          paymentId: record.id,
          error: err instanceof Error ? err.name : 'error',
        }),
      );
      await this.ctx.storage.setAlarm(Date.now() + COPY_RETRY_MS);
    }
  }

  /**
   * Resumes a payment left `processing` (its call never finished), looks an `unknown` one up
   * again (backing off: 30 s, 1, 2, 4… minutes, 8 times), and copies to Postgres what is not
   * there yet.
   */
  async alarm(): Promise<void> {
    await this.serialized(async () => {
      const record = await this.load();
      const input = await this.ctx.storage.get<ChargeInput>('input');
      if (record && input && record.status === 'processing') {
        await this.chargeNow(input);
      } else if (record && input && record.status === 'unknown') {
        const tries = ((await this.ctx.storage.get<number>('lookups')) ?? 0) + 1;
        await this.ctx.storage.put('lookups', tries);
        if (!(await this.resolveUnknown(record, input)) && tries < 8) {
          await this.ctx.storage.setAlarm(Date.now() + RESUME_AFTER_MS * 2 ** (tries - 1));
        }
      }
      await this.copy();
    });
  }

  /** Whether Postgres has this payment's latest state (tests, operations). */
  async copied(): Promise<boolean> {
    return (await this.load())?.copied ?? false;
  }
}

function sandboxTimeoutMs(env: Env): number {
  const n = Number(env.SANDBOX_TIMEOUT_MS ?? '');
  return Number.isInteger(n) && n >= 50 && n <= 30_000 ? n : 2_000;
}

/** One transaction: the payment row, its attempts and refunds (upserts: a copy may repeat). */
async function copyToPostgres(env: Env, p: PaymentRecord): Promise<void> {
  const { db, close } = getDb(env);
  try {
    await db.transaction(async (tx) => {
      const row = {
        id: p.id,
        tenantId: p.tenantId,
        storefrontId: p.storefrontId,
        subscriptionId: p.subscriptionId,
        customerId: p.customerId,
        paymentMethodId: p.paymentMethodId,
        mode: p.mode,
        amount: p.amount,
        currency: p.currency,
        status: p.status === 'processing' ? ('processing' as const) : p.status,
        provider: p.provider,
        providerChargeId: p.providerChargeId,
        declineCode: p.declineCode,
        declineClass: p.declineClass,
        decision: p.decision,
        refundedAmount: p.refundedAmount,
        idempotencyKey: p.idempotencyKey,
        createdAt: new Date(p.createdAt),
      };
      await tx
        .insert(payments)
        .values(row)
        .onConflictDoUpdate({
          target: payments.id,
          set: {
            status: row.status,
            provider: row.provider,
            providerChargeId: row.providerChargeId,
            declineCode: row.declineCode,
            declineClass: row.declineClass,
            refundedAmount: row.refundedAmount,
          },
        });
      await tx.delete(paymentAttempts).where(eq(paymentAttempts.paymentId, p.id));
      if (p.attempts.length > 0) {
        await tx.insert(paymentAttempts).values(
          p.attempts.map((a, seq) => ({
            id: `${p.id.replace(/^pay_/, 'patt_')}_${seq}`,
            tenantId: p.tenantId,
            paymentId: p.id,
            seq,
            provider: a.provider,
            status: a.status,
            idempotencyKey: a.idempotencyKey,
            providerReference: a.providerChargeId ?? null,
            declineCode: a.declineCode ?? null,
            declineClass: a.declineClass ?? null,
            latencyMs: Math.round(a.latencyMs),
            lookedUp: a.lookedUp ?? false,
          })),
        );
      }
      for (const r of p.refunds) {
        await tx
          .insert(paymentRefunds)
          .values({
            id: r.id,
            tenantId: p.tenantId,
            paymentId: p.id,
            amount: r.amount,
            currency: r.currency,
            status: r.status,
            reason: r.reason,
            failureReason: r.failureReason,
            providerRefundId: r.providerRefundId ?? null,
            createdAt: new Date(r.createdAt),
          })
          .onConflictDoNothing();
      }
    });
  } finally {
    await close();
  }
}
