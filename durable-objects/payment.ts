import { eq, sql } from 'drizzle-orm';
import type { PaymentContract, PaymentEventInput, RefundInput } from '../src/contracts/payment';
import type { RefundNotice } from '../src/contracts/subscription';
import { getDb } from '../src/db/client';
import { paymentAttempts, paymentRefunds, payments } from '../src/db/schema';
import {
  asOutcome,
  ConflictError,
  IdempotencyKeyReusedError,
  NotFoundError,
  type Outcome,
  ValidationError,
} from '../src/domain/errors';
import type { Env } from '../src/env';
import { newId } from '../src/lib/ids';
import { executePayment, resultOfAttempts } from '../src/payments/execute';
import { bucketOf, decide, routeProviders } from '../src/payments/routing';
import { adapterLookup, sandboxAdapters } from '../src/payments/sandbox';
import type { Attempt, PaymentResult, ProviderAdapter } from '../src/payments/types';
import { webhookReplayKey } from '../src/payments/webhooks';
import { DurableObjectSandboxBackend, sandboxTimeoutMs } from '../src/services/payments/adapters';
import {
  type ChargeInput,
  newPaymentRecord,
  type PaymentRecord,
  type PaymentView,
  paymentView,
  type RefundRecord,
} from '../src/services/payments/record';
import type { WebhookEffect } from '../src/services/payments/webhooks';
import { StatefulDurableObject } from './base';

/** A payment still `processing` this long after it began is resumed by the alarm. */
const RESUME_AFTER_MS = 30_000;

/** How long the object waits before copying to Postgres again after a failure. */
const COPY_RETRY_MS = 5_000;

/**
 * A refund of a subscription's payment is told to the subscription's object: the refund call
 * waits for it at most this long (the subscription may be mid-charge), and the alarm tells it
 * again after 2 s, doubling up to 5 minutes, until it answers.
 */
const NOTICE_WAIT_MS = 5_000;
const NOTICE_RETRY_MS = 2_000;
const NOTICE_RETRY_MAX_MS = 5 * 60_000;
/** Storage key: the `refundedAmount` the subscription has acknowledged (the notice's cursor). */
const NOTICE_CURSOR = 'subscriptionNotified';

/**
 * One logical payment (named by its id): the routing decision, every attempt, the result and
 * its refunds, held in this object's storage before anything is answered — so a retried call
 * is a replay, a crash mid-payment resumes with the decision it saved (never a new one, which
 * could skip a provider that captured), and a Postgres outage delays the copy, never loses a
 * capture. Postgres gets a copy (payments, payment_attempts, payment_refunds) by write-through,
 * and by the alarm when that failed. A refund of a subscription's payment is told to that
 * subscription's object ({@link notifySubscription}) after it is saved, and again by the alarm
 * until the subscription has answered: its outbox is the refunds past the notice's cursor.
 *
 * A refusal (a reused key, a refund beyond the capture) is a domain error, answered as an
 * {@link Outcome}: an error thrown here would lose its class on the way back over RPC.
 *
 * From the base it takes {@link serialized} (charges, refunds, events and the alarm run one at a
 * time: each awaits other objects, the providers and their health, which lets the next call in)
 * and the alarm: {@link armAlarm} for every deadline (resuming, a lookup, a copy to retry), which
 * the handler ({@link onAlarm}) finds again in storage. Its state is the `payment` record in
 * key-value storage, read lazily by the first call that needs it; with no migrations and no
 * `onStart`, its calls skip `ready()`.
 */
export class PaymentDurableObject extends StatefulDurableObject implements PaymentContract {
  private record: PaymentRecord | undefined;
  /** Notices to the subscription that failed in a row (the retry's backoff). */
  private noticeFailures = 0;

  private async load(): Promise<PaymentRecord | undefined> {
    this.record ??= await this.ctx.storage.get<PaymentRecord>('payment');
    return this.record;
  }

  /** Saves a change (its version one more: Postgres keeps the newest copy only). */
  private async save(record: PaymentRecord): Promise<void> {
    record.version = (record.version ?? 0) + 1;
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

  private async chargeNow(
    input: ChargeInput,
  ): Promise<{ payment: PaymentView; replayed: boolean }> {
    const existing = await this.load();
    if (existing && existing.requestHash !== input.requestHash) {
      throw new IdempotencyKeyReusedError(
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
    // Resuming an interrupted payment: an attempt is saved only once it has finished, so its
    // saved status is the truth. Never call a provider already tried again (its earlier error
    // left nothing to replay, so a new call could capture beside a later provider's capture);
    // an attempt that ended the loop (captured, declined, unknown, failed) is the result, which
    // the interruption kept from being saved. The attempt that was under way is not saved: it
    // is sent again with its idempotency key, which the provider answers as the first time.
    const done = record.attempts.filter(Boolean);
    const last = done[done.length - 1];
    if (last && last.status !== 'error') {
      return this.finish(record, resultOfAttempts(done));
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

  /**
   * Applies a provider's (verified) webhook event, once per event id. A capture or failure of
   * the attempt that left the payment `unknown` settles it; a refund made at the provider (its
   * dashboard) is recorded; a capture at a provider beside the payment's result — one whose
   * lookup had found nothing, processed late — is refunded in full at once (never a double
   * charge that stays). An event of another tenant or mode, or of a charge this payment never
   * sent, has no effect.
   */
  async applyEvent(input: PaymentEventInput): Promise<{ effect: WebhookEffect; detail: string }> {
    const out = await this.serialized(() => this.applyEventNow(input));
    // A refund made at the provider reaches the subscription as one made here does.
    await this.notifySubscription();
    return out;
  }

  private async applyEventNow(
    input: PaymentEventInput,
  ): Promise<{ effect: WebhookEffect; detail: string }> {
    const { event, provider } = input;
    const record = await this.load();
    if (!record || record.tenantId !== input.tenantId || record.mode !== input.mode) {
      return { effect: 'ignored', detail: 'No such payment for this tenant and mode.' };
    }
    const seenKey = `event:${webhookReplayKey(provider, event.id)}`;
    if (await this.ctx.storage.get(seenKey)) {
      return { effect: 'duplicate', detail: 'This event was applied before; nothing changed.' };
    }
    const index = record.attempts.findIndex((a) => a?.provider === provider);
    const attempt = record.attempts[index];
    if (!attempt) {
      await this.ctx.storage.put(seenKey, Date.now());
      return { effect: 'ignored', detail: `The payment was never sent to ${provider}.` };
    }
    if (record.status === 'processing') {
      // Mid-charge (or interrupted, and the alarm will resume it): the provider delivers again.
      return {
        effect: 'retry',
        detail: 'The payment is being processed; deliver the event again.',
      };
    }
    const outcome = await this.applyEventTo(record, index, attempt, input);
    await this.ctx.storage.put(seenKey, Date.now());
    return outcome;
  }

  private async applyEventTo(
    record: PaymentRecord,
    index: number,
    attempt: Attempt,
    input: PaymentEventInput,
  ): Promise<{ effect: WebhookEffect; detail: string }> {
    const { event, provider } = input;
    const lastIndex = record.attempts.length - 1;
    const settles = record.status === 'unknown' && index === lastIndex;
    if (event.type === 'charge.captured') {
      if (record.status === 'succeeded' && record.providerChargeId === event.providerChargeId) {
        return { effect: 'unchanged', detail: 'The payment is captured there already.' };
      }
      if (settles) {
        const attempts = [...record.attempts];
        attempts[index] = {
          ...attempt,
          status: 'captured',
          providerChargeId: event.providerChargeId,
          settledByEvent: event.id,
        };
        await this.finish(record, {
          status: 'succeeded',
          provider,
          providerChargeId: event.providerChargeId,
          attempts,
        });
        return { effect: 'applied', detail: 'The unknown payment is settled: captured.' };
      }
      if (record.strayCaptures?.some((c) => c.providerChargeId === event.providerChargeId)) {
        return { effect: 'unchanged', detail: 'This stray capture was refunded already.' };
      }
      return this.refundStray(record, input);
    }
    if (event.type === 'charge.failed') {
      if (!settles) return { effect: 'unchanged', detail: 'The payment’s result stands.' };
      const code = event.declineCode ?? 'generic_decline';
      const issuer = ISSUER_DECLINES.has(code);
      const attempts = [...record.attempts];
      attempts[index] = {
        ...attempt,
        status: issuer ? 'declined' : 'failed',
        declineCode: code,
        ...(issuer ? { declineClass: 'issuer' as const } : {}),
        settledByEvent: event.id,
      };
      await this.finish(record, {
        status: issuer ? 'declined' : 'failed',
        provider,
        declineCode: code,
        ...(issuer ? { declineClass: 'issuer' as const } : {}),
        attempts,
      });
      return { effect: 'applied', detail: `The unknown payment is settled: ${code}.` };
    }
    // charge.refunded
    if (record.providerChargeId !== event.providerChargeId || record.status !== 'succeeded') {
      return { effect: 'unchanged', detail: 'Not a refund of this payment’s capture.' };
    }
    if (
      event.providerRefundId !== undefined &&
      record.refunds.some((r) => r.providerRefundId === event.providerRefundId)
    ) {
      return { effect: 'unchanged', detail: 'The refund is recorded already.' };
    }
    const left = record.amount - record.refundedAmount;
    const amount = Math.min(event.amount ?? left, left);
    if (amount <= 0) return { effect: 'unchanged', detail: 'Nothing is left to refund.' };
    record.refunds.push({
      id: newId('re'),
      amount,
      currency: record.currency,
      status: 'succeeded',
      reason: 'refunded at the provider',
      failureReason: null,
      providerRefundId: event.providerRefundId ?? null,
      idempotencyKey: `webhook:${event.id}`,
      createdAt: new Date().toISOString(),
    });
    record.refundedAmount += amount;
    record.copied = false;
    await this.save(record);
    await this.armNotice(record);
    await this.copy();
    return { effect: 'applied', detail: `A refund of ${amount} made at the provider is recorded.` };
  }

  /** Refunds, in full, a capture the payment's result does not account for. */
  private async refundStray(
    record: PaymentRecord,
    input: PaymentEventInput,
  ): Promise<{ effect: WebhookEffect; detail: string }> {
    const { event, provider } = input;
    const amount = event.amount ?? record.amount;
    const { adapter } = adapterLookup(this.adapters(record));
    const outcome = (await adapter(provider)
      ?.refund({
        idempotencyKey: `stray:${event.providerChargeId}`,
        providerChargeId: event.providerChargeId,
        amount,
        currency: record.currency,
      })
      .catch(() => null)) ?? { status: 'failed' as const, reason: 'provider_unavailable' };
    record.strayCaptures = [
      ...(record.strayCaptures ?? []),
      {
        provider,
        providerChargeId: event.providerChargeId,
        amount,
        eventId: event.id,
        refund:
          outcome.status === 'succeeded'
            ? { status: 'succeeded', providerRefundId: outcome.providerRefundId, reason: null }
            : { status: 'failed', providerRefundId: null, reason: outcome.reason },
        at: new Date().toISOString(),
      },
    ];
    record.copied = false;
    await this.save(record);
    await this.copy();
    console.error(
      JSON.stringify({
        level: 'warn',
        msg: 'a stray capture beside the payment’s result was refunded',
        paymentId: record.id,
        provider,
        refund: outcome.status,
      }),
    );
    if (outcome.status !== 'succeeded') {
      // Not refunded: the provider delivers the event again, and the refund is tried again
      // (its idempotency key makes a second success impossible).
      record.strayCaptures = record.strayCaptures.filter(
        (c) => c.providerChargeId !== event.providerChargeId,
      );
      await this.save(record);
      return { effect: 'retry', detail: 'A stray capture could not be refunded yet.' };
    }
    return {
      effect: 'applied',
      detail: 'A stray capture beside the payment’s result was refunded.',
    };
  }

  /** The routing decision, made once and saved before any provider is called. */
  private async begin(input: ChargeInput): Promise<PaymentRecord> {
    const registry = this.adapters(input);
    const { capabilities } = adapterLookup(registry);
    const payment = {
      method: input.paymentMethod.type,
      country: input.country,
      currency: input.currency,
      amount: input.amount,
    };
    // Open breakers among the matched route's providers (one call each, in parallel).
    const providers = routeProviders(input.routing, payment);
    const open = new Set<string>();
    await Promise.all(
      providers.map(async (provider) => {
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
    const decision = decide(input.routing, payment, {
      bucket: bucketOf(input.paymentId),
      killed: new Set(input.killed),
      breakerOpen: open,
      capabilities,
    });
    const record = newPaymentRecord(input, decision);
    // What the alarm needs to resume the payment if this call never finishes (an eviction, a
    // crash), and the alarm itself: both before any provider is called.
    await this.ctx.storage.put('input', input);
    await this.save(record);
    await this.armAlarm(Date.now() + RESUME_AFTER_MS);
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
    return sandboxAdapters(
      (provider) =>
        new DurableObjectSandboxBackend(this.env, { tenantId: input.tenantId, provider }),
      { timeoutMs: sandboxTimeoutMs(this.env) },
    );
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
    const out = await this.serialized(() => asOutcome(() => this.refundNow(req)));
    // Outside the serialized part: the subscription, busy charging this payment, may call it.
    // A replay tells it too if an earlier notice did not get through.
    if (!req.deferNotice) await this.notifySubscription();
    return out;
  }

  private async refundNow(
    req: RefundInput,
  ): Promise<{ refund: RefundRecord; payment: PaymentView; replayed: boolean }> {
    const record = await this.load();
    if (!record) throw new NotFoundError('No such payment.');
    // A refund that succeeded (or was refused for good) under this key is replayed; one that
    // failed because the provider was unavailable may be tried again with the same key.
    const earlier = record.refunds.find(
      (r) => r.idempotencyKey === req.idempotencyKey && r.failureReason !== 'provider_unavailable',
    );
    if (earlier) {
      if (req.amount !== undefined && earlier.amount !== req.amount) {
        throw new IdempotencyKeyReusedError(
          'This Idempotency-Key was used for a refund of another amount.',
        );
      }
      return { refund: earlier, payment: paymentView(record), replayed: true };
    }
    if (record.status !== 'succeeded' || !record.provider || !record.providerChargeId) {
      throw new ConflictError(
        `Only a succeeded payment can be refunded; this one is ${record.status}.`,
      );
    }
    const left = record.amount - record.refundedAmount;
    const amount = req.amount ?? left;
    if (amount <= 0 || amount > left) {
      throw new ValidationError(
        `The refund may be at most ${left} (minor units of ${record.currency}); ${record.refundedAmount} of ${record.amount} is refunded already.`,
        { errors: [{ path: 'amount', message: `at most ${left}` }] },
      );
    }
    const { adapter } = adapterLookup(this.adapters(record));
    const provider = adapter(record.provider);
    if (!provider) throw new ConflictError(`The provider ${record.provider} is not available.`);
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
    if (outcome.status === 'succeeded') await this.armNotice(record);
    await this.copy();
    return { refund, payment: paymentView(record), replayed: false };
  }

  /**
   * The outbox of the subscription's notice: a refund saved, the alarm is armed before the
   * subscription is told, so a notice cut off (an eviction, a failure, a deferred notice) is sent
   * by the alarm; one that got through leaves the alarm nothing to do.
   */
  private async armNotice(record: PaymentRecord): Promise<void> {
    if (record.subscriptionId) await this.armAlarm(Date.now() + NOTICE_RETRY_MS);
  }

  /**
   * Tells the subscription this payment belongs to about its refunds, unless it has been told
   * of them all (the cursor {@link NOTICE_CURSOR} is the refunded amount it acknowledged). The
   * notice carries every succeeded refund: the subscription applies each once by its id. On a
   * failure, or no answer within {@link NOTICE_WAIT_MS}, the alarm tells it again. Answers
   * whether the subscription knows everything.
   */
  private async notifySubscription(): Promise<boolean> {
    const record = await this.load();
    if (!record?.subscriptionId) return true;
    const target = record.refundedAmount;
    if (target <= ((await this.ctx.storage.get<number>(NOTICE_CURSOR)) ?? 0)) return true;
    const notice: RefundNotice = {
      paymentId: record.id,
      tenantId: record.tenantId,
      storefrontId: record.storefrontId,
      mode: record.mode,
      amount: record.amount,
      currency: record.currency,
      refunds: record.refunds
        .filter((f) => f.status === 'succeeded')
        .map((f) => ({ id: f.id, amount: f.amount, createdAt: f.createdAt })),
    };
    const ns = this.env.SUBSCRIPTION;
    const told = ns.get(ns.idFromName(record.subscriptionId)).paymentRefunded(notice);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), NOTICE_WAIT_MS);
    });
    try {
      const answer = await Promise.race([told, late]);
      if (answer === 'late') throw new Error(`no answer within ${NOTICE_WAIT_MS} ms`);
      if (answer.effect === 'retry') throw new Error('the subscription cannot take it yet');
    } catch (err) {
      told.catch(() => {}); // answered late, or failed: the alarm tells it again either way
      this.noticeFailures += 1;
      console.error(
        JSON.stringify({
          level: 'warn',
          msg: 'subscription not told of a refund yet; retrying',
          paymentId: record.id,
          subscriptionId: record.subscriptionId,
          error: err instanceof Error ? err.message : 'error',
        }),
      );
      const backoff = NOTICE_RETRY_MS * 2 ** Math.min(10, this.noticeFailures - 1);
      await this.armAlarm(Date.now() + Math.min(NOTICE_RETRY_MAX_MS, backoff));
      return false;
    } finally {
      clearTimeout(timer);
    }
    this.noticeFailures = 0;
    // Forward only: two notices may finish out of order.
    if (target > ((await this.ctx.storage.get<number>(NOTICE_CURSOR)) ?? 0)) {
      await this.ctx.storage.put(NOTICE_CURSOR, target);
    }
    return true;
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
      await this.armAlarm(Date.now() + COPY_RETRY_MS);
    }
  }

  /**
   * Resumes a payment left `processing` (its call never finished), looks an `unknown` one up
   * again (backing off: 30 s, 1, 2, 4… minutes, 8 times), copies to Postgres what is not
   * there yet, and tells the subscription of refunds it has not acknowledged. Every deadline it
   * keeps is found again here from the record (the notice's from its cursor), so an alarm that
   * fires early (armed for an earlier deadline) only finds less to do.
   */
  protected override async onAlarm(): Promise<void> {
    await this.serialized(async () => {
      const record = await this.load();
      const input = await this.ctx.storage.get<ChargeInput>('input');
      if (record && input && record.status === 'processing') {
        await this.chargeNow(input);
      } else if (record && input && record.status === 'unknown') {
        const tries = ((await this.ctx.storage.get<number>('lookups')) ?? 0) + 1;
        await this.ctx.storage.put('lookups', tries);
        if (!(await this.resolveUnknown(record, input)) && tries < 8) {
          await this.armAlarm(Date.now() + RESUME_AFTER_MS * 2 ** (tries - 1));
        }
      }
      await this.copy();
    });
    // Outside the serialized part, as after a refund call (see refund).
    await this.notifySubscription();
  }

  /** Whether Postgres has this payment's latest state (tests, operations). */
  async copied(): Promise<boolean> {
    return (await this.load())?.copied ?? false;
  }
}

/** Issuer declines (`charge.failed` with one of these settles an unknown payment as declined). */
const ISSUER_DECLINES = new Set([
  'generic_decline',
  'insufficient_funds',
  'lost_card',
  'stolen_card',
  'expired_card',
  'incorrect_cvc',
]);

/**
 * One transaction: the payment row, its attempts and refunds (upserts: a copy may repeat). The
 * row is written only over an older version (or none); a copy older than what Postgres has
 * changes nothing, so copies in any order leave the newest state.
 */
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
        version: p.version ?? 0,
        strayCaptures: p.strayCaptures?.length ? p.strayCaptures : null,
        createdAt: new Date(p.createdAt),
      };
      const written = await tx
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
            version: row.version,
            strayCaptures: row.strayCaptures,
            updatedAt: new Date(),
          },
          setWhere: sql`${payments.version} < excluded.version`,
        })
        .returning({ id: payments.id });
      if (written.length === 0) return; // Postgres has this version or a newer one
      await tx.delete(paymentAttempts).where(eq(paymentAttempts.paymentId, p.id));
      if (p.attempts.length > 0) {
        await tx.insert(paymentAttempts).values(
          p.attempts.map((a, seq) => ({
            id: `${p.id.replace(/^pay_/, 'patt_')}_${seq}`,
            tenantId: p.tenantId,
            storefrontId: p.storefrontId,
            mode: p.mode,
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
            // When the payment was made, not when this copy was: a later copy (a refund)
            // rewrites the attempts, and analytics count them by time.
            createdAt: new Date(p.createdAt),
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
