/**
 * Exact quotas at scale, through the worker against real Postgres: 12,000 concurrent consumes
 * of 1 against a 10,000 quota from many parallel clients (customer token and secret key mixed)
 * grant exactly 10,000 — each remaining count from 9,999 down to 0 exactly once — and refuse
 * exactly 2,000 with 429 `quota_exhausted`; the counter says 10,000 used, and still does after
 * every Durable Object is restarted.
 */
import {
  abortAllDurableObjects,
  createExecutionContext,
  env,
  runInDurableObject,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { entitlementsObjectName } from '../../src/contracts/customer-entitlements';
import worker from '../../src/index';
import { createApiKey } from '../../src/services/admin/api-keys';
import { createTenant, publish, type TestTenant, withDb } from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import { buyerEmail, createClock, type Shop, subscribe, tokenize } from '../helpers/subscriptions';

const LIMIT = 10_000;
const CONSUMES = 12_000;
/** Parallel clients, each sending its share one after another: this many in flight at once. */
const CLIENTS = 200;
const KEY = 'api_access';

interface Quota {
  limit: number;
  used: number;
  remaining: number;
  resetsAt: string;
}

let t: TestTenant;
let shop: Shop;
/**
 * A secret key of its own with a limit far above this file's traffic: the storefront's default
 * secret-key limit (6,000 a minute) would refuse some of the 6,000 consumes it sends, and those
 * 429s (`rate_limited`) are not what this test counts. Customer tokens need no such key: a
 * metering route is not limited per customer.
 */
let meterKey: string;
let customerId: string;
let customerToken: string;

beforeAll(async () => {
  t = await createTenant(); // pro-plan grants api_access 10,000 a month
  shop = {
    host: t.hosts['us-store'] ?? '',
    sk: t.keys['us-store']?.secret ?? '',
    pk: t.keys['us-store']?.publishable ?? '',
    tenantId: t.tenantId,
  };
  meterKey = await withDb(
    async (db) =>
      (
        await createApiKey(
          db,
          {
            tenantId: t.tenantId,
            storefrontId: t.storefronts['us-store'] ?? '',
            actor: { type: 'system', id: 'tests' },
            requestId: null,
            reason: 'exactness test',
          },
          {
            kind: 'secret',
            mode: 'test',
            name: 'meter',
            channels: [],
            expiresAt: null,
            rateLimit: 1_000_000,
          },
        )
      ).secret,
  );
  await publish();
  // A test clock frozen mid-month: the quota's window (the calendar month on the clock) cannot
  // end while the test runs.
  const clockId = await createClock(shop, '2027-08-10T00:00:00Z');
  const sub = await subscribe(shop, {
    bundleId: 'pro-plan',
    customer: { email: buyerEmail() },
    paymentMethodId: await tokenize(shop),
    testClockId: clockId,
  });
  customerId = sub.customerId;
  const issued = await call(shop.host, `/v1/customers/${customerId}/tokens`, {
    method: 'POST',
    key: shop.sk,
  });
  expect(issued.status, await issued.clone().text()).toBe(201);
  customerToken = (await json<{ token: string }>(issued)).token;
  await publish(); // the tenant's first signing key reaches the edge
});

/** Background work of the consumes (rate-limit leases…), awaited once at the end. */
const background: Promise<void>[] = [];

/**
 * One consume of 1, with the customer's token or the secret key, handed to the worker's fetch
 * handler directly rather than through `SELF.fetch`: in this test pool every `SELF.fetch` makes
 * the next one slower (each request's entrypoint wraps the prototype in one more Proxy,
 * cloudflare/workers-sdk#15092), so 12,000 of them would take many minutes and end in a
 * RangeError. Everything after the handler — the pipeline, the route, the objects — is the same.
 */
async function consume(viaToken: boolean): Promise<Response> {
  const request = new Request(`https://${shop.host}/v1/entitlements/${KEY}/consume`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${viaToken ? customerToken : meterKey}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(viaToken ? { quantity: 1 } : { customerId, quantity: 1 }),
  });
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    request as Request<unknown, IncomingRequestCfProperties>,
    env,
    ctx,
  );
  background.push(waitOnExecutionContext(ctx));
  return res;
}

async function quota(): Promise<Quota | undefined> {
  const res = await call(shop.host, '/v1/entitlements', { key: customerToken });
  expect(res.status, await res.clone().text()).toBe(200);
  const body = await json<{ entitlements: { key: string; quota?: Quota }[] }>(res);
  return body.entitlements.find((e) => e.key === KEY)?.quota;
}

const entitlementsStub = () =>
  env.CUSTOMER_ENTITLEMENTS.get(
    env.CUSTOMER_ENTITLEMENTS.idFromName(
      entitlementsObjectName({
        tenantId: t.tenantId,
        storefrontId: t.storefronts['us-store'] ?? '',
        mode: 'test',
        customerId,
      }),
    ),
  );

interface Answer {
  status: number;
  via: 'token' | 'secret';
  remaining?: number;
  type?: string;
  contentType: string | null;
}

describe('12,000 concurrent consumes against 10,000', () => {
  it('exactly 10,000 succeed and 2,000 get 429 quota_exhausted; the count survives a restart', async () => {
    expect(await quota()).toMatchObject({ limit: LIMIT, used: 0, remaining: LIMIT });

    // CLIENTS parallel clients, half with the customer's token and half with the secret key,
    // each sending its 60 consumes one after another: CLIENTS requests in flight throughout.
    const answers: Answer[] = [];
    const perClient = CONSUMES / CLIENTS;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        const viaToken = client % 2 === 0;
        for (let i = 0; i < perClient; i++) {
          const res = await consume(viaToken);
          const body = await json<{ remaining?: number; type?: string }>(res);
          answers.push({
            status: res.status,
            via: viaToken ? 'token' : 'secret',
            remaining: body.remaining,
            type: body.type,
            contentType: res.headers.get('content-type'),
          });
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    console.log(`${CONSUMES} consumes in ${seconds.toFixed(1)} s`);
    await Promise.all(background.splice(0));

    expect(answers).toHaveLength(CONSUMES);
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    expect({ ok: ok.length, refused: refused.length }).toEqual({
      ok: LIMIT,
      refused: CONSUMES - LIMIT,
    });
    // Both kinds of caller were granted and refused (neither path is exact by itself alone).
    for (const via of ['token', 'secret'] as const) {
      expect(ok.some((a) => a.via === via)).toBe(true);
      expect(answers.filter((a) => a.via === via)).toHaveLength(CONSUMES / 2);
    }
    // Every success spent a unit of its own: the remaining counts are 9,999 … 0, once each.
    const remaining = ok.map((a) => a.remaining as number).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: LIMIT }, (_, i) => i));
    // Every refusal is the quota's, as a problem, with nothing left — never a rate limit.
    const kinds = new Set(refused.map((a) => `${a.type} ${a.contentType} ${a.remaining}`));
    expect([...kinds]).toEqual([
      'https://azotte.dev/problems/quota_exhausted application/problem+json 0',
    ]);

    expect(await quota()).toEqual({
      limit: LIMIT,
      used: LIMIT,
      remaining: 0,
      resetsAt: '2027-09-01T00:00:00.000Z',
    });

    // Restart every object (storage kept): the next call starts a new instance, which reads
    // the counter from SQLite.
    const stub = entitlementsStub();
    await runInDurableObject(stub, (instance: object) => {
      (instance as { beforeRestart?: boolean }).beforeRestart = true;
    });
    await abortAllDurableObjects();
    const fresh = await runInDurableObject(
      entitlementsStub(),
      (instance: object) => (instance as { beforeRestart?: boolean }).beforeRestart,
    );
    expect(fresh).toBeUndefined(); // a new instance, not the one marked

    expect(await quota()).toMatchObject({ limit: LIMIT, used: LIMIT, remaining: 0 });
    for (const viaToken of [true, false]) {
      const problem = await expectProblem(await consume(viaToken), 429, 'quota_exhausted');
      expect(problem.remaining).toBe(0);
    }
    expect((await quota())?.used).toBe(LIMIT);
    await Promise.all(background.splice(0));
  }, 180_000);
});
