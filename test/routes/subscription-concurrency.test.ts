/**
 * Concurrency of subscriptions: whatever arrives at once, a charge happens once.
 *
 * - 20 concurrent checkouts with one Idempotency-Key → one subscription, one payment, one
 *   capture at the providers; the same key with another body is refused; the key outlives the
 *   API key it was sent with (it is scoped to the storefront and mode).
 * - 100 concurrent advances of a test clock past a period end → one renewal.
 * - 100 concurrent `tick()`s of a subscription on the real clock whose period has ended, and
 *   its alarm among them → one renewal, and the alarm armed for the next period end.
 */
import { runDurableObjectAlarm } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/services/admin/api-keys';
import {
  createTenant,
  globalcorpLikeSpec,
  publish,
  type TestTenant,
  unique,
  withDb,
} from '../helpers/factories';
import { expectProblem, json } from '../helpers/http';
import {
  advanceClock,
  alarmOf,
  backdate,
  buyerEmail,
  captures,
  capturesOf,
  checkout,
  createClock,
  drainSubscription,
  getSub,
  isoSeconds,
  type Shop,
  type Sub,
  subEvents,
  subPayments,
  subscribe,
  subscriptionStub,
  tokenize,
} from '../helpers/subscriptions';

const DAY = 86_400;

let t: TestTenant;
let shop: Shop;

beforeAll(async () => {
  const base = globalcorpLikeSpec();
  t = await createTenant({
    ...base,
    bundles: [
      ...(base.bundles ?? []),
      {
        // Billed daily: a day is a fixed length, so the timeline can be moved back exactly.
        slug: 'daily',
        name: 'Daily',
        entitlements: [],
        prices: [{ storefront: 'us-store', amount: 300, interval: 'day' }],
      },
    ],
  });
  shop = {
    host: t.hosts['us-store'] ?? '',
    sk: t.keys['us-store']?.secret ?? '',
    pk: t.keys['us-store']?.publishable ?? '',
    tenantId: t.tenantId,
  };
  await publish();
});

interface Answer {
  status: number;
  replayed: string | null;
  body: { subscription: Sub; payment: { id: string; status: string } | null };
}

async function answerOf(res: Response): Promise<Answer> {
  return {
    status: res.status,
    replayed: res.headers.get('idempotent-replayed'),
    body: await json<Answer['body']>(res),
  };
}

describe('20 concurrent checkouts with one Idempotency-Key', () => {
  const key = `checkout-${unique()}`;
  let body: Record<string, unknown>;
  let subscriptionId: string;
  let paymentId: string;

  it('answer one subscription (one 201, nineteen replays) with one payment and one capture', async () => {
    const pm = await tokenize(shop);
    body = { bundleId: 'pro-plan', customer: { email: buyerEmail() }, paymentMethodId: pm };
    const before = await captures(t.tenantId);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        checkout(shop, body, { 'idempotency-key': key }).then(answerOf),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(201));
    const ids = new Set(answers.map((a) => a.body.subscription.id));
    expect(ids.size).toBe(1);
    subscriptionId = [...ids][0] ?? '';
    // The first answer is the original, every other a replay of it.
    expect(answers.filter((a) => a.replayed === null)).toHaveLength(1);
    expect(answers.filter((a) => a.replayed === 'true')).toHaveLength(19);
    const payments = new Set(answers.map((a) => a.body.payment?.id));
    expect(payments.size).toBe(1);
    paymentId = [...payments][0] ?? '';
    expect(answers.every((a) => a.body.payment?.status === 'succeeded')).toBe(true);
    expect(answers.every((a) => a.body.subscription.status === 'active')).toBe(true);

    const listed = await subPayments(shop, subscriptionId);
    expect(listed.map((p) => [p.id, p.purpose, p.status])).toEqual([
      [paymentId, 'checkout', 'succeeded'],
    ]);
    const after = await captures(t.tenantId);
    expect(after.length - before.length).toBe(1);
    expect(capturesOf(after, paymentId)).toHaveLength(1);
    expect((await subEvents(shop, subscriptionId)).map((e) => e.type)).toEqual([
      'created',
      'activated',
    ]);
  });

  it('the same key with another body is refused (422 idempotency_key_reused), charging nothing', async () => {
    const before = (await captures(t.tenantId)).length;
    const res = await checkout(
      shop,
      { ...body, bundleId: 'enterprise' },
      { 'idempotency-key': key },
    );
    await expectProblem(res, 422, 'idempotency_key_reused');
    expect((await captures(t.tenantId)).length).toBe(before);
    expect(await subPayments(shop, subscriptionId)).toHaveLength(1);
    expect((await getSub(shop, subscriptionId)).bundleSlug).toBe('pro-plan');
  });

  it('outlives the API key: a second secret key of the storefront replays the same subscription', async () => {
    const second = await withDb((db) =>
      createApiKey(
        db,
        {
          tenantId: t.tenantId,
          storefrontId: t.storefronts['us-store'] ?? '',
          actor: { type: 'system', id: 'tests' },
          requestId: null,
          reason: 'key rotation',
        },
        {
          kind: 'secret',
          name: 'rotated',
          mode: 'test',
          channels: [],
          expiresAt: null,
          rateLimit: null,
        },
      ),
    );
    await publish();
    expect(second.secret).not.toBe(shop.sk);
    const before = (await captures(t.tenantId)).length;
    const replay = await answerOf(
      await checkout(shop, body, { 'idempotency-key': key }, second.secret),
    );
    expect(replay.status).toBe(201);
    expect(replay.replayed).toBe('true');
    expect(replay.body.subscription.id).toBe(subscriptionId);
    expect(replay.body.payment?.id).toBe(paymentId);
    expect((await captures(t.tenantId)).length).toBe(before);
    expect(await subPayments(shop, subscriptionId)).toHaveLength(1);
  });
});

describe('100 concurrent advances of a test clock past the period end', () => {
  it('renew once: one renewal payment, one capture, one `renewed` event', async () => {
    const clockId = await createClock(shop, '2031-01-15T12:00:00Z');
    const pm = await tokenize(shop);
    const sub = await subscribe(shop, {
      bundleId: 'pro-plan',
      customer: { email: buyerEmail() },
      paymentMethodId: pm,
      testClockId: clockId,
    });
    expect(sub.currentPeriodEnd).toBe('2031-02-15T12:00:00.000Z');
    const to = '2031-02-15T12:00:01Z';
    const before = await captures(t.tenantId);

    const answers = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const res = await advanceClock(shop, clockId, to);
        return { status: res.status, body: await json<{ fired: number; frozenTime: string }>(res) };
      }),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(200));
    expect(answers.every((a) => a.body.frozenTime === new Date(to).toISOString())).toBe(true);
    // One advance moved the clock and fired the renewal; the others found it there already.
    expect(answers.reduce((n, a) => n + a.body.fired, 0)).toBe(1);

    const payments = await subPayments(shop, sub.id);
    expect(payments.map((p) => [p.purpose, p.status])).toEqual([
      ['checkout', 'succeeded'],
      ['renewal', 'succeeded'],
    ]);
    const after = await captures(t.tenantId);
    expect(after.length - before.length).toBe(1);
    expect(capturesOf(after, payments[1]?.id ?? '')).toHaveLength(1);
    const types = (await subEvents(shop, sub.id)).map((e) => e.type);
    expect(types.filter((x) => x === 'renewed')).toHaveLength(1);
    expect(types).toEqual(['created', 'activated', 'renewed']);
    const now = await getSub(shop, sub.id);
    expect(now).toMatchObject({
      status: 'active',
      currentPeriodStart: '2031-02-15T12:00:00.000Z',
      currentPeriodEnd: '2031-03-15T12:00:00.000Z',
    });
  });
});

describe('100 concurrent ticks of a subscription on the real clock whose period has ended', () => {
  it('renew once (the alarm among them), and the alarm is armed for the next period end', async () => {
    const pm = await tokenize(shop);
    const sub = await subscribe(shop, {
      bundleId: 'daily',
      customer: { email: buyerEmail() },
      paymentMethodId: pm,
    });
    expect(sub.testClockId).toBeNull();
    // The day began a day and a minute ago: the period ended a minute ago.
    const r = await backdate(sub.id, DAY + 60);
    const ended = r.billing.period.end;
    expect(ended * 1000).toBeLessThan(Date.now());
    const before = await captures(t.tenantId);

    const stub = subscriptionStub(sub.id);
    const [alarmRan, ...ticks] = await Promise.all([
      runDurableObjectAlarm(stub),
      ...Array.from({ length: 100 }, () => stub.tick()),
    ]);
    expect(alarmRan).toBe(true);
    // The alarm or one tick renewed; nothing else found anything due.
    expect(ticks.reduce((n, x) => n + x.fired, 0)).toBeLessThanOrEqual(1);

    const payments = await subPayments(shop, sub.id);
    expect(payments.map((p) => [p.purpose, p.status, p.key])).toEqual([
      ['checkout', 'succeeded', 'attempt:initial:0'],
      ['renewal', 'succeeded', `attempt:renewal:${ended}:0`],
    ]);
    const after = await captures(t.tenantId);
    expect(after.length - before.length).toBe(1);
    expect(capturesOf(after, payments[1]?.id ?? '')).toHaveLength(1);
    const types = (await subEvents(shop, sub.id)).map((e) => e.type);
    expect(types).toEqual(['created', 'activated', 'renewed']);

    const renewed = await getSub(shop, sub.id);
    const next = ended + DAY;
    expect(renewed).toMatchObject({
      status: 'active',
      currentPeriodStart: isoSeconds(ended),
      currentPeriodEnd: isoSeconds(next),
    });
    // The copy landed (it may have been retried by the alarm)…
    expect((await drainSubscription(sub.id)).copied).toBe(true);
    // …and the alarm covers the next period end: there, or earlier (a copy retry armed while
    // the copy was still under way), never later and never none.
    const armed = await alarmOf(sub.id);
    expect(armed).not.toBeNull();
    expect(armed ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(next * 1000);
    if (armed !== next * 1000) {
      // An early alarm finds nothing due, and arms for the period end.
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      expect(await alarmOf(sub.id)).toBe(next * 1000);
    }
    expect(await alarmOf(sub.id)).toBe(next * 1000);
    expect(await stub.nextDue()).toBe(next);
  });
});
