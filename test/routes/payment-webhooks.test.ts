/**
 * Provider webhooks through the worker: the sandbox providers deliver signed events (their
 * object's alarm), the endpoint verifies them and applies each event id once. An `unknown`
 * payment (timeout, lookups down) is settled by the provider's event; a refund made at the
 * provider is recorded; a late capture beside the payment's result is refunded at once; bad
 * signatures, stale timestamps, other tenants' secrets and live mode are refused.
 */
import { env, runDurableObjectAlarm } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { payments } from '../../src/db/schema';
import { sandboxWebhook } from '../../src/payments/sandbox';
import type { ProviderEvent } from '../../src/payments/types';
import { createTenant, publish, type TestTenant, withDb } from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import { asOperator, createOperator, type TestOperator } from '../helpers/operators';

let t: TestTenant;
let other: TestTenant;
let admin: TestOperator;
let otherAdmin: TestOperator;
let host: string;
let sk: string;

interface Payment {
  id: string;
  status: string;
  provider: string | null;
  amountRefunded: number;
  attempts: { provider: string; status: string; lookedUp: boolean; settledByEvent?: string }[];
  refunds: { amount: number; status: string; reason: string | null }[];
  strayCaptures: { provider: string; amount: number; refundStatus: string }[];
}

interface SandboxProvider {
  webhook: { url: string; secret: string; signatureHeader: string; pending: number };
}

beforeAll(async () => {
  t = await createTenant();
  other = await createTenant();
  admin = await createOperator(t.tenantId, 'admin');
  otherAdmin = await createOperator(other.tenantId, 'admin');
  host = t.hosts['us-store'] ?? '';
  sk = t.keys['us-store']?.secret ?? '';
  await publish();
});

const sandbox = (tenant: TestTenant, provider: string) =>
  env.SANDBOX_PROVIDER.get(env.SANDBOX_PROVIDER.idFromName(`${tenant.tenantId}:${provider}`));

async function secretOf(tenant: TestTenant, op: TestOperator, provider: string) {
  const res = await asOperator(
    op,
    'GET',
    `/admin/v1/tenants/${tenant.slug}/sandbox/providers/${provider}`,
  );
  expect(res.status, await res.clone().text()).toBe(200);
  return (await json<SandboxProvider>(res)).webhook;
}

const outage = (body: Record<string, unknown>) =>
  asOperator(admin, 'PUT', `/admin/v1/tenants/${t.slug}/sandbox/providers/stripe`, {
    reason: 'webhook drill',
    ...body,
  });

async function pay(amount: number): Promise<Payment> {
  const pmRes = await call(host, '/v1/payment-methods', {
    method: 'POST',
    key: t.keys['us-store']?.publishable ?? '',
    body: {
      type: 'card',
      card: {
        number: '4242424242424242',
        expMonth: 12,
        expYear: new Date().getFullYear() + 2,
        cvc: '123',
      },
    },
  });
  const pm = (await json<{ id: string }>(pmRes)).id;
  const res = await call(host, '/v1/payments', {
    method: 'POST',
    key: sk,
    body: { amount, paymentMethodId: pm },
  });
  expect([201, 202, 402], await res.clone().text()).toContain(res.status);
  return json<Payment>(res);
}

const getPayment = async (id: string) =>
  json<Payment>(await call(host, `/v1/payments/${id}`, { key: sk }));

/** POSTs `event` to tenant `to`'s endpoint, signed with `secret` at `atMs`. */
async function deliver(
  to: TestTenant,
  event: ProviderEvent,
  secret: string,
  atMs = Date.now(),
  provider = 'stripe',
  mode = 'test',
) {
  const signed = await sandboxWebhook(secret, event, atMs);
  return call(host, `/webhooks/${mode}/${to.tenantId}/${provider}`, {
    method: 'POST',
    key: null,
    headers: signed.headers,
    body: signed.body,
  });
}

describe('provider webhooks', () => {
  it('an unknown payment (timeout, lookups down) is settled by the provider’s own delivery', async () => {
    expect(
      (await outage({ mode: 'timeout', captureBeforeTimeout: true, lookups: 'error' })).status,
    ).toBe(200);
    let p: Payment;
    try {
      p = await pay(2600);
    } finally {
      await outage({ mode: 'ok' });
    }
    // Stripe captured but could not say so: nothing else was tried (never a second charge).
    expect(p).toMatchObject({ status: 'unknown', provider: 'stripe' });
    expect(p.attempts.map((a) => a.provider)).toEqual(['stripe']);
    const stripe = sandbox(t, 'stripe');
    // The provider's webhook: its object's alarm delivers it, signed, to the endpoint's
    // receiver (a second after the charge, or now; one that came while the payment was still
    // being charged is delivered again, so run the alarm until nothing is pending).
    for (let i = 0; i < 5 && (await secretOf(t, admin, 'stripe')).pending > 0; i++) {
      await runDurableObjectAlarm(stripe);
    }
    const settled = await getPayment(p.id);
    expect(settled).toMatchObject({ status: 'succeeded', provider: 'stripe' });
    expect(settled.attempts[0]).toMatchObject({
      status: 'captured',
      settledByEvent: expect.stringMatching(/^evt_/),
    });
    expect(
      ((await stripe.captures()) as { reference?: string }[]).filter((c) => c.reference === p.id),
    ).toHaveLength(1);
    const [row] = await withDb((db) => db.select().from(payments).where(eq(payments.id, p.id)));
    expect(row).toMatchObject({ status: 'succeeded', provider: 'stripe' });
  });

  it('an event id is applied once; a replay has no effect', async () => {
    const p = await pay(1800);
    const { secret } = await secretOf(t, admin, 'stripe');
    const [charge] = (
      (await sandbox(t, 'stripe').captures()) as {
        reference?: string;
        providerChargeId: string;
      }[]
    ).filter((c) => c.reference === p.id);
    const event: ProviderEvent = {
      id: 'evt_dashboard_refund_1',
      type: 'charge.refunded',
      providerChargeId: charge?.providerChargeId ?? '',
      amount: 500,
      providerRefundId: 're_dashboard_1',
      reference: p.id,
    };
    const first = await deliver(t, event, secret);
    expect(first.status, await first.clone().text()).toBe(200);
    expect(await json(first)).toMatchObject({ effect: 'applied', paymentId: p.id });
    // The same event again, freshly signed (a redelivery), and the same event under a new
    // signature timestamp: no second refund.
    for (const at of [Date.now(), Date.now() + 1_000]) {
      const again = await deliver(t, event, secret, at);
      expect(await json(again)).toMatchObject({ effect: 'duplicate' });
    }
    const after = await getPayment(p.id);
    expect(after.amountRefunded).toBe(500);
    expect(after.refunds).toEqual([
      expect.objectContaining({
        amount: 500,
        status: 'succeeded',
        reason: 'refunded at the provider',
      }),
    ]);
  });

  it('a capture beside the payment’s result (a late capture at a provider that had found nothing) is refunded at once', async () => {
    // Stripe times out without capturing: the lookup finds nothing, PayPal captures.
    expect((await outage({ mode: 'timeout', captureBeforeTimeout: false })).status).toBe(200);
    let p: Payment;
    try {
      p = await pay(3100);
    } finally {
      await outage({ mode: 'ok' });
    }
    expect(p).toMatchObject({ status: 'succeeded', provider: 'paypal' });
    // Stripe processes the lost request late after all (as a real provider may): a capture
    // under the payment's Stripe key, and its webhook.
    const stripe = sandbox(t, 'stripe');
    await stripe.record(
      {
        idempotencyKey: `${p.id}:stripe`,
        providerChargeId: 'ch_late_capture',
        outcome: { status: 'captured', providerChargeId: 'ch_late_capture', latencyMs: 9000 },
        amount: 3100,
        currency: 'USD',
        reference: p.id,
        createdAt: Date.now(),
      },
      { tenantId: t.tenantId, provider: 'stripe' },
    );
    // Its webhook, delivered by the provider's alarm.
    await runDurableObjectAlarm(stripe);
    const after = await getPayment(p.id);
    expect(after).toMatchObject({ status: 'succeeded', provider: 'paypal' });
    expect(after.strayCaptures).toEqual([
      expect.objectContaining({ provider: 'stripe', amount: 3100, refundStatus: 'succeeded' }),
    ]);
    // Refunded at Stripe, in full: the customer is charged once.
    const refund = await stripe.refund(
      {
        idempotencyKey: 'probe',
        providerChargeId: 'ch_late_capture',
        amount: 1,
        currency: 'USD',
      },
      're_probe',
      Date.now(),
      { tenantId: t.tenantId, provider: 'stripe' },
    );
    expect(refund).toEqual({ status: 'failed', reason: 'exceeds_captured' });
  });

  it('refuses a bad signature, a stale timestamp, another tenant’s secret and live mode', async () => {
    const p = await pay(900);
    const mine = (await secretOf(t, admin, 'stripe')).secret;
    const theirs = (await secretOf(other, otherAdmin, 'stripe')).secret;
    expect(theirs).not.toBe(mine);
    const event: ProviderEvent = {
      id: 'evt_forged_1',
      type: 'charge.refunded',
      providerChargeId: 'ch_x',
      amount: 900,
      providerRefundId: 're_forged',
      reference: p.id,
    };
    const forged = await deliver(t, event, 'whsec_guess');
    expect((await expectProblem(forged, 400, 'webhook_rejected')).reason).toBe(
      'signature_mismatch',
    );
    const stale = await deliver(t, event, mine, Date.now() - 10 * 60_000);
    expect((await expectProblem(stale, 400, 'webhook_rejected')).reason).toBe(
      'timestamp_out_of_tolerance',
    );
    // Another tenant's secret on this tenant's endpoint: refused.
    const cross = await deliver(t, event, theirs);
    expect((await expectProblem(cross, 400, 'webhook_rejected')).reason).toBe('signature_mismatch');
    // Another tenant, validly signed on its own endpoint, naming this tenant's payment: no effect.
    const foreign = await deliver(other, event, theirs);
    expect(await json(foreign)).toMatchObject({ effect: 'ignored' });
    const unsigned = await call(host, `/webhooks/test/${t.tenantId}/stripe`, {
      method: 'POST',
      key: null,
      body: { id: 'evt', type: 'charge.captured', data: { providerChargeId: 'x' } },
    });
    expect((await expectProblem(unsigned, 400, 'webhook_rejected')).reason).toBe(
      'missing_signature',
    );
    await expectProblem(
      await deliver(t, event, mine, Date.now(), 'stripe', 'live'),
      404,
      'not_found',
    );
    await expectProblem(await deliver(t, event, mine, Date.now(), 'acme'), 404, 'not_found');
    expect((await getPayment(p.id)).amountRefunded).toBe(0);
  });
});
