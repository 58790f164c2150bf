import type {
  SandboxDelivery,
  SandboxOwner,
  SandboxProviderContract,
} from '../src/contracts/sandbox-provider';
import {
  chargeEvent,
  evaluateRefund,
  refundEvent,
  type SandboxCharge,
  type SandboxOutage,
  type SandboxRefund,
  sandboxWebhook,
} from '../src/payments/sandbox';
import type { ProviderEvent, RefundOutcome, RefundRequest } from '../src/payments/types';
import { sandboxWebhookSecret } from '../src/services/payments/adapters';
import { receiveProviderWebhook } from '../src/services/payments/webhooks';
import { StatefulDurableObject } from './base';

/** After how long (ms) an event is first delivered: a provider's webhooks follow its answer. */
const FIRST_DELIVERY_MS = 1_000;
/** Tries before an event is given up (as Stripe does after days; here after ~10 minutes). */
const MAX_TRIES = 8;
/** Deliveries per alarm run. */
const BATCH = 25;

/**
 * One sandbox provider of one tenant (named `<tenantId>:<provider>`): its outage switch, its
 * ledger of charges and refunds, and its webhooks — so a sandbox provider behaves like a real
 * one across isolates: a replayed idempotency key returns the first charge, a lookup after a
 * timeout finds what was captured, refunds never exceed the capture, and every charge and
 * refund is followed by a signed webhook, retried with backoff until the platform takes it.
 * Every method is one serialized call: atomic.
 *
 * Webhooks are delivered by this object's alarm to the receiver the HTTP endpoint
 * `POST /webhooks/test/{tenant}/{provider}` runs (`receiveProviderWebhook`), signed with the
 * tenant's sandbox webhook secret exactly as a delivery over HTTP is, and verified there.
 *
 * From the base it takes the alarm: each enqueued event arms it for its delivery
 * ({@link armAlarm}, earlier only), and the handler ({@link onAlarm}) re-arms for what is left.
 * It does not use `serialized`: its methods never await another object, so each runs whole,
 * and its alarm must not hold them back — a delivery reaches the payment object, which may call
 * back here (`refund`, for a stray capture) before the delivery returns. Its state is in
 * key-value storage, read by each call; with no migrations and no `onStart`, its calls skip
 * `ready()`.
 */
export class SandboxProviderDurableObject
  extends StatefulDurableObject
  implements SandboxProviderContract
{
  async setOutage(outage: SandboxOutage & { reason: string }): Promise<SandboxOutage> {
    await this.ctx.storage.put('outage', outage);
    return outage;
  }

  async outage(): Promise<SandboxOutage> {
    return (
      (await this.ctx.storage.get<SandboxOutage>('outage')) ?? {
        mode: 'ok',
        captureBeforeTimeout: false,
      }
    );
  }

  async record(charge: SandboxCharge, owner: SandboxOwner): Promise<SandboxCharge> {
    const key = `charge:${charge.idempotencyKey}`;
    const existing = await this.ctx.storage.get<SandboxCharge>(key);
    if (existing) return existing;
    await this.ctx.storage.put({
      [key]: charge,
      [`id:${charge.providerChargeId}`]: charge.idempotencyKey,
    });
    await this.enqueue(owner, chargeEvent(charge));
    return charge;
  }

  async find(idempotencyKey: string): Promise<SandboxCharge | null> {
    return (await this.ctx.storage.get<SandboxCharge>(`charge:${idempotencyKey}`)) ?? null;
  }

  async refund(
    req: RefundRequest,
    providerRefundId: string,
    createdAt: number,
    owner: SandboxOwner,
  ): Promise<RefundOutcome> {
    const outage = await this.outage();
    if (outage.mode === 'error') return { status: 'failed', reason: 'provider_unavailable' };
    const chargeKey = await this.ctx.storage.get<string>(`id:${req.providerChargeId}`);
    const charge = chargeKey ? ((await this.find(chargeKey)) ?? null) : null;
    const refundedSoFar =
      (await this.ctx.storage.get<number>(`refunded:${req.providerChargeId}`)) ?? 0;
    const existing =
      (await this.ctx.storage.get<SandboxRefund>(`refund:${req.idempotencyKey}`)) ?? null;
    const decision = evaluateRefund(req, { charge, refundedSoFar, existing });
    if (decision.kind !== 'accept') return decision.outcome;
    const refund: SandboxRefund = { ...req, providerRefundId, createdAt };
    await this.ctx.storage.put({
      [`refund:${req.idempotencyKey}`]: refund,
      [`refunded:${req.providerChargeId}`]: refundedSoFar + req.amount,
    });
    await this.enqueue(owner, refundEvent(refund, charge?.reference));
    return { status: 'succeeded', providerRefundId };
  }

  /** Captured charges (tests: proving there is at most one). */
  async captures(): Promise<SandboxCharge[]> {
    const all = await this.ctx.storage.list<SandboxCharge>({ prefix: 'charge:' });
    return [...all.values()].filter((c) => c.outcome.status === 'captured');
  }

  /** Events not delivered yet, and those given up (tests, the console). */
  async deliveries(): Promise<{ pending: SandboxDelivery[]; failed: SandboxDelivery[] }> {
    const [pending, failed] = await Promise.all([
      this.ctx.storage.list<SandboxDelivery>({ prefix: 'outbox:' }),
      this.ctx.storage.list<SandboxDelivery>({ prefix: 'failed:' }),
    ]);
    return { pending: [...pending.values()], failed: [...failed.values()] };
  }

  private async enqueue(owner: SandboxOwner, event: ProviderEvent): Promise<void> {
    const seq = ((await this.ctx.storage.get<number>('seq')) ?? 0) + 1;
    const delivery: SandboxDelivery = {
      seq,
      event,
      tries: 0,
      dueAt: Date.now() + FIRST_DELIVERY_MS,
    };
    await this.ctx.storage.put({ seq, owner, [outboxKey(seq)]: delivery });
    await this.armAlarm(delivery.dueAt);
  }

  /**
   * Delivers the events that are due, in order, each signed at its delivery (so the timestamp
   * is fresh). A delivery the receiver did not take (it threw, or asked for a retry) is tried
   * again after 5 s, 10 s, 20 s… and given up after 8 tries.
   */
  protected override async onAlarm(): Promise<void> {
    const owner = await this.ctx.storage.get<SandboxOwner>('owner');
    const due = await this.ctx.storage.list<SandboxDelivery>({ prefix: 'outbox:', limit: BATCH });
    if (!owner) return;
    const now = Date.now();
    const secret = await sandboxWebhookSecret(this.env, owner);
    let next = Number.POSITIVE_INFINITY;
    for (const [key, d] of due) {
      // A first delivery goes whenever the alarm runs; a retry waits for its backoff.
      if (d.tries > 0 && d.dueAt > now) {
        next = Math.min(next, d.dueAt);
        continue;
      }
      const signed = await sandboxWebhook(secret, d.event, Date.now());
      let last: string;
      let done = false;
      try {
        const receipt = await receiveProviderWebhook(this.env, {
          mode: 'test',
          tenantId: owner.tenantId,
          provider: owner.provider,
          headers: new Headers(signed.headers),
          body: signed.body,
        });
        last = receipt.effect;
        done = receipt.effect !== 'retry';
      } catch (err) {
        last = err instanceof Error ? err.message.slice(0, 200) : 'error';
      }
      const tried: SandboxDelivery = { ...d, tries: d.tries + 1, last };
      if (done) {
        await this.ctx.storage.delete(key);
      } else if (tried.tries >= MAX_TRIES) {
        await this.ctx.storage.delete(key);
        await this.ctx.storage.put(`failed:${key.slice('outbox:'.length)}`, tried);
      } else {
        tried.dueAt = Date.now() + 5_000 * 2 ** (tried.tries - 1);
        await this.ctx.storage.put(key, tried);
        next = Math.min(next, tried.dueAt);
      }
    }
    // Re-armed from what is left (an event enqueued while this ran included). The alarm that
    // fired is spent, so this sets one; an event enqueued meanwhile may have armed earlier.
    const left = await this.ctx.storage.list<SandboxDelivery>({ prefix: 'outbox:', limit: BATCH });
    for (const d of left.values()) next = Math.min(next, d.dueAt);
    if (Number.isFinite(next)) await this.armAlarm(Math.max(next, Date.now()));
  }
}

function outboxKey(seq: number): string {
  return `outbox:${String(seq).padStart(12, '0')}`;
}
