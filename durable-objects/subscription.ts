import { foldConversion } from '../src/analytics/facts';
import type {
  ChangePreviewView,
  CurrentTerms,
  IdempotencyClaim,
  PlanChangeInput,
  RefundNotice,
  RefundNoticeResult,
  SubscriptionCommand,
  SubscriptionContract,
  SubscriptionResult,
} from '../src/contracts/subscription';
import {
  asOutcome,
  ConflictError,
  IdempotencyKeyReusedError,
  InvalidStateError,
  NotFoundError,
  type Outcome,
  ValidationError,
} from '../src/domain/errors';
import { sha256Hex } from '../src/lib/crypto';
import { idFromDigest } from '../src/lib/ids';
import type { ChargeInput, PaymentView } from '../src/services/payments/record';
import { copySubscription } from '../src/services/subscriptions/copy';
import type {
  CheckoutInput,
  OpenInvoice,
  PendingCharge,
  SubscriptionEvent,
  SubscriptionPayment,
  SubscriptionRecord,
} from '../src/services/subscriptions/record';
import { apiTime, subscriptionView } from '../src/services/subscriptions/record';
import { currentTerms } from '../src/services/subscriptions/terms';
import {
  type BillingState,
  changePlan,
  firstInvoice,
  type Invoice,
  renew,
  restartBilling,
  startBilling,
  startTrialBilling,
} from '../src/subscriptions/billing';
import { nextDunningStep, recordRetryFailure, startStreak } from '../src/subscriptions/dunning';
import {
  INCOMPLETE_EXPIRY_SECONDS,
  isTerminal,
  type LifecycleEvent,
  type LifecycleState,
  transition,
} from '../src/subscriptions/lifecycle';
import { prorate } from '../src/subscriptions/proration';
import type { UnixSeconds } from '../src/subscriptions/time';
import { trialEnd } from '../src/subscriptions/trials';
import { type SqlMigration, StatefulDurableObject } from './base';
import { EntitlementsFeed } from './entitlements-feed';

/** Idempotency-Keys are kept this long (Stripe keeps them 24 h; we keep 48). */
const IDEMPOTENCY_KEEP_SECONDS = 48 * 3_600;
/** A call never waits longer than this for the Postgres copy; the copy goes on behind it. */
const COPY_WAIT_MS = 2_000;
/** Retry the copy after this long, doubling up to {@link COPY_RETRY_MAX_MS}. */
const COPY_RETRY_MS = 2_000;
const COPY_RETRY_MAX_MS = 5 * 60_000;
/** Work one alarm (or one clock step) may do before yielding; what remains re-arms. */
const MAX_ACTIONS_PER_RUN = 1_000;
/** A charge whose outcome is unknown is asked again after 60 s, doubling up to an hour. */
const PENDING_RETRY_SECONDS = 60;
const PENDING_RETRY_MAX_SECONDS = 3_600;

/**
 * Thrown by {@link SubscriptionDurableObject.charge} when a payment's outcome is not known (a
 * provider timed out and its lookup could not tell): what called it applies nothing and keeps
 * the charge pending, to be asked again under the same key. Never crosses RPC.
 */
class PaymentPending extends Error {
  constructor(readonly payment: PaymentView) {
    super(`payment ${payment.id} is ${payment.status}`);
  }
}

type Action =
  | { kind: 'expire'; at: UnixSeconds }
  | { kind: 'trial_end'; at: UnixSeconds }
  | { kind: 'renew'; at: UnixSeconds }
  | { kind: 'period_end_cancel'; at: UnixSeconds }
  | { kind: 'dunning'; at: UnixSeconds }
  | { kind: 'auto_resume'; at: UnixSeconds }
  | { kind: 'settle'; at: UnixSeconds };

const MIGRATIONS: readonly SqlMigration[] = [
  {
    id: 1,
    name: 'state, event log, payments, idempotency, copy cursors',
    up: [
      'create table state (id integer primary key check (id = 1), record text not null)',
      `create table events (seq integer primary key, type text not null, data text not null,
        at integer not null)`,
      `create table payments (id text primary key, key text not null unique, purpose text not null,
        status text not null, amount integer not null, currency text not null, provider text,
        decline_code text, created_at text not null)`,
      `create table idempotency (key text primary key, request_hash text not null,
        response text not null, at integer not null)`,
      'create table cursors (sink text primary key, seq integer not null, version integer not null)',
    ],
  },
  {
    id: 2,
    name: 'the charge under way (written before the payment object is called)',
    up: ['create table intent (id integer primary key check (id = 1), pending text not null)'],
  },
  {
    id: 3,
    name: 'refunds of its payments, each once (as the payment objects tell them)',
    up: [
      `create table refunds (id text primary key, payment_id text not null, amount integer not null,
        at integer not null)`,
      'create index refunds_payment on refunds (payment_id)',
    ],
  },
];

/**
 * One subscription (named by its id): its state machine (src/subscriptions/lifecycle.ts), its
 * billing cycle and plan changes (src/subscriptions/billing.ts), its dunning, every payment it
 * makes (each through a PaymentDurableObject under a natural key — `attempt:<invoice>:<n>` —
 * so a charge happens once for the life of the subscription, whatever is retried), an ordered
 * event log with monotonic sequence numbers, and the Idempotency-Keys of the calls made to it.
 *
 * Everything is in this object's SQLite storage before a call is answered. Postgres gets a copy
 * (subscriptions, subscription_events; the payments copy themselves): the events past the
 * copy's cursor are the outbox, written through after each call and by the alarm after a
 * failure, in sequence order, so an outage delays the copy and loses nothing.
 *
 * Time: the wall clock, or for a subscription on a test clock the clock's time, which only the
 * clock moves (`advanceTo`); such a subscription never sets a billing alarm.
 */
export class SubscriptionDurableObject
  extends StatefulDurableObject
  implements SubscriptionContract
{
  protected override readonly migrations = MIGRATIONS;
  private record: SubscriptionRecord | null = null;
  /** Events of the operation under way, saved with the record. */
  private pending: { type: string; data: Record<string, unknown>; at: UnixSeconds }[] = [];
  /** Refunds the operation under way learnt of (its own), saved with the record. */
  private pendingRefunds: { id: string; paymentId: string; amount: number; at: UnixSeconds }[] = [];
  private copying: Promise<boolean> | null = null;
  private copyAgain = false;
  private copyFailures = 0;
  /**
   * What the operation under way would do again to settle a charge whose answer it never got:
   * written as the intent before each charge (see {@link charge}).
   */
  private op: PendingCharge | null = null;
  /** Failed alarm runs in a row, and until when the next due action waits after one (epoch ms). */
  private actionFailures = 0;
  private holdUntil = 0;
  /** Hands each saved state to the customer's entitlements object (cursor 'entitlements'). */
  private readonly feed = new EntitlementsFeed(this.ctx, this.env);

  protected override onStart(): void {
    const row = this.ctx.storage.sql
      .exec<{ record: string }>('select record from state where id = 1')
      .toArray()[0];
    this.record = row ? (JSON.parse(row.record) as SubscriptionRecord) : null;
  }

  protected override async onAlarm(): Promise<void> {
    const r = this.record;
    try {
      if (r && !r.testClockId) {
        await this.serialized(async () => {
          await this.runDue(this.wallNow(), true);
        });
      }
      this.actionFailures = 0;
    } catch (err) {
      // What was due failed (a provider or object unreachable…): it is tried again later, with
      // a growing delay, and the copy and the other deadlines go on meanwhile.
      this.actionFailures += 1;
      this.holdUntil =
        Date.now() + Math.min(3_600_000, 30_000 * 2 ** Math.min(7, this.actionFailures - 1));
      console.error(`subscription ${r?.id}: due action failed (${this.actionFailures}): ${err}`);
    }
    await this.feed.deliver(this.record, this.lastSeq());
    await this.copy();
    await this.arm();
  }

  /** Whether this object holds anything yet (reads must not create storage for a probed id). */
  private exists(): boolean {
    return (
      this.ctx.storage.sql
        .exec("select 1 from sqlite_master where type = 'table' and name = 'state'")
        .toArray().length > 0
    );
  }

  // ── RPC ─────────────────────────────────────────────────────────────────────────────────

  async checkout(
    input: CheckoutInput,
  ): Promise<Outcome<SubscriptionResult & { replayed: boolean; status: number }>> {
    await this.ready();
    const out = await this.serialized(() =>
      asOutcome(async () => {
        this.pending = [];
        const stored = this.claimed('checkout');
        if (stored) {
          if (stored.requestHash !== input.requestHash) {
            throw new IdempotencyKeyReusedError(
              'This Idempotency-Key was used for a checkout with different parameters.',
            );
          }
          return {
            ...(JSON.parse(stored.response) as SubscriptionResult & { status: number }),
            replayed: true,
          };
        }
        const result = await this.create(input);
        this.remember('checkout', input.requestHash, result);
        return { ...result, replayed: false };
      }),
    );
    await this.afterChange();
    return out;
  }

  async get() {
    if (!this.exists()) return null;
    await this.ready();
    return this.record ? subscriptionView(this.record) : null;
  }

  async owner() {
    if (!this.exists()) return null;
    await this.ready();
    const r = this.record;
    return r
      ? {
          tenantId: r.tenantId,
          storefrontId: r.storefrontId,
          mode: r.mode,
          customerId: r.customerId,
        }
      : null;
  }

  async command(
    command: SubscriptionCommand,
    current: CurrentTerms | null,
    claim: IdempotencyClaim | null,
  ): Promise<Outcome<SubscriptionResult & { replayed: boolean }>> {
    await this.ready();
    const out = await this.serialized(
      async (): Promise<Outcome<SubscriptionResult & { replayed: boolean }>> => {
        this.pending = [];
        const key = claim ? `command:${claim.key}` : null;
        const stored = key ? this.claimed(key) : null;
        if (stored && claim) {
          if (stored.requestHash !== claim.requestHash) {
            const reused = new IdempotencyKeyReusedError(
              'This Idempotency-Key was used for a different request on this subscription.',
            );
            return { ok: false, error: reused.serialize() };
          }
          // The first answer again, a refusal as a refusal.
          const first = JSON.parse(stored.response) as Outcome<SubscriptionResult>;
          return first.ok ? { ok: true, value: { ...first.value, replayed: true } } : first;
        }
        await this.recoverIntent();
        const run = await asOutcome(async () => {
          const r = this.working();
          if (current) {
            r.terms = current.terms;
            r.dunning = current.dunning;
            if (current.refundEndsAccess !== undefined) {
              r.refundEndsAccess = current.refundEndsAccess;
            }
          }
          // A change's proration date is fixed now, so asking again charges the same key.
          const resolved: SubscriptionCommand =
            command.type === 'change' && command.prorationDate === undefined
              ? { ...command, prorationDate: this.now(r) }
              : command;
          this.op = { type: 'command', command: resolved, retryAt: 0, tries: 0 };
          try {
            return await this.apply(r, resolved);
          } catch (err) {
            if (!(err instanceof PaymentPending)) throw err;
            return this.keepPending(
              { type: 'command', command: resolved, retryAt: 0, tries: 0 },
              err.payment,
            );
          }
        });
        // A transient refusal (a payment still being confirmed) is not the answer to keep.
        const transient = !run.ok && run.error.code === 'payment_pending';
        if (key && claim && !transient) this.remember(key, claim.requestHash, run);
        return run.ok ? { ok: true, value: { ...run.value, replayed: false } } : run;
      },
    );
    await this.afterChange();
    return out;
  }

  async preview(change: PlanChangeInput): Promise<Outcome<ChangePreviewView>> {
    await this.ready();
    return asOutcome(() => {
      const r = this.requireRecord();
      const { preview } = this.planChange(r, change);
      const lines = preview.invoice?.lines ?? preview.lines;
      return {
        amount: preview.amountDue,
        currency: change.price.currency,
        prorationDate: apiTime(preview.prorationDate),
        lines: lines.map((l) => ({
          description: l.description,
          amount: l.amount,
          periodStart: apiTime(l.periodStart),
          periodEnd: apiTime(l.periodEnd),
        })),
        direction: preview.direction,
        timing: preview.timing,
        addedToNextInvoice: preview.addedToNextInvoice.reduce((sum, l) => sum + l.amount, 0),
      };
    });
  }

  async events(afterSeq: number, limit: number): Promise<SubscriptionEvent[]> {
    if (!this.exists()) return [];
    await this.ready();
    return this.ctx.storage.sql
      .exec<{ seq: number; type: string; data: string; at: number }>(
        'select seq, type, data, at from events where seq > ? order by seq limit ?',
        afterSeq,
        limit,
      )
      .toArray()
      .map((e) => ({
        seq: e.seq,
        type: e.type,
        data: JSON.parse(e.data) as Record<string, unknown>,
        occurredAt: apiTime(e.at),
      }));
  }

  async payments(): Promise<SubscriptionPayment[]> {
    if (!this.exists()) return [];
    await this.ready();
    return this.ctx.storage.sql
      .exec<{
        id: string;
        key: string;
        purpose: string;
        status: string;
        amount: number;
        currency: string;
        provider: string | null;
        decline_code: string | null;
        created_at: string;
        refunded: number;
      }>(
        `select p.*, coalesce((select sum(f.amount) from refunds f where f.payment_id = p.id), 0)
           as refunded
         from payments p order by p.created_at, p.rowid`,
      )
      .toArray()
      .map((p) => ({
        id: p.id,
        key: p.key,
        purpose: p.purpose,
        status: p.status as SubscriptionPayment['status'],
        amount: p.amount,
        amountRefunded: p.refunded,
        currency: p.currency,
        provider: p.provider,
        declineCode: p.decline_code,
        createdAt: p.created_at,
      }));
  }

  async tick(): Promise<{ fired: number }> {
    await this.ready();
    const r = this.record;
    if (!r || r.testClockId) return { fired: 0 };
    const fired = await this.serialized(() => this.runDue(this.wallNow(), true));
    await this.afterChange();
    return { fired };
  }

  async nextDue(): Promise<UnixSeconds | null> {
    if (!this.exists()) return null;
    await this.ready();
    return this.record ? (this.nextAction(this.record)?.at ?? null) : null;
  }

  async advanceTo(at: UnixSeconds): Promise<{ fired: number; nextDue: UnixSeconds | null }> {
    await this.ready();
    const fired = await this.serialized(async () => {
      if (!this.record?.testClockId) return 0;
      const from = this.record.clockNow;
      if (from !== null && at < from) return 0; // a clock only moves forward
      const n = await this.runDue(at, true);
      const r = this.working();
      // Stopped by the cap with more due: the clock's time stays at the last action done.
      const more = this.nextAction(r);
      if (!(n >= MAX_ACTIONS_PER_RUN && more && more.at <= at)) r.clockNow = at;
      this.save(r);
      return n;
    });
    await this.afterChange();
    return { fired, nextDue: this.record ? (this.nextAction(this.record)?.at ?? null) : null };
  }

  async copied(): Promise<{ copied: boolean; events: number; copiedEvents: number }> {
    await this.ready();
    const events = this.lastSeq();
    const cursor = this.cursor();
    return {
      copied: cursor.seq >= events && cursor.version >= (this.record?.version ?? 0),
      events,
      copiedEvents: cursor.seq,
    };
  }

  /**
   * A payment of this subscription was refunded: told by the payment object after it recorded
   * the refund, and again (its alarm, its next call) until this answers, so a notice may come
   * twice or carry refunds told before. Each refund is recorded once, by its id, as a
   * `payment_refunded` event. When the payment is the one that paid the current period
   * ({@link SubscriptionRecord.periodPaymentId}), its refunds now add up to all of it, and the
   * storefront's `subscriptions.refundEndsAccess` is on (as published now; else as last seen;
   * default on), the subscription ends now, as a cancel-now with reason `refunded`, and the
   * customer's entitlements lose it before this answers. A partial refund, an older period's
   * payment or the setting off: recorded, access stays. A payment this subscription never made
   * (another object's, another tenant's) is ignored.
   */
  async paymentRefunded(notice: RefundNotice): Promise<RefundNoticeResult> {
    if (!this.exists()) return { effect: 'ignored', ended: false, status: null };
    await this.ready();
    const out = await this.serialized(async (): Promise<RefundNoticeResult> => {
      this.pending = [];
      const r = this.record;
      if (!r) return { effect: 'ignored', ended: false, status: null };
      const sql = this.ctx.storage.sql;
      const paid = sql
        .exec<{ amount: number; status: string }>(
          'select amount, status from payments where id = ?',
          notice.paymentId,
        )
        .toArray()[0];
      const ours =
        paid !== undefined &&
        r.tenantId === notice.tenantId &&
        r.storefrontId === notice.storefrontId &&
        r.mode === notice.mode;
      if (!ours && r.tenantId === notice.tenantId && this.chargeUnsettled(r)) {
        // A charge whose answer was never saved may be this payment: not known yet, so the
        // payment object tells it again (after the charge is settled) rather than losing it.
        return { effect: 'retry', ended: false, status: r.lifecycle.status };
      }
      if (!ours) return { effect: 'ignored', ended: false, status: r.lifecycle.status };
      const seen = sql
        .exec<{ id: string; amount: number }>(
          'select id, amount from refunds where payment_id = ?',
          notice.paymentId,
        )
        .toArray();
      const known = new Set(seen.map((f) => f.id));
      const fresh = notice.refunds.filter((f) => !known.has(f.id) && f.amount > 0);
      if (fresh.length === 0) {
        return { effect: 'duplicate', ended: false, status: r.lifecycle.status };
      }
      if (this.chargeUnsettled(r)) {
        // A charge of its is unknown at the provider: which period is paid (and whether ending
        // now would leave that charge captured for nothing) is not known until it settles, so
        // the notice waits; the payment object tells it again.
        return { effect: 'retry', ended: false, status: r.lifecycle.status };
      }
      // Before the working copy: what is published now decides (an await, inside this call).
      const published = await currentTerms(this.env, r).catch(() => null);
      const w = this.working();
      if (published?.refundEndsAccess !== undefined)
        w.refundEndsAccess = published.refundEndsAccess;
      const endsAccess = w.refundEndsAccess ?? true;
      const now = this.now(w);
      const current = this.periodPaymentOf(w) === notice.paymentId;
      let refunded = seen.reduce((sum, f) => sum + f.amount, 0);
      for (const f of fresh) {
        refunded += f.amount;
        this.pendingRefunds.push({
          id: f.id,
          paymentId: notice.paymentId,
          amount: f.amount,
          at: now,
        });
        this.emit(
          'payment_refunded',
          {
            paymentId: notice.paymentId,
            refundId: f.id,
            amount: f.amount,
            currency: notice.currency,
            refundedAmount: refunded,
            full: refunded >= paid.amount,
            currentPeriod: current,
          },
          now,
        );
      }
      const full = refunded >= paid.amount;
      const cancel = transition(w.lifecycle, { type: 'cancel_now', at: now });
      let ended = false;
      if (full && current && endsAccess && cancel.ok) {
        w.lifecycle = cancel.state;
        w.cancelledAt = now;
        w.openInvoice = null;
        w.streak = null;
        this.emit(
          'cancelled',
          { atPeriodEnd: false, reason: 'refunded', paymentId: notice.paymentId },
          now,
        );
        ended = true;
      }
      // The refunds, the events and the state in one transaction: seen once, applied once.
      this.save(w);
      return { effect: 'applied', ended, status: w.lifecycle.status };
    });
    // As every change: the entitlements object has it before this answers, then the copy.
    await this.afterChange();
    return out;
  }

  /** Whether a charge is under way or unanswered (its payment may not be listed yet). */
  private chargeUnsettled(r: SubscriptionRecord): boolean {
    if (r.pendingCharge) return true;
    return this.ctx.storage.sql.exec('select 1 from intent').toArray().length > 0;
  }

  /**
   * The payment that paid the current period. A record made before it was kept: the latest
   * succeeded payment that is not a proration of a change (which never paid a whole period).
   */
  private periodPaymentOf(r: SubscriptionRecord): string | null {
    if (r.periodPaymentId !== undefined) return r.periodPaymentId;
    return (
      this.ctx.storage.sql
        .exec<{ id: string }>(
          `select id from payments where status = 'succeeded' and purpose <> 'plan_change'
           order by created_at desc, rowid desc limit 1`,
        )
        .toArray()[0]?.id ?? null
    );
  }

  // ── Creating ────────────────────────────────────────────────────────────────────────────

  private async create(input: CheckoutInput): Promise<SubscriptionResult & { status: number }> {
    if (this.record) {
      throw new ConflictError(`Subscription ${input.subscriptionId} already exists.`);
    }
    const now = input.testClock?.now ?? this.wallNow();
    const base: Omit<SubscriptionRecord, 'billing' | 'lifecycle' | 'trialEnd'> = {
      id: input.subscriptionId,
      tenantId: input.tenantId,
      storefrontId: input.storefrontId,
      mode: input.mode,
      customerId: input.customer.id,
      customerEmail: input.customer.email,
      bundle: input.bundle,
      pendingBundle: null,
      dunning: input.dunning,
      streak: null,
      openInvoice: null,
      paymentMethod: input.paymentMethod,
      terms: input.terms,
      testClockId: input.testClock?.id ?? null,
      clockNow: input.testClock ? now : null,
      targetingKey: input.targetingKey,
      campaign: input.campaign,
      createdAt: now,
      cancelledAt: null,
      endedAt: null,
      pausedAt: null,
      version: 0,
      periodPaymentId: null,
      ...(input.refundEndsAccess === undefined ? {} : { refundEndsAccess: input.refundEndsAccess }),
    };
    const created = {
      bundleId: input.bundle.id,
      priceId: input.price.id,
      amount: input.price.amount,
      currency: input.price.currency,
      customerId: input.customer.id,
    };
    if (input.trial) {
      const end = trialEnd(now, input.trial.days);
      const lifecycle = this.step(null, { type: 'trial_started', at: now, trialEnd: end });
      const r: SubscriptionRecord = {
        ...base,
        billing: startTrialBilling(input.price, now, end),
        lifecycle,
        trialEnd: { at: end, missingPaymentMethod: input.trial.missingPaymentMethod },
      };
      this.emit('created', created, now);
      this.emit('trial_started', { trialEnd: apiTime(end) }, now);
      this.save(r);
      return { subscription: subscriptionView(r), payment: null, declined: false, status: 201 };
    }
    const billing = startBilling(input.price, now);
    const invoice = firstInvoice(billing);
    const draft: SubscriptionRecord = {
      ...base,
      billing,
      // A placeholder until the first payment decides (it is never saved as it is).
      lifecycle: {
        status: 'incomplete',
        since: now,
        lastEventAt: now,
        periodEnd: null,
        termEnd: null,
        cancelAtPeriodEnd: false,
        billingIssue: false,
        resumeAt: null,
      },
      trialEnd: null,
    };
    this.emit('created', created, now);
    let payment: PaymentView | null = null;
    try {
      payment =
        invoice.amountDue > 0
          ? await this.charge(draft, 'checkout', 'initial', '0', invoice, now)
          : null;
    } catch (err) {
      if (!(err instanceof PaymentPending)) throw err;
      // Not known yet: incomplete, and asked again until it is (never charged a second time).
      draft.lifecycle = this.step(null, { type: 'checkout_failed', at: now });
      draft.openInvoice = openInvoiceOf('initial', invoice);
      draft.pendingCharge = {
        type: 'initial',
        key: 'initial',
        n: '0',
        purpose: 'checkout',
        retryAt: now + PENDING_RETRY_SECONDS,
        tries: 1,
      };
      this.emit('payment_pending', paymentFacts(err.payment), now);
      this.save(draft);
      return {
        subscription: subscriptionView(draft),
        payment: err.payment,
        declined: false,
        pending: true,
        status: 202,
      };
    }
    if (!payment || payment.status === 'succeeded') {
      draft.lifecycle = this.step(null, {
        type: 'checkout_paid',
        at: now,
        periodEnd: billing.period.end,
      });
      draft.periodPaymentId = payment?.id ?? null;
      this.emit('activated', { paymentId: payment?.id ?? null }, now);
      this.save(draft);
      return { subscription: subscriptionView(draft), payment, declined: false, status: 201 };
    }
    draft.lifecycle = this.step(null, { type: 'checkout_failed', at: now });
    draft.openInvoice = openInvoiceOf('initial', invoice);
    this.emit('payment_failed', paymentFacts(payment), now);
    this.save(draft);
    return { subscription: subscriptionView(draft), payment, declined: true, status: 402 };
  }

  // ── Commands ────────────────────────────────────────────────────────────────────────────

  private async apply(r: SubscriptionRecord, c: SubscriptionCommand): Promise<SubscriptionResult> {
    const now = this.now(r);
    if (r.pendingCharge && !(c.type === 'cancel' && c.atPeriodEnd)) {
      throw new ConflictError(
        'A payment of this subscription is still being confirmed with the provider; retry in a minute.',
        { code: 'payment_pending' },
      );
    }
    const done = (payment: PaymentView | null = null, declined = false): SubscriptionResult => {
      this.save(r);
      return { subscription: subscriptionView(r), payment, declined };
    };
    switch (c.type) {
      case 'pause': {
        r.lifecycle = this.step(r.lifecycle, { type: 'pause', at: now, resumeAt: c.resumeAt });
        r.pausedAt = now;
        // The paid time not used is credited: the resume's new period draws on it.
        const { period, price } = r.billing;
        const credited = r.billing.inTrial
          ? 0
          : prorate(price.amount, Math.max(0, period.end - now), period.end - period.start);
        r.billing = { ...r.billing, creditBalance: r.billing.creditBalance + credited };
        this.emit(
          'paused',
          { resumeAt: c.resumeAt === null ? null : apiTime(c.resumeAt), credited },
          now,
        );
        return done();
      }
      case 'resume': {
        const payment = await this.resume(r, now, 'manual');
        return done(payment, payment !== null && payment.status !== 'succeeded');
      }
      case 'cancel': {
        if (c.atPeriodEnd) {
          r.lifecycle = this.step(r.lifecycle, { type: 'cancel_at_period_end', at: now });
          this.emit('cancel_scheduled', { at: apiTime(r.billing.period.end) }, now);
        } else {
          r.lifecycle = this.step(r.lifecycle, { type: 'cancel_now', at: now });
          r.cancelledAt = now;
          r.openInvoice = null;
          r.streak = null;
          this.emit('cancelled', { atPeriodEnd: false }, now);
        }
        return done();
      }
      case 'reactivate': {
        r.lifecycle = this.step(r.lifecycle, { type: 'reactivate', at: now });
        this.emit('reactivated', {}, now);
        return done();
      }
      case 'change': {
        const { preview, next } = this.planChange(r, c);
        let payment: PaymentView | null = null;
        if (preview.amountDue > 0 && preview.invoice) {
          const key = `change:${r.chargeSeq ?? 0}`;
          payment = await this.charge(r, 'plan_change', key, '0', preview.invoice, now);
          if (payment.status !== 'succeeded') {
            this.emit('payment_failed', { ...paymentFacts(payment), for: 'plan_change' }, now);
            return done(payment, true);
          }
        }
        const from = { bundleId: r.bundle.id, priceId: r.billing.price.id };
        r.lifecycle = this.step(r.lifecycle, {
          type: 'plan_changed',
          at: now,
          ...(preview.anchorReset ? { periodEnd: next.period.end } : {}),
        });
        r.billing = next;
        // A new cadence restarts the cycle: what this change charged paid the new period.
        if (preview.anchorReset) r.periodPaymentId = payment?.id ?? null;
        if (preview.timing === 'period_end') {
          r.pendingBundle = c.bundle;
          this.emit(
            'plan_change_scheduled',
            {
              from,
              to: { bundleId: c.bundle.id, priceId: c.price.id },
              at: apiTime(preview.effectiveAt),
            },
            now,
          );
        } else {
          r.bundle = c.bundle;
          r.pendingBundle = null;
          this.emit(
            'plan_changed',
            {
              from,
              to: { bundleId: c.bundle.id, priceId: c.price.id },
              direction: preview.direction,
              proration: c.proration,
              prorationDate: apiTime(preview.prorationDate),
              amountCharged: preview.amountDue,
              paymentId: payment?.id ?? null,
            },
            now,
          );
        }
        return done(payment);
      }
      case 'payment_method': {
        if (isTerminal(r.lifecycle.status)) {
          throw new InvalidStateError(
            `A ${r.lifecycle.status} subscription takes no payment method.`,
            { state: r.lifecycle.status, code: 'illegal_transition' },
          );
        }
        r.paymentMethod = c.paymentMethod;
        this.emit('payment_method_updated', { paymentMethodId: c.paymentMethod.id }, now);
        const open = r.openInvoice;
        const status = r.lifecycle.status;
        if (!open || (status !== 'incomplete' && status !== 'past_due')) return done();
        if (status === 'incomplete' && now >= r.lifecycle.since + INCOMPLETE_EXPIRY_SECONDS) {
          throw new InvalidStateError(
            'The first payment can no longer be retried: this incomplete subscription expired (23 hours). Check out again.',
            { state: 'incomplete_expired', code: 'illegal_transition' },
          );
        }
        // A new method retries the open invoice at once.
        const purpose = status === 'incomplete' ? 'checkout_retry' : 'dunning_retry';
        const payment = await this.charge(
          r,
          purpose,
          open.key,
          `retry:${r.chargeSeq ?? 0}`,
          open,
          now,
        );
        if (payment.status !== 'succeeded') {
          this.emit('payment_failed', paymentFacts(payment), now);
          return done(payment, true);
        }
        await this.paid(r, now, payment);
        return done(payment);
      }
    }
  }

  /** The open invoice was paid by `payment`: activation or recovery. */
  private async paid(r: SubscriptionRecord, now: UnixSeconds, payment: PaymentView): Promise<void> {
    if (r.lifecycle.status === 'incomplete') {
      const allowed = transition(r.lifecycle, {
        type: 'first_payment_retry_succeeded',
        at: now,
        periodEnd: Math.max(r.billing.period.end, now + 1),
      });
      if (!allowed.ok) {
        // Captured too late to activate (its outcome was unknown past the 23 hours): never keep
        // money for nothing — refund it in full, and let the subscription expire.
        // Its notice comes by the payment's alarm (waiting for it here would wait for this call),
        // and finds this refund recorded: no second event.
        const refund = await this.env.PAYMENT.get(this.env.PAYMENT.idFromName(payment.id))
          .refund({
            reason: 'incomplete subscription expired',
            idempotencyKey: `expired:${payment.id}`,
            deferNotice: true,
          })
          .catch(() => null);
        if (refund?.ok && refund.value.refund.status === 'succeeded') {
          const { id, amount } = refund.value.refund;
          this.pendingRefunds.push({ id, paymentId: payment.id, amount, at: now });
        }
        this.emit(
          'payment_refunded',
          { paymentId: payment.id, reason: 'incomplete_expired', ok: refund?.ok ?? false },
          now,
        );
        r.openInvoice = null;
        return;
      }
      r.lifecycle = this.step(r.lifecycle, {
        type: 'first_payment_retry_succeeded',
        at: now,
        periodEnd: r.billing.period.end,
      });
      this.emit('activated', { paymentId: payment.id }, now);
    } else {
      r.lifecycle = this.step(r.lifecycle, { type: 'dunning_recovered', at: now });
      this.emit('recovered', { paymentId: payment.id }, now);
    }
    // The open invoice was the current period's (the first, or the renewal being dunned).
    r.periodPaymentId = payment.id;
    r.openInvoice = null;
    r.streak = null;
  }

  private planChange(r: SubscriptionRecord, c: PlanChangeInput) {
    const now = this.now(r);
    const allowed = transition(r.lifecycle, { type: 'plan_changed', at: now });
    if (!allowed.ok) throw illegal(allowed.error.message, r);
    if (c.price.bundleId === r.bundle.id && c.price.id === r.billing.price.id) {
      throw new ValidationError(`The subscription is already on ${r.bundle.slug}.`, {
        errors: [{ path: 'bundleId', message: 'the current bundle' }],
      });
    }
    const prorationDate = c.prorationDate ?? now;
    if (c.maxBackdateSeconds !== undefined && prorationDate < now - c.maxBackdateSeconds) {
      throw new ValidationError(
        `prorationDate may be at most ${c.maxBackdateSeconds} seconds old with a customer token (take a fresh preview).`,
        { errors: [{ path: 'prorationDate', message: 'too old' }] },
      );
    }
    if (prorationDate > now) {
      throw new ValidationError('prorationDate may not be in the future.', {
        errors: [{ path: 'prorationDate', message: `after now (${apiTime(now)})` }],
      });
    }
    const result = changePlan(r.billing, {
      price: c.price,
      prorationDate,
      behavior: c.proration,
      deferDowngrade: c.atPeriodEnd ?? false,
    });
    if (!result.ok) {
      const e = result.error;
      if (e.kind === 'currency_mismatch') {
        throw new ValidationError(
          `The subscription is billed in ${e.current}; a price in ${e.requested} cannot replace it.`,
          { errors: [{ path: 'bundleId', message: 'another currency' }] },
        );
      }
      if (e.kind === 'same_price') {
        throw new ValidationError('The subscription is already on this price.', {
          errors: [{ path: 'bundleId', message: 'the current price' }],
        });
      }
      throw new ValidationError(
        `prorationDate must be within the current period (${apiTime(e.periodStart)} – ${apiTime(e.periodEnd)}).`,
        { errors: [{ path: 'prorationDate', message: 'outside the current period' }] },
      );
    }
    return result;
  }

  private async resume(
    r: SubscriptionRecord,
    now: UnixSeconds,
    how: 'manual' | 'automatic',
  ): Promise<PaymentView | null> {
    const allowed = transition(r.lifecycle, { type: 'resume', at: now, periodEnd: now + 1 });
    if (!allowed.ok) throw illegal(allowed.error.message, r);
    const { invoice, next } = restartBilling(r.billing, now);
    let payment: PaymentView | null = null;
    if (invoice.amountDue > 0) {
      payment = await this.charge(r, 'resume', `resume:${r.chargeSeq ?? 0}`, '0', invoice, now);
      if (payment.status !== 'succeeded') {
        this.emit('payment_failed', { ...paymentFacts(payment), for: 'resume' }, now);
        if (how === 'automatic') {
          // The automatic resume is spent: the subscription stays paused until resumed by hand
          // (with a working method). Not a status change, so not a transition.
          r.lifecycle = { ...r.lifecycle, resumeAt: null };
          this.emit('resume_failed', { paymentId: payment.id }, now);
        }
        return payment;
      }
    }
    r.billing = next;
    r.lifecycle = this.step(r.lifecycle, { type: 'resume', at: now, periodEnd: next.period.end });
    r.pausedAt = null;
    r.periodPaymentId = payment?.id ?? null;
    this.emit('resumed', { how, paymentId: payment?.id ?? null }, now);
    return payment;
  }

  // ── What is due ─────────────────────────────────────────────────────────────────────────

  /** The next thing the subscription does by itself, and when. */
  private nextAction(r: SubscriptionRecord): Action | null {
    if (r.pendingCharge) return { kind: 'settle', at: r.pendingCharge.retryAt };
    const l = r.lifecycle;
    const periodEnd = r.billing.period.end;
    switch (l.status) {
      case 'incomplete':
        return { kind: 'expire', at: l.since + INCOMPLETE_EXPIRY_SECONDS };
      case 'trialing':
        return { kind: l.cancelAtPeriodEnd ? 'period_end_cancel' : 'trial_end', at: periodEnd };
      case 'active':
        return { kind: l.cancelAtPeriodEnd ? 'period_end_cancel' : 'renew', at: periodEnd };
      case 'past_due': {
        const cancel = l.cancelAtPeriodEnd ? periodEnd : Number.POSITIVE_INFINITY;
        const dunning = r.streak
          ? nextDunningStep(r.dunning, r.streak).at
          : Number.POSITIVE_INFINITY;
        if (cancel === Number.POSITIVE_INFINITY && dunning === Number.POSITIVE_INFINITY)
          return null;
        return cancel <= dunning
          ? { kind: 'period_end_cancel', at: cancel }
          : { kind: 'dunning', at: dunning };
      }
      case 'paused':
        return l.resumeAt === null ? null : { kind: 'auto_resume', at: l.resumeAt };
      default:
        return null;
    }
  }

  /** Does every action due by `until`, in time order; answers how many. */
  private async runDue(until: UnixSeconds, refresh: boolean): Promise<number> {
    if (!this.record) return 0;
    this.pending = [];
    await this.recoverIntent(until);
    let r = this.working();
    let fired = 0;
    let refreshed = !refresh;
    for (let i = 0; i < MAX_ACTIONS_PER_RUN; i++) {
      const action = this.nextAction(r);
      if (!action || action.at > until) break;
      if (!refreshed) {
        // Routing, killswitches and dunning as published now (a renewal has no request).
        const current = await currentTerms(this.env, r).catch(() => null);
        if (current) {
          r.terms = current.terms;
          r.dunning = current.dunning;
          if (current.refundEndsAccess !== undefined) {
            r.refundEndsAccess = current.refundEndsAccess;
          }
        }
        refreshed = true;
      }
      if (r.testClockId) r.clockNow = action.at;
      this.op = { type: 'action', retryAt: 0, tries: 0 };
      try {
        await this.fire(r, action);
      } catch (err) {
        if (!(err instanceof PaymentPending)) throw err;
        this.keepPending({ type: 'action', retryAt: 0, tries: 0 }, err.payment, action.at);
        fired += 1;
        break;
      }
      this.save(r);
      r = this.working();
      fired += 1;
      const after = this.nextAction(r);
      // An action that changed nothing it is due for would come back at once: stop here.
      if (after && after.kind === action.kind && after.at === action.at) break;
    }
    return fired;
  }

  private async fire(r: SubscriptionRecord, action: Action): Promise<void> {
    const at = action.at;
    switch (action.kind) {
      case 'expire': {
        r.lifecycle = this.step(r.lifecycle, { type: 'incomplete_expired', at });
        r.openInvoice = null;
        this.emit('incomplete_expired', {}, at);
        return;
      }
      case 'period_end_cancel': {
        r.lifecycle = this.step(r.lifecycle, { type: 'period_end_with_cancel', at });
        r.cancelledAt = at;
        r.openInvoice = null;
        r.streak = null;
        this.emit('cancelled', { atPeriodEnd: true }, at);
        return;
      }
      case 'trial_end': {
        if (!r.paymentMethod) {
          const to = r.trialEnd?.missingPaymentMethod === 'pause' ? 'paused' : 'cancelled';
          r.lifecycle = this.step(r.lifecycle, { type: 'trial_ended_no_method', at, to });
          this.emit('trial_ended', { paymentMethod: false }, at);
          if (to === 'cancelled') {
            r.cancelledAt = at;
            this.emit('cancelled', { reason: 'trial_ended_without_payment_method' }, at);
          } else {
            r.pausedAt = at;
            this.emit(
              'paused',
              { reason: 'trial_ended_without_payment_method', resumeAt: null },
              at,
            );
          }
          return;
        }
        await this.renewal(r, at, true);
        return;
      }
      case 'renew':
        await this.renewal(r, at, false);
        return;
      case 'dunning': {
        const streak = r.streak;
        const open = r.openInvoice;
        if (!streak || !open) return;
        const step = nextDunningStep(r.dunning, streak);
        if (step.kind === 'exhaust') {
          r.lifecycle = this.step(r.lifecycle, {
            type: 'dunning_exhausted',
            at,
            to: step.endState,
          });
          r.streak = null;
          if (step.endState === 'ended') {
            r.endedAt = at;
            r.openInvoice = null;
            this.emit('ended', { reason: 'dunning_exhausted' }, at);
          } else if (step.endState === 'cancelled') {
            r.cancelledAt = at;
            r.openInvoice = null;
            this.emit('cancelled', { reason: 'dunning_exhausted' }, at);
          } else {
            this.emit('dunning_exhausted', { kept: 'past_due' }, at);
          }
          return;
        }
        const payment = await this.charge(
          r,
          'dunning_retry',
          open.key,
          String(step.attempt),
          open,
          at,
        );
        if (payment.status === 'succeeded') {
          await this.paid(r, at, payment);
          return;
        }
        r.lifecycle = this.step(r.lifecycle, { type: 'dunning_retry_failed', at });
        r.streak = recordRetryFailure(streak);
        this.emit('payment_retry_failed', { ...paymentFacts(payment), attempt: step.attempt }, at);
        return;
      }
      case 'auto_resume':
        await this.resume(r, at, 'automatic');
        return;
      case 'settle': {
        const pending = r.pendingCharge;
        r.pendingCharge = null;
        if (!pending) return;
        this.op = pending; // asked again, it is the same operation
        if (pending.type === 'action') {
          const next = this.nextAction(r);
          if (next) await this.fire(r, { ...next, at: Math.max(next.at, at) } as Action);
          return;
        }
        if (pending.type === 'initial') {
          const open = r.openInvoice;
          if (!open || r.lifecycle.status !== 'incomplete') return;
          const payment = await this.charge(r, pending.purpose, pending.key, pending.n, open, at);
          if (payment.status === 'succeeded') await this.paid(r, at, payment);
          else this.emit('payment_failed', paymentFacts(payment), at);
          return;
        }
        try {
          await this.apply(r, pending.command as SubscriptionCommand);
        } catch (err) {
          if (err instanceof PaymentPending) throw err;
          // The subscription moved on meanwhile (cancelled…): the command no longer applies.
          this.emit('pending_change_dropped', { reason: String((err as Error).message) }, at);
        }
        return;
      }
    }
  }

  /**
   * Keeps the saved subscription as it was, with `payment` pending (asked again later under the
   * same key), and answers the call with that: nothing applied, a 202.
   */
  private keepPending(
    kind: PendingCharge,
    payment: PaymentView,
    at?: UnixSeconds,
  ): SubscriptionResult {
    this.pending = [];
    const r = this.working();
    const now = at ?? this.now(r);
    const previous = r.pendingCharge;
    const tries = (previous?.tries ?? 0) + 1;
    const delay = Math.min(PENDING_RETRY_MAX_SECONDS, PENDING_RETRY_SECONDS * 2 ** (tries - 1));
    r.pendingCharge = { ...(previous ?? kind), retryAt: now + delay, tries } as PendingCharge;
    if (r.testClockId) r.clockNow = Math.max(r.clockNow ?? now, now);
    this.emit('payment_pending', paymentFacts(payment), now);
    this.save(r);
    return { subscription: subscriptionView(r), payment, declined: false, pending: true };
  }

  /** The period's end: the next period is invoiced and charged (after a trial, the first). */
  private async renewal(
    r: SubscriptionRecord,
    at: UnixSeconds,
    afterTrial: boolean,
  ): Promise<void> {
    const { invoice, next } = renew(r.billing);
    const key = `renewal:${next.period.start}`;
    const payment =
      invoice.amountDue > 0
        ? await this.charge(r, afterTrial ? 'trial_conversion' : 'renewal', key, '0', invoice, at)
        : null;
    const switched = r.billing.scheduled !== null;
    const paidNow = !payment || payment.status === 'succeeded';
    r.lifecycle = this.step(r.lifecycle, {
      type: afterTrial
        ? paidNow
          ? 'trial_ended_paid'
          : 'trial_ended_payment_failed'
        : paidNow
          ? 'renewal_paid'
          : 'renewal_failed',
      at,
      periodEnd: next.period.end,
    } as LifecycleEvent);
    const previous = r.billing;
    r.billing = next;
    // The new period is paid by this payment (none: nothing was due), or not yet (dunning).
    r.periodPaymentId = paidNow ? (payment?.id ?? null) : null;
    if (switched && r.pendingBundle) {
      this.emit(
        'plan_changed',
        {
          from: { bundleId: r.bundle.id, priceId: previous.price.id },
          to: { bundleId: r.pendingBundle.id, priceId: next.price.id },
          deferred: true,
        },
        at,
      );
      r.bundle = r.pendingBundle;
      r.pendingBundle = null;
    }
    if (paidNow) {
      this.emit(
        afterTrial ? 'activated' : 'renewed',
        {
          periodStart: apiTime(next.period.start),
          periodEnd: apiTime(next.period.end),
          amount: invoice.amountDue,
          paymentId: payment?.id ?? null,
        },
        at,
      );
      return;
    }
    r.openInvoice = openInvoiceOf(key, invoice);
    r.streak = startStreak(at);
    this.emit('payment_failed', paymentFacts(payment), at);
    this.emit('past_due', { billingIssue: true }, at);
  }

  // ── Payments ────────────────────────────────────────────────────────────────────────────

  /**
   * Charges `invoice` under the natural key `attempt:<invoiceKey>:<n>`: the payment's id is
   * derived from it, and the payment object charges an id once, so a retried renewal, a crash
   * between the charge and saving its result, or a hundred concurrent calls charge once.
   */
  private async charge(
    r: SubscriptionRecord,
    purpose: string,
    invoiceKey: string,
    n: string,
    invoice: Pick<Invoice, 'amountDue' | 'currency'>,
    at: UnixSeconds,
  ): Promise<PaymentView> {
    const method = r.paymentMethod;
    if (!method) {
      throw new ValidationError('The subscription has no payment method to charge.', {
        errors: [{ path: 'paymentMethodId', message: 'required' }],
      });
    }
    const key = `attempt:${invoiceKey}:${n}`;
    const paymentId = idFromDigest('pay', await sha256Hex(`subscription:${r.id}:${key}`));
    const input: ChargeInput = {
      paymentId,
      requestHash: await sha256Hex(
        JSON.stringify([r.id, key, invoice.amountDue, invoice.currency]),
      ),
      idempotencyKey: `${r.id}:${key}`,
      tenantId: r.tenantId,
      storefrontId: r.storefrontId,
      mode: r.mode,
      amount: invoice.amountDue,
      currency: invoice.currency,
      ...(r.terms.country ? { country: r.terms.country } : {}),
      customerId: r.customerId,
      subscriptionId: r.id,
      description: `${r.bundle.name} (${purpose})`,
      paymentMethod: method,
      routing: r.terms.routing,
      configVersion: r.terms.configVersion,
      killed: r.terms.killed,
    };
    // Before the call: if the answer never comes back (an eviction, a deploy, a network
    // error), the next call or the alarm finds this and asks again under the same key
    // instead of charging anew (the operation that charged is re-run as it was).
    if (this.op && this.record) {
      this.ctx.storage.sql.exec(
        'insert into intent (id, pending) values (1, ?) on conflict (id) do update set pending = excluded.pending',
        JSON.stringify(this.op),
      );
    }
    const stub = this.env.PAYMENT.get(this.env.PAYMENT.idFromName(paymentId));
    const outcome = (await stub.charge(input)) as { ok: boolean; value?: { payment: PaymentView } };
    // A charge with an answer moves the sequence on: the next attempt is a new payment.
    if (!invoiceKey.startsWith('renewal:') && invoiceKey !== 'initial') {
      r.chargeSeq = (r.chargeSeq ?? 0) + 1;
    }
    if (n.startsWith('retry:')) r.chargeSeq = (r.chargeSeq ?? 0) + 1;
    if (!outcome.ok || !outcome.value) {
      // Only a mismatched replay is refused, and the hash is ours: a bug, not an answer.
      throw new Error(`payment ${paymentId} refused its own charge: ${JSON.stringify(outcome)}`);
    }
    const payment = outcome.value.payment;
    const pendingNow = payment.status === 'unknown' || payment.status === 'processing';
    this.ctx.storage.sql.exec(
      `insert into payments (id, key, purpose, status, amount, currency, provider, decline_code, created_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?)
       on conflict (id) do update set status = excluded.status, provider = excluded.provider,
         decline_code = excluded.decline_code`,
      payment.id,
      key,
      purpose,
      payment.status,
      payment.amount,
      payment.currency,
      payment.provider,
      payment.declineCode,
      apiTime(at),
    );
    if (pendingNow) throw new PaymentPending(payment);
    return payment;
  }

  // ── State, events, idempotency ──────────────────────────────────────────────────────────

  private requireRecord(): SubscriptionRecord {
    if (!this.record) throw new NotFoundError('No such subscription.');
    return this.record;
  }

  /**
   * A copy of the record to change: the saved one stays as it was until {@link save}, so an
   * operation that fails half-way (a refusal, an outage) leaves nothing half-applied.
   */
  private working(): SubscriptionRecord {
    return structuredClone(this.requireRecord());
  }

  private wallNow(): UnixSeconds {
    return Math.floor(Date.now() / 1000);
  }

  private now(r: SubscriptionRecord): UnixSeconds {
    return r.testClockId ? (r.clockNow ?? r.createdAt) : this.wallNow();
  }

  /** The transition table's answer, or its refusal as a 409 naming the current state. */
  private step(state: LifecycleState | null, event: LifecycleEvent): LifecycleState {
    const result = transition(state, event);
    if (!result.ok) {
      throw new InvalidStateError(result.error.message, {
        code: 'illegal_transition',
        state: result.error.current,
      });
    }
    return result.state;
  }

  private emit(type: string, data: Record<string, unknown>, at: UnixSeconds): void {
    this.pending.push({ type, data, at });
  }

  /** Saves the record and the operation's events in one transaction. */
  private save(r: SubscriptionRecord): void {
    r.version += 1;
    const events = this.pending;
    this.pending = [];
    const refunds = this.pendingRefunds;
    this.pendingRefunds = [];
    Object.assign(r, foldConversion(r, events, r.billing.price.id));
    const sql = this.ctx.storage.sql;
    const json = JSON.stringify(r);
    this.ctx.storage.transactionSync(() => {
      for (const f of refunds) {
        sql.exec(
          'insert into refunds (id, payment_id, amount, at) values (?, ?, ?, ?) on conflict (id) do nothing',
          f.id,
          f.paymentId,
          f.amount,
          f.at,
        );
      }
      let seq = this.lastSeq();
      for (const e of events) {
        seq += 1;
        sql.exec(
          'insert into events (seq, type, data, at) values (?, ?, ?, ?)',
          seq,
          e.type,
          JSON.stringify(e.data),
          e.at,
        );
      }
      sql.exec(
        'insert into state (id, record) values (1, ?) on conflict (id) do update set record = excluded.record',
        json,
      );
      sql.exec('delete from intent');
    });
    this.record = JSON.parse(json) as SubscriptionRecord;
  }

  private lastSeq(): number {
    return (
      this.ctx.storage.sql
        .exec<{ seq: number | null }>('select max(seq) as seq from events')
        .toArray()[0]?.seq ?? 0
    );
  }

  private claimed(key: string): { requestHash: string; response: string } | null {
    const row = this.ctx.storage.sql
      .exec<{ request_hash: string; response: string }>(
        'select request_hash, response from idempotency where key = ?',
        key,
      )
      .toArray()[0];
    return row ? { requestHash: row.request_hash, response: row.response } : null;
  }

  private remember(key: string, requestHash: string, response: unknown): void {
    const now = this.wallNow();
    this.ctx.storage.sql.exec(
      'insert into idempotency (key, request_hash, response, at) values (?, ?, ?, ?)',
      key,
      requestHash,
      JSON.stringify(response),
      now,
    );
    // The checkout's own entry is kept for the life of the object (it names the subscription).
    this.ctx.storage.sql.exec(
      "delete from idempotency where at < ? and key <> 'checkout'",
      now - IDEMPOTENCY_KEEP_SECONDS,
    );
  }

  // ── The copy to Postgres ────────────────────────────────────────────────────────────────

  private cursor(): { seq: number; version: number } {
    return (
      this.ctx.storage.sql
        .exec<{ seq: number; version: number }>(
          "select seq, version from cursors where sink = 'postgres'",
        )
        .toArray()[0] ?? { seq: 0, version: 0 }
    );
  }

  /** After a call: the copy (waited for at most {@link COPY_WAIT_MS}), then the alarm. */
  private async afterChange(): Promise<void> {
    // Before the answer: a checkout's 201 means the customer's entitlements include it.
    await this.feed.deliver(this.record, this.lastSeq());
    const copy = this.copy();
    const timer = new Promise<void>((resolve) => setTimeout(resolve, COPY_WAIT_MS));
    await Promise.race([copy, timer]);
    await this.arm();
  }

  /**
   * Copies what Postgres does not have yet: the events past the cursor, in order, and the
   * latest state, in one transaction. One copy at a time; a change during a copy copies again.
   * Answers whether everything is copied.
   */
  private copy(): Promise<boolean> {
    if (this.copying) {
      this.copyAgain = true;
      return this.copying;
    }
    // Nothing to copy yet (and `run` would finish before it is stored as the copy under way).
    if (!this.record) return Promise.resolve(true);
    const run = async (): Promise<boolean> => {
      try {
        for (;;) {
          this.copyAgain = false;
          const r = this.record;
          if (!r) return true;
          const cursor = this.cursor();
          const events = await this.events(cursor.seq, 500);
          if (events.length === 0 && cursor.version >= r.version) return true;
          const version = r.version;
          await copySubscription(this.env, r, events);
          const seq = events.at(-1)?.seq ?? cursor.seq;
          this.ctx.storage.sql.exec(
            `insert into cursors (sink, seq, version) values ('postgres', ?, ?)
             on conflict (sink) do update set seq = excluded.seq, version = excluded.version`,
            seq,
            version,
          );
          this.copyFailures = 0;
          if (!this.copyAgain && events.length < 500 && version >= (this.record?.version ?? 0)) {
            return true;
          }
        }
      } catch {
        this.copyFailures += 1;
        return false;
      } finally {
        this.copying = null;
      }
    };
    this.copying = run();
    return this.copying;
  }

  /**
   * A charge whose answer was never saved (the call that made it failed or was cut off): kept
   * pending, so nothing else charges until it is asked again under its key and settled.
   */
  private async recoverIntent(at?: UnixSeconds): Promise<void> {
    this.op = null;
    if (!this.record) return;
    const row = this.ctx.storage.sql
      .exec<{ pending: string }>('select pending from intent where id = 1')
      .toArray()[0];
    if (!row) return;
    const r = this.working();
    if (!r.pendingCharge) {
      const intent = JSON.parse(row.pending) as PendingCharge;
      r.pendingCharge = { ...intent, retryAt: at ?? this.now(r), tries: 0 } as PendingCharge;
      this.emit(
        'payment_pending',
        { reason: 'an earlier charge was not answered' },
        at ?? this.now(r),
      );
    }
    this.save(r);
  }

  /** Arms the alarm for the next action (real clock only) and a copy still to make. */
  private async arm(): Promise<void> {
    const r = this.record;
    if (!r) return;
    const c = this.cursor();
    const behind = c.seq < this.lastSeq() || c.version < r.version;
    const retry = behind
      ? Date.now() +
        Math.min(COPY_RETRY_MAX_MS, COPY_RETRY_MS * 2 ** Math.max(0, this.copyFailures - 1))
      : null;
    const action = r.testClockId ? null : this.nextAction(r);
    const unanswered =
      this.ctx.storage.sql.exec('select 1 from intent').toArray().length > 0
        ? Date.now() + PENDING_RETRY_SECONDS * 1000
        : null;
    const due = action ? Math.max(action.at * 1000, this.holdUntil) : null;
    await this.armAlarm(due, retry, unanswered, this.feed.retryAt(r, this.lastSeq()));
  }
}

function openInvoiceOf(key: string, invoice: Invoice): OpenInvoice {
  return {
    key,
    amountDue: invoice.amountDue,
    currency: invoice.currency,
    lines: invoice.lines,
  };
}

function paymentFacts(payment: PaymentView | null): Record<string, unknown> {
  if (!payment) return {};
  return {
    paymentId: payment.id,
    status: payment.status,
    declineCode: payment.declineCode,
    amount: payment.amount,
    currency: payment.currency,
  };
}

function illegal(message: string, r: SubscriptionRecord): InvalidStateError {
  return new InvalidStateError(message, { code: 'illegal_transition', state: r.lifecycle.status });
}

export type { BillingState };
