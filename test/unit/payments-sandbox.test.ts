import { describe, expect, it } from 'vitest';
import { type CardInput, tokenizeBankDebit, tokenizeCard } from '../../src/payments/cards';
import { executePayment } from '../../src/payments/execute';
import { bucketOf, decide, PaymentRoutingSchema } from '../../src/payments/routing';
import {
  adapterLookup,
  evaluateRefund,
  InMemorySandboxBackend,
  LIVE_ADAPTERS,
  SANDBOX_PROVIDERS,
  SANDBOX_SIGNATURE_HEADER,
  SandboxAdapter,
  type SandboxProviderName,
  sandboxAdapters,
  sandboxWebhook,
} from '../../src/payments/sandbox';
import type { ChargeRequest, StoredPaymentMethod } from '../../src/payments/types';
import {
  parseProviderEvent,
  signWebhook,
  verifyWebhookSignature,
  WebhookVerificationError,
  webhookReplayKey,
} from '../../src/payments/webhooks';

const NOW = Date.UTC(2026, 5, 15);
const TIMEOUT = 40;

async function card(number: string, mode: 'test' | 'live' = 'test'): Promise<StoredPaymentMethod> {
  const input: CardInput = {
    number,
    expMonth: 12,
    expYear: 2030,
    cvc: number.startsWith('3') ? '1234' : '123',
  };
  const r = await tokenizeCard(input, { tenantId: 'ten_1', mode, now: NOW });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return { id: 'pm_1', ...r.method };
}

function request(pm: StoredPaymentMethod, overrides: Partial<ChargeRequest> = {}): ChargeRequest {
  return {
    idempotencyKey: `pay_${crypto.randomUUID()}:stripe`,
    tenantId: 'ten_1',
    storefrontId: 'sf_1',
    amount: 2900,
    currency: 'USD',
    country: 'US',
    paymentMethod: pm,
    ...overrides,
  };
}

function setup(name: SandboxProviderName = 'stripe') {
  const backend = new InMemorySandboxBackend();
  const adapter = new SandboxAdapter(name, backend, { timeoutMs: TIMEOUT });
  return { backend, adapter };
}

describe('sandbox charges', () => {
  it.each([
    ['4242424242424242', { status: 'captured' }],
    ['5555555555554444', { status: 'captured' }],
    ['378282246310005', { status: 'captured' }],
    [
      '4000000000000002',
      { status: 'declined', declineCode: 'generic_decline', declineClass: 'issuer' },
    ],
    ['4000000000009995', { status: 'declined', declineCode: 'insufficient_funds' }],
    ['4000000000009987', { status: 'declined', declineCode: 'lost_card' }],
    ['4000000000009979', { status: 'declined', declineCode: 'stolen_card' }],
    ['4000000000000069', { status: 'declined', declineCode: 'expired_card' }],
    ['4000000000000127', { status: 'declined', declineCode: 'incorrect_cvc' }],
    [
      '4000000000000119',
      { status: 'error', declineCode: 'processing_error', declineClass: 'provider' },
    ],
    [
      '4000000000000341',
      { status: 'declined', declineCode: 'generic_decline', declineClass: 'issuer' },
    ],
  ])('%s → %j', async (number, expected) => {
    const { adapter, backend } = setup();
    const req = request(await card(number));
    const outcome = await adapter.charge(req);
    expect(outcome).toMatchObject(expected);
    expect(backend.captures()).toHaveLength(expected.status === 'captured' ? 1 : 0);
    if (outcome.status === 'captured')
      expect(outcome.providerChargeId).toMatch(/^ch_[0-9a-f]{24}$/);
    expect(await adapter.lookup(req.idempotencyKey)).toMatchObject(expected);
  });

  it('4000000000000341 tokenizes, then every charge declines', async () => {
    const pm = await card('4000000000000341');
    expect(pm.sandboxOutcome).toBe('attach_ok_charge_declines');
    const { adapter } = setup();
    for (let i = 0; i < 3; i++) {
      expect((await adapter.charge(request(pm))).status).toBe('declined');
    }
  });

  it('a replay with the same key returns the first outcome; a reused key with other terms fails', async () => {
    const { adapter, backend } = setup();
    const req = request(await card('4242424242424242'));
    const first = await adapter.charge(req);
    const again = await adapter.charge(req);
    expect(again.status).toBe('captured');
    expect(
      first.status === 'captured' && again.status === 'captured' && again.providerChargeId,
    ).toBe(first.status === 'captured' && first.providerChargeId);
    expect(backend.captures()).toHaveLength(1);
    expect(await adapter.charge({ ...req, amount: 1 })).toMatchObject({
      status: 'failed',
      declineCode: 'idempotency_key_reused',
    });
  });

  it('bank debit at localbank, with its test accounts', async () => {
    const { adapter } = setup('localbank');
    const bank = async (accountNumber: string) => {
      const r = await tokenizeBankDebit(
        { accountNumber, routingNumber: '110000000' },
        { tenantId: 'ten_1', mode: 'test', now: NOW },
      );
      if (!r.ok) throw new Error('invalid');
      return { id: 'pm_b', ...r.method };
    };
    expect((await adapter.charge(request(await bank('000123456789')))).status).toBe('captured');
    expect(await adapter.charge(request(await bank('000111111116')))).toMatchObject({
      status: 'declined',
      declineCode: 'insufficient_funds',
    });
    expect(await adapter.charge(request(await bank('000222222227')))).toMatchObject({
      status: 'error',
      declineCode: 'processing_error',
    });
    expect(
      await adapter.charge(request(await bank('000123456789'), { currency: 'EUR' })),
    ).toMatchObject({ status: 'failed', declineCode: 'unsupported_currency' });
  });

  it('refuses what the provider does not take, and live methods', async () => {
    const visa = await card('4242424242424242');
    expect(await setup('localpay').adapter.charge(request(visa))).toMatchObject({
      status: 'failed',
      declineCode: 'unsupported_currency',
    });
    expect(
      await setup('localpay').adapter.charge(request(visa, { currency: 'JPY', country: 'US' })),
    ).toMatchObject({ status: 'failed', declineCode: 'unsupported_country' });
    expect(
      (await setup('localpay').adapter.charge(request(visa, { currency: 'JPY', country: 'JP' })))
        .status,
    ).toBe('captured');
    expect(await setup('localbank').adapter.charge(request(visa))).toMatchObject({
      status: 'failed',
      declineCode: 'unsupported_payment_method',
    });
    expect(
      await setup().adapter.charge(request(await card('4242424242424242', 'live'))),
    ).toMatchObject({ status: 'failed', declineCode: 'live_payment_method' });
    expect(await setup().adapter.charge(request(visa, { amount: 0 }))).toMatchObject({
      status: 'failed',
      declineCode: 'invalid_amount',
    });
  });
});

describe('outage modes', () => {
  it('error: provider_unavailable, nothing recorded', async () => {
    const { adapter, backend } = setup();
    backend.setOutage({ mode: 'error' });
    const req = request(await card('4242424242424242'));
    expect(await adapter.charge(req)).toMatchObject({
      status: 'error',
      declineCode: 'provider_unavailable',
      declineClass: 'provider',
    });
    expect(await adapter.lookup(req.idempotencyKey)).toBeNull();
    expect(backend.captures()).toHaveLength(0);
  });

  it('timeout: unknown at the timeout; nothing to look up', async () => {
    const { adapter, backend } = setup();
    backend.setOutage({ mode: 'timeout' });
    const req = request(await card('4242424242424242'));
    const started = Date.now();
    expect(await adapter.charge(req)).toMatchObject({ status: 'unknown' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT - 5);
    expect(await adapter.lookup(req.idempotencyKey)).toBeNull();
  });

  it('timeout with captureBeforeTimeout: unknown, and the lookup finds the capture', async () => {
    const { adapter, backend } = setup();
    backend.setOutage({ mode: 'timeout', captureBeforeTimeout: true });
    const req = request(await card('4242424242424242'));
    expect((await adapter.charge(req)).status).toBe('unknown');
    expect(await adapter.lookup(req.idempotencyKey)).toMatchObject({ status: 'captured' });
    expect(backend.captures()).toHaveLength(1);
  });

  it('slow: a delay within the timeout, then the normal outcome', async () => {
    const { adapter, backend } = setup();
    backend.setOutage({ mode: 'slow', delayMs: 15 });
    const started = Date.now();
    expect((await adapter.charge(request(await card('4000000000009995')))).status).toBe('declined');
    expect(Date.now() - started).toBeGreaterThanOrEqual(10);
    // A delay longer than the timeout is cut below it.
    backend.setOutage({ mode: 'slow', delayMs: 10_000 });
    expect((await adapter.charge(request(await card('4242424242424242')))).status).toBe('captured');
  });
});

describe('the attempt loop over sandbox providers', () => {
  const config = PaymentRoutingSchema.parse({
    default: {
      tiers: [
        { providers: [{ provider: 'stripe', weight: 100 }] },
        { providers: [{ provider: 'adyen', weight: 100 }] },
      ],
    },
  });

  function world() {
    const backends = new Map<string, InMemorySandboxBackend>();
    const backendFor = (p: SandboxProviderName) => {
      const b = new InMemorySandboxBackend({ webhookSecret: `whsec_${p}` });
      backends.set(p, b);
      return b;
    };
    const registry = sandboxAdapters(backendFor, { timeoutMs: TIMEOUT });
    const lookup = adapterLookup(registry);
    const pay = async (pm: StoredPaymentMethod, paymentId = `pay_${crypto.randomUUID()}`) => {
      const decision = decide(
        config,
        { method: 'card', currency: 'USD', country: 'US', amount: 2900 },
        {
          bucket: bucketOf(paymentId),
          killed: new Set(),
          breakerOpen: new Set(),
          capabilities: lookup.capabilities,
        },
      );
      const { idempotencyKey: _, ...req } = request(pm);
      return executePayment({
        decision,
        adapters: lookup.adapter,
        request: req,
        paymentId,
        maxAttempts: config.maxAttempts,
        graceMs: 20,
      });
    };
    const captures = () => [...backends.values()].flatMap((b) => b.captures());
    return { backends, pay, captures, stripe: backends.get('stripe') as InMemorySandboxBackend };
  }

  it('an outage at stripe fails over to adyen', async () => {
    const w = world();
    w.stripe.setOutage({ mode: 'error' });
    const r = await w.pay(await card('4242424242424242'));
    expect(r).toMatchObject({ status: 'succeeded', provider: 'adyen' });
    expect(r.providerChargeId).toMatch(/^psp_/);
    expect(r.attempts.map((a) => `${a.provider}:${a.status}`)).toEqual([
      'stripe:error',
      'adyen:captured',
    ]);
  });

  it('a decline at stripe is final', async () => {
    const w = world();
    const r = await w.pay(await card('4000000000009987'));
    expect(r).toMatchObject({ status: 'declined', provider: 'stripe', declineCode: 'lost_card' });
    expect(r.attempts).toHaveLength(1);
  });

  it('processing_error fails over, and fails at every provider', async () => {
    const w = world();
    const r = await w.pay(await card('4000000000000119'));
    expect(r).toMatchObject({
      status: 'failed',
      provider: 'adyen',
      declineCode: 'processing_error',
    });
    expect(r.attempts).toHaveLength(2);
  });

  it('a timeout that captured at stripe is the result: one capture in all', async () => {
    const w = world();
    w.stripe.setOutage({ mode: 'timeout', captureBeforeTimeout: true });
    const r = await w.pay(await card('4242424242424242'));
    expect(r).toMatchObject({ status: 'succeeded', provider: 'stripe' });
    expect(r.attempts).toEqual([
      expect.objectContaining({ provider: 'stripe', status: 'captured', lookedUp: true }),
    ]);
    expect(w.captures()).toHaveLength(1);
  });

  it('a timeout that did not capture fails over to adyen', async () => {
    const w = world();
    w.stripe.setOutage({ mode: 'timeout' });
    const r = await w.pay(await card('4242424242424242'));
    expect(r).toMatchObject({ status: 'succeeded', provider: 'adyen' });
    expect(r.attempts[0]).toMatchObject({
      status: 'error',
      declineCode: 'timeout',
      lookedUp: true,
    });
    expect(w.captures()).toHaveLength(1);
  });
});

describe('refunds', () => {
  async function captured() {
    const { adapter, backend } = setup();
    const outcome = await adapter.charge(request(await card('4242424242424242'), { amount: 1000 }));
    if (outcome.status !== 'captured') throw new Error('not captured');
    return { adapter, backend, chargeId: outcome.providerChargeId };
  }
  const refund = (providerChargeId: string, amount: number, key = crypto.randomUUID()) => ({
    idempotencyKey: key,
    providerChargeId,
    amount,
    currency: 'USD',
  });

  it('partial refunds up to the captured amount, never more in total', async () => {
    const { adapter, chargeId } = await captured();
    expect(await adapter.refund(refund(chargeId, 400))).toMatchObject({ status: 'succeeded' });
    expect(await adapter.refund(refund(chargeId, 601))).toEqual({
      status: 'failed',
      reason: 'exceeds_captured',
    });
    expect(await adapter.refund(refund(chargeId, 600))).toMatchObject({ status: 'succeeded' });
    expect(await adapter.refund(refund(chargeId, 1))).toEqual({
      status: 'failed',
      reason: 'exceeds_captured',
    });
  });

  it('a full refund; idempotent by key; a reused key with other terms is refused', async () => {
    const { adapter, backend, chargeId } = await captured();
    const req = refund(chargeId, 1000, 'rf_1');
    const first = await adapter.refund(req);
    expect(first).toMatchObject({
      status: 'succeeded',
      providerRefundId: expect.stringMatching(/^re_/),
    });
    expect(await adapter.refund(req)).toEqual(first);
    expect(await adapter.refund({ ...req, amount: 10 })).toEqual({
      status: 'failed',
      reason: 'idempotency_key_reused',
    });
    expect(backend.events.filter((e) => e.type === 'charge.refunded')).toHaveLength(1);
  });

  it('refuses bad refunds', async () => {
    const { adapter, backend, chargeId } = await captured();
    expect(await adapter.refund({ ...refund(chargeId, 10), currency: 'EUR' })).toEqual({
      status: 'failed',
      reason: 'currency_mismatch',
    });
    expect(await adapter.refund(refund('ch_nope', 10))).toEqual({
      status: 'failed',
      reason: 'no_such_charge',
    });
    for (const amount of [0, -5, 1.5]) {
      expect(await adapter.refund(refund(chargeId, amount))).toEqual({
        status: 'failed',
        reason: 'invalid_amount',
      });
    }
    const declined = await adapter.charge(request(await card('4000000000000002')));
    const declinedId =
      backend.events.find((e) => e.type === 'charge.failed')?.providerChargeId ?? '';
    expect(declined.status).toBe('declined');
    expect(await adapter.refund(refund(declinedId, 10))).toEqual({
      status: 'failed',
      reason: 'charge_not_captured',
    });
    backend.setOutage({ mode: 'error' });
    expect(await adapter.refund(refund(chargeId, 10))).toEqual({
      status: 'failed',
      reason: 'provider_unavailable',
    });
  });

  it('evaluateRefund is the rule the backend applies', () => {
    const charge = {
      idempotencyKey: 'k',
      providerChargeId: 'ch_1',
      outcome: { status: 'captured' as const, providerChargeId: 'ch_1', latencyMs: 1 },
      amount: 100,
      currency: 'USD',
      createdAt: 0,
    };
    const req = { idempotencyKey: 'r', providerChargeId: 'ch_1', amount: 100, currency: 'USD' };
    expect(evaluateRefund(req, { charge, refundedSoFar: 0, existing: null })).toEqual({
      kind: 'accept',
    });
    expect(evaluateRefund(req, { charge, refundedSoFar: 1, existing: null }).kind).toBe('reject');
  });
});

describe('webhooks', () => {
  const secret = 'whsec_test';
  const body = JSON.stringify({
    id: 'evt_1',
    type: 'charge.captured',
    created: 1,
    data: { providerChargeId: 'ch_1', amount: 2900 },
  });
  const t = 1_780_000_000;

  async function reason(p: Promise<unknown>): Promise<string> {
    try {
      await p;
      return 'accepted';
    } catch (e) {
      expect(e).toBeInstanceOf(WebhookVerificationError);
      return (e as WebhookVerificationError).reason;
    }
  }

  it('accepts a good signature within the tolerance', async () => {
    const header = await signWebhook(secret, body, t);
    expect(header).toMatch(/^t=1780000000,v1=[0-9a-f]{64}$/);
    expect(await verifyWebhookSignature(secret, header, body, t)).toEqual({ timestamp: t });
    expect(await verifyWebhookSignature(secret, header, body, t + 300)).toEqual({ timestamp: t });
    expect(await verifyWebhookSignature(secret, header, body, t - 300)).toEqual({ timestamp: t });
    // Another (rotated) v1 next to the right one.
    const other = (await signWebhook('whsec_old', body, t)).split(',')[1];
    expect(await verifyWebhookSignature(secret, `${header},${other}`, body, t)).toEqual({
      timestamp: t,
    });
  });

  it('rejects a wrong secret, a changed body, a stale or future timestamp, bad headers', async () => {
    const header = await signWebhook(secret, body, t);
    expect(await reason(verifyWebhookSignature('whsec_other', header, body, t))).toBe(
      'signature_mismatch',
    );
    expect(await reason(verifyWebhookSignature(secret, header, `${body} `, t))).toBe(
      'signature_mismatch',
    );
    expect(await reason(verifyWebhookSignature(secret, header, body, t + 301))).toBe(
      'timestamp_out_of_tolerance',
    );
    expect(await reason(verifyWebhookSignature(secret, header, body, t - 301))).toBe(
      'timestamp_out_of_tolerance',
    );
    // Re-signing the same v1 under a new timestamp does not verify.
    const v1 = header.split(',')[1];
    expect(await reason(verifyWebhookSignature(secret, `t=${t + 10},${v1}`, body, t + 10))).toBe(
      'signature_mismatch',
    );
    expect(await reason(verifyWebhookSignature(secret, null, body, t))).toBe('missing_signature');
    expect(await reason(verifyWebhookSignature(secret, 'garbage', body, t))).toBe(
      'malformed_signature',
    );
    expect(await reason(verifyWebhookSignature(secret, `t=${t}`, body, t))).toBe(
      'malformed_signature',
    );
    expect(await reason(verifyWebhookSignature(secret, `t=abc,${v1}`, body, t))).toBe(
      'malformed_signature',
    );
    expect(await reason(verifyWebhookSignature(secret, `t=${t},v1=zz`, body, t))).toBe(
      'malformed_signature',
    );
    expect(await reason(verifyWebhookSignature(secret, header, 'x'.repeat(70_000), t))).toBe(
      'payload_too_large',
    );
  });

  it('parses events; refuses malformed ones', () => {
    expect(parseProviderEvent(body)).toEqual({
      id: 'evt_1',
      type: 'charge.captured',
      providerChargeId: 'ch_1',
      amount: 2900,
    });
    for (const bad of [
      'not json',
      '{}',
      JSON.stringify({ id: 'e', type: 'charge.weird', data: {} }),
    ]) {
      expect(() => parseProviderEvent(bad)).toThrow(WebhookVerificationError);
    }
  });

  it("the sandbox's own deliveries verify at its adapter; replays share a key", async () => {
    const { adapter, backend } = setup();
    await adapter.charge(request(await card('4242424242424242')));
    const event = backend.events[0];
    if (!event) throw new Error('no event');
    expect(event.type).toBe('charge.captured');
    const delivery = await sandboxWebhook(await backend.webhookSecret(), event, Date.now());
    const parsed = await adapter.verifyWebhook(new Headers(delivery.headers), delivery.body);
    expect(parsed).toEqual(event);
    const again = await adapter.verifyWebhook(new Headers(delivery.headers), delivery.body);
    expect(webhookReplayKey('stripe', again.id)).toBe(webhookReplayKey('stripe', parsed.id));
    const forged = new Headers(delivery.headers);
    forged.set(
      SANDBOX_SIGNATURE_HEADER,
      await signWebhook('whsec_guess', delivery.body, Date.now() / 1000),
    );
    await expect(adapter.verifyWebhook(forged, delivery.body)).rejects.toThrow(
      WebhookVerificationError,
    );
  });
});

describe('registries', () => {
  it('every sandbox provider, with its capabilities; no live adapters yet', () => {
    const registry = sandboxAdapters(() => new InMemorySandboxBackend());
    expect(Object.keys(registry).sort()).toEqual([...SANDBOX_PROVIDERS].sort());
    for (const name of SANDBOX_PROVIDERS) {
      expect(registry[name].name).toBe(name);
      expect(registry[name].mode).toBe('test');
      expect(registry[name].timeoutMs).toBe(2_000);
    }
    expect(registry.localpay.capabilities).toEqual({
      methods: ['card'],
      currencies: ['JPY'],
      countries: ['JP'],
    });
    expect(registry.localbank.capabilities.methods).toEqual(['bank_debit']);
    expect(registry.stripe.capabilities.currencies).toEqual(
      expect.arrayContaining(['USD', 'EUR', 'GBP', 'JPY']),
    );
    const lookup = adapterLookup(registry);
    expect(lookup.adapter('stripe')).toBe(registry.stripe);
    expect(lookup.adapter('constructor')).toBeUndefined();
    expect(lookup.capabilities('toString')).toBeUndefined();
    expect(Object.keys(LIVE_ADAPTERS)).toEqual([]);
  });
});
