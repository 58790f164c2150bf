import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../src/env';
import {
  evaluateRefund,
  type SandboxCharge,
  type SandboxOutage,
  type SandboxRefund,
} from '../src/payments/sandbox';
import type { RefundOutcome, RefundRequest } from '../src/payments/types';

/**
 * One sandbox provider of one tenant (named `<tenantId>:<provider>`): its outage switch and its
 * ledger of charges and refunds, so a sandbox provider behaves like a real one across isolates —
 * a replayed idempotency key returns the first charge, a lookup after a timeout finds what was
 * captured, refunds never exceed the capture. Every method is one serialized call: atomic.
 */
export class SandboxProviderDurableObject extends DurableObject<Env> {
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

  async record(charge: SandboxCharge): Promise<SandboxCharge> {
    const key = `charge:${charge.idempotencyKey}`;
    const existing = await this.ctx.storage.get<SandboxCharge>(key);
    if (existing) return existing;
    await this.ctx.storage.put({
      [key]: charge,
      [`id:${charge.providerChargeId}`]: charge.idempotencyKey,
    });
    return charge;
  }

  async find(idempotencyKey: string): Promise<SandboxCharge | null> {
    return (await this.ctx.storage.get<SandboxCharge>(`charge:${idempotencyKey}`)) ?? null;
  }

  async refund(
    req: RefundRequest,
    providerRefundId: string,
    createdAt: number,
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
    return { status: 'succeeded', providerRefundId };
  }

  /** Captured charges (tests: proving there is at most one). */
  async captures(): Promise<SandboxCharge[]> {
    const all = await this.ctx.storage.list<SandboxCharge>({ prefix: 'charge:' });
    return [...all.values()].filter((c) => c.outcome.status === 'captured');
  }
}
