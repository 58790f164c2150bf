import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { payments, storefronts } from '../../src/db/schema';
import { newId } from '../../src/lib/ids';
import { PaymentRoutingSchema } from '../../src/payments/routing';
import type { Attempt } from '../../src/payments/types';
import { type ChargeInput, newPaymentRecord } from '../../src/services/payments/record';
import { createTenant, withDb } from '../helpers/factories';

/** A charge as the payments route hands it to the object: a 4242 test card, `routing`. */
function chargeInput(
  tenantId: string,
  storefrontId: string,
  providers: string[],
  overrides: Partial<ChargeInput> = {},
): ChargeInput {
  const paymentId = newId('pay');
  return {
    paymentId,
    requestHash: `h-${paymentId}`,
    idempotencyKey: paymentId,
    tenantId,
    storefrontId,
    mode: 'test',
    amount: 500,
    currency: 'USD',
    country: 'US',
    customerId: null,
    subscriptionId: null,
    paymentMethod: {
      id: newId('pm'),
      mode: 'test',
      type: 'card',
      card: { brand: 'visa', last4: '4242', expMonth: 12, expYear: 2030 },
      fingerprint: 'f',
      sandboxOutcome: 'succeeds',
    },
    routing: PaymentRoutingSchema.parse({
      default: { tiers: providers.map((provider) => ({ providers: [{ provider, weight: 100 }] })) },
    }),
    configVersion: 1,
    killed: [],
    ...overrides,
  };
}

/** The record `begin` saves for `input` (its providers in order), with `attempts` made so far. */
function processingRecord(input: ChargeInput, attempts: Attempt[] = []) {
  const order = input.routing.default.tiers.flatMap((t) => t.providers.map((p) => p.provider));
  return {
    ...newPaymentRecord(input, { rule: 'default', bucket: 1, order, skipped: [] }),
    attempts,
  };
}

describe('PaymentDurableObject', () => {
  it('a Postgres failure after the capture loses nothing: the object answers, its alarm copies it later', async () => {
    const t = await createTenant();
    // A storefront Postgres does not know yet: the write-through fails (foreign key), as it
    // would during an outage, after the provider captured.
    const ghost = newId('sf');
    const paymentId = newId('pay');
    const input = chargeInput(t.tenantId, ghost, ['stripe'], {
      paymentId,
      idempotencyKey: paymentId,
      amount: 1234,
    });
    const stub = env.PAYMENT.get(env.PAYMENT.idFromName(paymentId));
    const charged = await stub.charge(input);
    expect(charged.ok && charged.value.payment.status).toBe('succeeded');
    expect(await stub.copied()).toBe(false);
    const inPg = () => withDb((db) => db.select().from(payments).where(eq(payments.id, paymentId)));
    expect(await inPg()).toEqual([]);
    // The answer is durable in the object: a replay returns the capture, no second charge.
    const again = await stub.charge(input);
    expect(again.ok && again.value.replayed).toBe(true);
    // Postgres takes it again ("the outage ends"): the alarm copies the payment.
    await withDb((db) =>
      db.insert(storefronts).values({
        id: ghost,
        tenantId: t.tenantId,
        slug: `ghost-${ghost.slice(-6).toLowerCase()}`,
        name: 'Ghost',
        currency: 'USD',
        region: 'US',
      }),
    );
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.copied()).toBe(true);
    const [row] = await inPg();
    expect(row).toMatchObject({ status: 'succeeded', provider: 'stripe', amount: 1234 });
  });

  it('resuming an interrupted payment never calls a provider it already tried again', async () => {
    const t = await createTenant();
    const paymentId = newId('pay');
    const input = chargeInput(t.tenantId, t.storefronts['us-store'] ?? '', ['stripe', 'paypal'], {
      paymentId,
      idempotencyKey: paymentId,
    });
    const stub = env.PAYMENT.get(env.PAYMENT.idFromName(paymentId));
    // The object was interrupted after Stripe answered with a provider error (nothing captured
    // there) and before PayPal was called. Stripe is healthy again now.
    await runInDurableObject(stub, async (_obj, state) => {
      await state.storage.put(
        'payment',
        processingRecord(input, [
          {
            provider: 'stripe',
            idempotencyKey: `${paymentId}:stripe`,
            status: 'error',
            declineCode: 'provider_unavailable',
            declineClass: 'provider',
            latencyMs: 3,
          },
        ]),
      );
    });
    const resumed = await stub.charge(input);
    if (!resumed.ok) throw new Error(resumed.error.message);
    expect(resumed.value.payment).toMatchObject({ status: 'succeeded', provider: 'paypal' });
    expect(resumed.value.payment.attempts.map((a) => [a.provider, a.status])).toEqual([
      ['stripe', 'error'],
      ['paypal', 'captured'],
    ]);
    const stripe = env.SANDBOX_PROVIDER.get(
      env.SANDBOX_PROVIDER.idFromName(`${t.tenantId}:stripe`),
    );
    expect(((await stripe.find(`${paymentId}:stripe`)) as unknown) ?? null).toBeNull();
  });

  it('a payment whose call never finished is resumed by its alarm', async () => {
    const t = await createTenant();
    const paymentId = newId('pay');
    const input = chargeInput(t.tenantId, t.storefronts['us-store'] ?? '', ['stripe'], {
      paymentId,
      idempotencyKey: paymentId,
    });
    const stub = env.PAYMENT.get(env.PAYMENT.idFromName(paymentId));
    // As `begin` leaves it: decision and input saved, alarm set, no attempt made yet.
    await runInDurableObject(stub, async (_obj, state) => {
      await state.storage.put('input', input);
      await state.storage.put('payment', processingRecord(input));
      await state.storage.setAlarm(Date.now() + 60_000);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.get()).toMatchObject({ status: 'succeeded', provider: 'stripe' });
    expect(await stub.copied()).toBe(true);
  });
});

describe('PaymentDurableObject copies to Postgres', () => {
  it('a copy never overwrites a newer one: the row keeps the highest version', async () => {
    const t = await createTenant();
    const storefrontId = t.storefronts['us-store'] ?? '';
    const paymentId = newId('pay');
    const input = chargeInput(t.tenantId, storefrontId, ['stripe'], {
      paymentId,
      idempotencyKey: paymentId,
      amount: 777,
    });
    // Postgres already holds a later state of this payment (a copy that overtook this one).
    await withDb((db) =>
      db.insert(payments).values({
        id: paymentId,
        tenantId: t.tenantId,
        storefrontId,
        mode: 'test',
        amount: 777,
        currency: 'USD',
        status: 'succeeded',
        provider: 'stripe',
        refundedAmount: 777,
        idempotencyKey: paymentId,
        version: 1_000,
      }),
    );
    const stub = env.PAYMENT.get(env.PAYMENT.idFromName(paymentId));
    const charged = await stub.charge(input);
    expect(charged.ok && charged.value.payment.status).toBe('succeeded');
    expect(await stub.copied()).toBe(true);
    const [row] = await withDb((db) =>
      db.select().from(payments).where(eq(payments.id, paymentId)),
    );
    expect(row).toMatchObject({ version: 1_000, refundedAmount: 777 });
  });
});
