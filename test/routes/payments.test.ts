/**
 * Payments through the worker: tokenization, a charge through the storefront's routing with
 * the sandbox providers, declines that never fail over, outages that do, a timeout that had
 * captured (no double charge), idempotent replays, refunds, and test/live separation.
 */
import { env } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { idempotencyKeys } from '../../src/db/schema';
import { sha256Hex } from '../../src/lib/crypto';
import { createApiKey } from '../../src/services/admin/api-keys';
import { createTenant, publish, type TestTenant, unique, withDb } from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import { asOperator, createOperator, type TestOperator } from '../helpers/operators';

let t: TestTenant;
let admin: TestOperator;
let host: string;
let sk: string;
let pk: string;
let liveSk: string;

interface Payment {
  id: string;
  status: string;
  provider: string | null;
  amount: number;
  currency: string;
  declineCode: string | null;
  declineClass: string | null;
  attempts: { provider: string; status: string; declineCode: string | null; lookedUp: boolean }[];
  decision: {
    configVersion: number;
    rule: string;
    order: string[];
    skipped: { provider: string; reason: string }[];
  };
  amountRefunded: number;
}

beforeAll(async () => {
  t = await createTenant();
  admin = await createOperator(t.tenantId, 'admin');
  host = t.hosts['us-store'] ?? '';
  sk = t.keys['us-store']?.secret ?? '';
  pk = t.keys['us-store']?.publishable ?? '';
  // us-store routes as the demo's does (test/helpers/factories.ts): stripe, then paypal;
  // bank debits to the local bank.
  await withDb(async (db) => {
    const live = await createApiKey(
      db,
      {
        tenantId: t.tenantId,
        storefrontId: t.storefronts['us-store'] ?? '',
        actor: { type: 'system', id: 'tests' },
        requestId: null,
        reason: 'live key',
      },
      {
        kind: 'secret',
        name: 'live',
        channels: [],
        expiresAt: null,
        rateLimit: null,
        mode: 'live',
      },
    );
    liveSk = live.secret;
  });
  await publish();
});

const card = (number: string, extra: Record<string, unknown> = {}) => ({
  type: 'card',
  card: { number, expMonth: 12, expYear: new Date().getFullYear() + 2, cvc: '123', ...extra },
});

async function tokenize(number: string, key = pk): Promise<string> {
  const res = await call(host, '/v1/payment-methods', { method: 'POST', body: card(number), key });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await json<{ id: string }>(res)).id;
}

const charge = (body: Record<string, unknown>, headers: Record<string, string> = {}, key = sk) =>
  call(host, '/v1/payments', { method: 'POST', body, key, headers });

const outage = (provider: string, mode: string, captureBeforeTimeout = false) =>
  asOperator(admin, 'PUT', `/admin/v1/tenants/${t.slug}/sandbox/providers/${provider}`, {
    mode,
    captureBeforeTimeout,
    reason: 'failover drill',
  });

async function captures(provider: string): Promise<number> {
  const stub = env.SANDBOX_PROVIDER.get(
    env.SANDBOX_PROVIDER.idFromName(`${t.tenantId}:${provider}`),
  );
  return ((await stub.captures()) as unknown[]).length;
}

describe('POST /v1/payment-methods', () => {
  it('tokenizes a card with a publishable key: brand, last4, expiry — never the number or CVC', async () => {
    const res = await call(host, '/v1/payment-methods', {
      method: 'POST',
      body: card('4242 4242 4242 4242'),
      key: pk,
    });
    expect(res.status).toBe(201);
    const text = await res.text();
    expect(text).not.toContain('4242424242424242');
    expect(text).not.toContain('"cvc"');
    expect(JSON.parse(text)).toMatchObject({
      id: expect.stringMatching(/^pm_/),
      type: 'card',
      livemode: false,
      card: { brand: 'visa', last4: '4242', expMonth: 12 },
    });
  });

  it('a bad number, expiry or CVC is a 400 naming the field', async () => {
    const bad = await call(host, '/v1/payment-methods', {
      method: 'POST',
      body: card('4242424242424241'),
      key: pk,
    });
    const p = await expectProblem(bad, 400, 'validation_failed');
    expect(JSON.stringify(p.errors)).toContain('card.number');
    expect(p.detail).not.toContain('4242424242424241');
    const expired = await call(host, '/v1/payment-methods', {
      method: 'POST',
      body: card('4242424242424242', { expYear: 2020 }),
      key: pk,
    });
    expect(
      JSON.stringify((await expectProblem(expired, 400, 'validation_failed')).errors),
    ).toContain('card.exp');
    const cvc = await call(host, '/v1/payment-methods', {
      method: 'POST',
      body: card('4242424242424242', { cvc: '12' }),
      key: pk,
    });
    expect(JSON.stringify((await expectProblem(cvc, 400, 'validation_failed')).errors)).toContain(
      'card.cvc',
    );
  });

  it('an Idempotency-Key replays the token; the stored request identity is keyed, never a hash of the card data', async () => {
    const key = `pm-${unique()}`;
    const body = card('4000000000009995');
    const first = await call(host, '/v1/payment-methods', {
      method: 'POST',
      body,
      key: pk,
      headers: { 'idempotency-key': key },
    });
    const again = await call(host, '/v1/payment-methods', {
      method: 'POST',
      body,
      key: pk,
      headers: { 'idempotency-key': key },
    });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await json<{ id: string }>(again)).id).toBe((await json<{ id: string }>(first)).id);
    const rows = await withDb((db) =>
      db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key)),
    );
    expect(rows).toHaveLength(1);
    const plain = await sha256Hex(`POST /v1/payment-methods\n${JSON.stringify(body)}`);
    expect(rows[0]?.requestHash).not.toBe(plain);
    expect(JSON.stringify(rows[0])).not.toContain('4000000000009995');
  });

  it('only a secret key may attach a payment method to a customer', async () => {
    const res = await call(host, '/v1/payment-methods', {
      method: 'POST',
      body: { ...card('4242424242424242'), customerId: 'cus_01AAAAAAAAAAAAAAAAAAAAAAAA' },
      key: pk,
    });
    await expectProblem(res, 403, 'forbidden');
  });

  it('live mode refuses sandbox test cards with a clear problem', async () => {
    const res = await call(host, '/v1/payment-methods', {
      method: 'POST',
      body: card('4242424242424242'),
      key: liveSk,
    });
    const p = await expectProblem(res, 400, 'validation_failed');
    expect(p.detail).toMatch(/test card.*live mode.*pk_test_/);
  });

  it('tokenizes a bank account', async () => {
    const res = await call(host, '/v1/payment-methods', {
      method: 'POST',
      body: {
        type: 'bank_debit',
        bankDebit: { accountNumber: '000123456789', routingNumber: '110000000' },
      },
      key: pk,
    });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await json(res)).toMatchObject({ type: 'bank_debit', bankDebit: { last4: '6789' } });
  });
});

describe('POST /v1/payments', () => {
  it('charges through the routing: stripe first; GET shows the attempt and the decision', async () => {
    const pm = await tokenize('4242424242424242');
    const res = await charge({ amount: 2900, paymentMethodId: pm });
    expect(res.status, await res.clone().text()).toBe(201);
    const p = await json<Payment>(res);
    expect(p).toMatchObject({
      status: 'succeeded',
      provider: 'stripe',
      amount: 2900,
      currency: 'USD',
    });
    expect(p.attempts).toEqual([
      expect.objectContaining({ provider: 'stripe', status: 'captured' }),
    ]);
    expect(p.decision).toMatchObject({ rule: 'default', order: ['stripe', 'paypal'] });
    const got = await call(host, `/v1/payments/${p.id}`, { key: sk });
    expect(got.status).toBe(200);
    expect(await json(got)).toMatchObject({ id: p.id, status: 'succeeded', provider: 'stripe' });
    // A bank debit goes to the local bank by its rule.
    const bank = await call(host, '/v1/payment-methods', {
      method: 'POST',
      body: {
        type: 'bank_debit',
        bankDebit: { accountNumber: '000123456789', routingNumber: '110000000' },
      },
      key: pk,
    });
    const debit = await charge({
      amount: 2900,
      country: 'US',
      paymentMethodId: (await json<{ id: string }>(bank)).id,
    });
    expect(await json(debit), 'bank debit').toMatchObject({
      status: 'succeeded',
      provider: 'localbank',
      decision: { rule: 'bank_debit' },
    });
  });

  it('an issuer decline never fails over', async () => {
    const pm = await tokenize('4000000000009995');
    const res = await charge({ amount: 1000, paymentMethodId: pm });
    const problem = await expectProblem(res, 402, 'payment_declined');
    const p = problem.payment as Payment;
    expect(p).toMatchObject({
      status: 'declined',
      declineCode: 'insufficient_funds',
      declineClass: 'issuer',
    });
    expect(p.attempts.map((a) => a.provider)).toEqual(['stripe']);
  });

  it('a provider outage fails over to the next provider', async () => {
    expect((await outage('stripe', 'error')).status).toBe(200);
    try {
      const pm = await tokenize('4242424242424242');
      const res = await charge({ amount: 1500, paymentMethodId: pm });
      expect(res.status, await res.clone().text()).toBe(201);
      const p = await json<Payment>(res);
      expect(p.provider).toBe('paypal');
      expect(p.attempts.map((a) => [a.provider, a.status])).toEqual([
        ['stripe', 'error'],
        ['paypal', 'captured'],
      ]);
    } finally {
      await outage('stripe', 'ok');
    }
  });

  it('a timeout that had captured is the result: looked up, never charged twice', async () => {
    expect((await outage('stripe', 'timeout', true)).status).toBe(200);
    try {
      const before = { stripe: await captures('stripe'), paypal: await captures('paypal') };
      const pm = await tokenize('4242424242424242');
      const res = await charge({ amount: 4200, paymentMethodId: pm });
      expect(res.status, await res.clone().text()).toBe(201);
      const p = await json<Payment>(res);
      expect(p).toMatchObject({ status: 'succeeded', provider: 'stripe' });
      expect(p.attempts).toEqual([
        expect.objectContaining({ provider: 'stripe', status: 'captured', lookedUp: true }),
      ]);
      expect(await captures('stripe')).toBe(before.stripe + 1);
      expect(await captures('paypal')).toBe(before.paypal);
    } finally {
      await outage('stripe', 'ok');
    }
  });

  it('a replay with the same Idempotency-Key returns the first result; other terms are refused', async () => {
    const pm = await tokenize('4242424242424242');
    const key = `pay-${unique()}`;
    const first = await json<Payment>(
      await charge({ amount: 700, paymentMethodId: pm }, { 'idempotency-key': key }),
    );
    const again = await charge({ amount: 700, paymentMethodId: pm }, { 'idempotency-key': key });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await json<Payment>(again)).id).toBe(first.id);
    await expectProblem(
      await charge({ amount: 701, paymentMethodId: pm }, { 'idempotency-key': key }),
      422,
      'idempotency_key_reused',
    );
  });

  it('two concurrent requests with one Idempotency-Key are one payment and one capture', async () => {
    const pm = await tokenize('4242424242424242');
    const key = `race-${unique()}`;
    const before = await captures('stripe');
    const [a, b] = await Promise.all([
      charge({ amount: 800, paymentMethodId: pm }, { 'idempotency-key': key }),
      charge({ amount: 800, paymentMethodId: pm }, { 'idempotency-key': key }),
    ]);
    const [pa, pb] = [await json<Payment>(a), await json<Payment>(b)];
    expect(pa.id).toBe(pb.id);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(await captures('stripe')).toBe(before + 1);
  });

  it('test and live never mix, and a payment method belongs to its storefront', async () => {
    const pm = await tokenize('4242424242424242');
    await expectProblem(
      await charge({ amount: 100, paymentMethodId: pm }, {}, liveSk),
      404,
      'not_found',
    );
    const eu = t.hosts['eu-store'] ?? '';
    const other = await call(eu, '/v1/payments', {
      method: 'POST',
      body: { amount: 100, paymentMethodId: pm },
      key: t.keys['eu-store']?.secret,
    });
    await expectProblem(other, 404, 'not_found');
    // Another storefront's key never reads this storefront's payment either.
    const ok = await json<Payment>(await charge({ amount: 100, paymentMethodId: pm }));
    await expectProblem(
      await call(eu, `/v1/payments/${ok.id}`, { key: t.keys['eu-store']?.secret }),
      404,
      'not_found',
    );
  });

  it('refunds: partial, then the rest; never more than captured', async () => {
    const pm = await tokenize('4242424242424242');
    const p = await json<Payment>(await charge({ amount: 1000, paymentMethodId: pm }));
    const part = await call(host, `/v1/payments/${p.id}/refunds`, {
      method: 'POST',
      body: { amount: 300 },
      key: sk,
    });
    expect(part.status, await part.clone().text()).toBe(201);
    expect((await json<{ payment: Payment }>(part)).payment.amountRefunded).toBe(300);
    await expectProblem(
      await call(host, `/v1/payments/${p.id}/refunds`, {
        method: 'POST',
        body: { amount: 701 },
        key: sk,
      }),
      400,
      'validation_failed',
    );
    // The provider is down: the refund fails, and the same key may be tried again.
    expect((await outage('stripe', 'error')).status).toBe(200);
    const key = `refund-${unique()}`;
    const down = await call(host, `/v1/payments/${p.id}/refunds`, {
      method: 'POST',
      body: {},
      key: sk,
      headers: { 'idempotency-key': key },
    });
    expect((await json<{ refund: { status: string } }>(down)).refund.status).toBe('failed');
    await outage('stripe', 'ok');
    const rest = await call(host, `/v1/payments/${p.id}/refunds`, {
      method: 'POST',
      body: {},
      key: sk,
      headers: { 'idempotency-key': key },
    });
    expect((await json<{ refund: { amount: number }; payment: Payment }>(rest)).refund.amount).toBe(
      700,
    );
  });
});

describe('PUT …/storefronts/{storefront}/payment-routing', () => {
  const put = (routing: unknown) =>
    asOperator(admin, 'PUT', `/admin/v1/tenants/${t.slug}/storefronts/eu-store/payment-routing`, {
      routing,
      reason: 'routing change',
    });

  it('is validated on write: weights that do not sum to 100 are a 400 naming the path', async () => {
    const res = await put({
      default: {
        tiers: [
          {
            providers: [
              { provider: 'stripe', weight: 60 },
              { provider: 'adyen', weight: 30 },
            ],
          },
        ],
      },
    });
    const p = await expectProblem(res, 400, 'validation_failed');
    expect(JSON.stringify(p.errors)).toContain('routing.default.tiers.0.providers');
  });

  it('takes effect for the next charge, and the payment names the config version it used', async () => {
    const res = await put({
      default: { tiers: [{ providers: [{ provider: 'adyen', weight: 100 }] }] },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const { configVersion } = await json<{ configVersion: number }>(res);
    const eu = t.hosts['eu-store'] ?? '';
    const pmRes = await call(eu, '/v1/payment-methods', {
      method: 'POST',
      body: card('4242424242424242'),
      key: t.keys['eu-store']?.publishable,
    });
    const pm = (await json<{ id: string }>(pmRes)).id;
    let paid: Payment | undefined;
    const t0 = Date.now();
    while (Date.now() - t0 < 3000) {
      const r = await call(eu, '/v1/payments', {
        method: 'POST',
        body: { amount: 2500, paymentMethodId: pm },
        key: t.keys['eu-store']?.secret,
      });
      const body = await json<Payment & { payment?: Payment }>(r);
      paid = r.status === 402 ? body.payment : body; // 402: declined or failed, with the payment
      if ((paid?.decision.configVersion ?? 0) >= configVersion) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(paid).toMatchObject({ status: 'succeeded', provider: 'adyen' });
  });
});
