/**
 * Subscriptions through a Postgres outage (test/helpers/outage.ts): checkouts by email and
 * renewals during the outage succeed — a subscription lives in its object, its customer's id is
 * derived from the email, its payments in their objects — while every copy to Postgres fails
 * and waits in the outbox (the events past the copy's cursor). Once Postgres is back, the
 * objects' alarms drain the outbox, and Postgres has exactly what the objects have: every
 * event of every subscription (same seqs, same types), each subscription's latest status, its
 * customer, its payments. What does need Postgres (a checkout for an existing customer by id)
 * fails fast with a 503 problem.
 */
import { inArray } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  customers,
  payments,
  subscriptionEvents,
  subscriptions,
  testClocks,
} from '../../src/db/schema';
import { customerIdFor } from '../../src/services/customers/customers';
import { createTenant, publish, type TestTenant, withDb } from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import { type OutageMode, outageState, postgresDown, postgresUp } from '../helpers/outage';
import {
  advanceClock,
  buyerEmail,
  checkout,
  createClock,
  drainPayment,
  drainSubscription,
  getSub,
  type Shop,
  type Sub,
  subEvents,
  subPayments,
  subscribe,
  subscriptionStub,
  tokenize,
} from '../helpers/subscriptions';

let t: TestTenant;
let shop: Shop;

beforeAll(async () => {
  t = await createTenant();
  await publish();
  shop = {
    host: t.hosts['us-store'] ?? '',
    sk: t.keys['us-store']?.secret ?? '',
    pk: t.keys['us-store']?.publishable ?? '',
    tenantId: t.tenantId,
  };
});

const FROZEN = '2031-01-15T12:00:00Z';
const PERIOD_END = '2031-02-15T12:00:00.000Z';
const NEXT_END = '2031-03-15T12:00:00.000Z';
const BEFORE = 3;
const DURING = 3;

/**
 * Every way Postgres can be away (test/helpers/outage.ts): the WebSocket closed at once (as
 * Neon's proxy does), the upgrade refused, the TCP connection dropped.
 */
describe.each<OutageMode>(['close', 'reject', 'reset'])(
  'subscriptions through a Postgres outage (%s)',
  (mode) => {
    it('checkouts and renewals during the outage succeed; after it the outbox drains and Postgres matches the objects', async () => {
      // ── Before: what needs Postgres (the tenant, publishing, tokenizing, the clock).
      const pm = await tokenize(shop);
      const clockId = await createClock(shop, FROZEN);
      const before: Sub[] = [];
      for (let i = 0; i < BEFORE; i++) {
        before.push(
          await subscribe(shop, {
            bundleId: 'pro-plan',
            customer: { email: buyerEmail() },
            paymentMethodId: pm,
            testClockId: clockId,
          }),
        );
      }
      for (const s of before) expect((await drainSubscription(s.id)).copied).toBe(true);
      const existingCustomer = before[0]?.customerId ?? '';

      // ── During the outage.
      const down = await postgresDown({ mode });
      expect(down).toMatchObject({ down: true, mode });

      // New customers by email: 201, the customer's id derived from the email.
      const during: Sub[] = [];
      for (let i = 0; i < DURING; i++) {
        const email = buyerEmail();
        const res = await checkout(shop, {
          bundleId: 'pro-plan',
          customer: { email },
          paymentMethodId: pm,
          testClockId: clockId,
        });
        expect(res.status, await res.clone().text()).toBe(201);
        const body = await json<{ subscription: Sub; payment: { status: string } }>(res);
        expect(body.subscription.status).toBe('active');
        expect(body.payment.status).toBe('succeeded');
        expect(body.subscription.customerId).toBe(
          await customerIdFor(t.storefronts['us-store'] ?? '', email),
        );
        during.push(body.subscription);
      }
      const all = [...before, ...during];

      // A checkout for an existing customer by id needs Postgres to check the customer: it fails
      // fast, having tried Postgres, as a 503 problem to retry (not a hang, not a 201).
      const refusedBefore = (await outageState()).refused;
      const byId = await checkout(shop, {
        bundleId: 'pro-plan',
        customerId: existingCustomer,
        paymentMethodId: pm,
        testClockId: clockId,
      });
      expect(byId.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
      await expectProblem(byId, 503, 'unavailable');
      expect((await outageState()).refused).toBeGreaterThan(refusedBefore);

      // The clock past the period end: every subscription on it renews (the clock's own copy to
      // Postgres is best effort and must not fail the advance).
      const advanced = await advanceClock(shop, clockId, '2031-02-15T12:00:01Z');
      expect(advanced.status, await advanced.clone().text()).toBe(200);
      expect((await json<{ fired: number }>(advanced)).fired).toBe(all.length);

      // Live state, from the objects.
      for (const s of all) {
        expect(await getSub(shop, s.id)).toMatchObject({
          id: s.id,
          status: 'active',
          currentPeriodStart: PERIOD_END,
          currentPeriodEnd: NEXT_END,
        });
        expect((await subPayments(shop, s.id)).map((p) => [p.purpose, p.status])).toEqual([
          ['checkout', 'succeeded'],
          ['renewal', 'succeeded'],
        ]);
        // Nothing of the outage reached Postgres: it waits in the outbox.
        const copy = await subscriptionStub(s.id).copied();
        expect(copy.copied).toBe(false);
        expect(copy.copiedEvents).toBeLessThan(copy.events);
      }
      expect((await outageState()).refused).toBeGreaterThan(down.refused);

      // ── After: the objects' alarms drain the outbox.
      await postgresUp();
      for (const s of all) {
        const drained = await drainSubscription(s.id);
        // (noAlarm > 0: the object was behind with no alarm set, so nothing would have copied it.)
        expect(drained.copied, `${s.id}: ${JSON.stringify(drained)}`).toBe(true);
        expect(drained.copiedEvents).toBe(drained.events);
      }
      const paymentIds = new Map<string, string[]>();
      for (const s of all) {
        const ids = (await subPayments(shop, s.id)).map((p) => p.id);
        paymentIds.set(s.id, ids);
        for (const id of ids) expect(await drainPayment(id), id).toBe(true);
      }

      // ── Postgres matches the objects.
      const ids = all.map((s) => s.id);
      const [subRows, eventRows, customerRows, paymentRows] = await withDb((db) =>
        Promise.all([
          db.select().from(subscriptions).where(inArray(subscriptions.id, ids)),
          db
            .select({
              subscriptionId: subscriptionEvents.subscriptionId,
              seq: subscriptionEvents.seq,
              type: subscriptionEvents.type,
            })
            .from(subscriptionEvents)
            .where(inArray(subscriptionEvents.subscriptionId, ids)),
          db
            .select()
            .from(customers)
            .where(
              inArray(
                customers.id,
                all.map((s) => s.customerId),
              ),
            ),
          db
            .select()
            .from(payments)
            .where(inArray(payments.id, [...paymentIds.values()].flat())),
        ]),
      );
      let logged = 0;
      for (const s of all) {
        const live = await getSub(shop, s.id);
        const log = await subEvents(shop, s.id);
        logged += log.length;
        // The same events, the same seqs, in the same order.
        const copied = eventRows
          .filter((e) => e.subscriptionId === s.id)
          .sort((a, b) => a.seq - b.seq)
          .map((e) => [e.seq, e.type]);
        expect(copied, s.id).toEqual(log.map((e) => [e.seq, e.type]));
        expect(log.map((e) => e.type)).toEqual(['created', 'activated', 'renewed']);
        // The latest state.
        const row = subRows.find((r) => r.id === s.id);
        expect(row?.status, s.id).toBe(live.status);
        expect(row?.currentPeriodEnd?.toISOString()).toBe(new Date(NEXT_END).toISOString());
        expect(row?.customerId).toBe(live.customerId);
        // Its customer (created by the copy for the checkouts made during the outage).
        expect(
          customerRows.some((c) => c.id === live.customerId),
          `customer ${live.customerId}`,
        ).toBe(true);
        // Its payments.
        for (const id of paymentIds.get(s.id) ?? []) {
          expect(
            paymentRows.find((p) => p.id === id),
            `payment ${id}`,
          ).toMatchObject({ status: 'succeeded', subscriptionId: s.id });
        }
      }
      // The row counts.
      expect(subRows).toHaveLength(all.length);
      expect(eventRows).toHaveLength(logged);
      expect(customerRows).toHaveLength(all.length);
      expect(paymentRows).toHaveLength(2 * all.length);

      // The customer's subscriptions (found through the copy) list the one made during the outage.
      const last = during[DURING - 1] as Sub;
      const listed = await call(shop.host, `/v1/customers/${last.customerId}/subscriptions`, {
        key: shop.sk,
      });
      expect(listed.status, await listed.clone().text()).toBe(200);
      expect((await json<{ items: Sub[] }>(listed)).items.map((s) => s.id)).toEqual([last.id]);

      // The clock's row: its time was written best effort during the outage.
      const [clockRow] = await withDb((db) =>
        db
          .select()
          .from(testClocks)
          .where(inArray(testClocks.id, [clockId])),
      );
      console.log(
        `[outage] ${mode}: test_clocks.frozen_time after the outage: ${clockRow?.frozenTime.toISOString()} (the clock is at 2031-02-15T12:00:01Z)`,
      );
    });
  },
);
