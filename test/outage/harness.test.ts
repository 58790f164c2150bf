/**
 * The outage harness itself (test/helpers/outage.ts): that "Postgres is down" really cuts this
 * worker off Postgres — quickly, without hanging — that "up" really brings it back, and that what
 * needs no Postgres keeps answering meanwhile.
 */
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createTenant, publish, type TestTenant, withDb } from '../helpers/factories';
import { call, json } from '../helpers/http';
import {
  type OutageMode,
  outageState,
  postgresDown,
  postgresUp,
  withPostgresDown,
} from '../helpers/outage';

/** A failure must show within this (a refused connection is a matter of milliseconds). */
const FAIL_FAST_MS = 3000;

let t: TestTenant;
let host: string;
let secret: string;

beforeAll(async () => {
  t = await createTenant();
  await publish();
  host = t.hosts['us-store'] ?? '';
  secret = t.keys['us-store']?.secret ?? '';
});

let n = 0;
/** `POST /v1/customers`: a storefront route that writes to Postgres. */
const createCustomer = () => {
  n += 1;
  return call(host, '/v1/customers', {
    method: 'POST',
    key: secret,
    body: { email: `outage-${n}-${Date.now()}@example.test` },
  });
};

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

/** A 5xx problem+json (whatever its type: the harness does not decide how outages are reported). */
async function expectServerProblem(res: Response) {
  expect(res.status).toBeGreaterThanOrEqual(500);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = await json<{ status: number; requestId: string }>(res);
  expect(body.status).toBe(res.status);
  expect(typeof body.requestId).toBe('string');
}

describe('the outage harness', () => {
  it('a Postgres route works, fails fast with a 5xx problem while down, works again once up', async () => {
    const before = await outageState();
    expect(before.down).toBe(false);
    expect((await createCustomer()).status).toBe(201);
    // This worker's Postgres traffic really goes through the switchable proxy.
    expect((await outageState()).accepted).toBeGreaterThan(before.accepted);

    const down = await postgresDown();
    expect(down).toMatchObject({ down: true, mode: 'close', open: 0 });
    const timings: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { value: res, ms } = await timed(createCustomer);
      timings.push(Math.round(ms));
      await expectServerProblem(res);
      expect(ms).toBeLessThan(FAIL_FAST_MS);
    }
    // The worker tried, and was refused (not some other failure).
    expect((await outageState()).refused).toBeGreaterThanOrEqual(down.refused + 3);
    console.log(`[outage] mode close: POST /v1/customers answered 5xx in ${timings.join(', ')} ms`);

    expect(await postgresUp()).toMatchObject({ down: false, mode: null });
    expect((await createCustomer()).status).toBe(201);
  });

  /**
   * When the WebSocket handshake itself fails (`reject`: HTTP 503; `reset`: connection dropped),
   * the Neon driver emits the error from inside the WebSocket's `error` listener and workerd
   * fails the whole request with an uncaught exception ("Network connection lost", "expected
   * server to reply with HTTP status code 101") instead of letting app.onError answer a problem:
   * `SELF.fetch` rejects (in production: a Cloudflare 1101 error page). The harness only checks
   * here that it fails, and fast; what the worker should answer is for the outage tests to say.
   */
  it.each<OutageMode>(['reject', 'reset'])(
    'mode %s: a Postgres route fails fast while down, works again once up',
    async (mode) => {
      expect((await createCustomer()).status).toBe(201);
      const down = await postgresDown({ mode });
      expect(down).toMatchObject({ down: true, mode });
      const outcomes: string[] = [];
      for (let i = 0; i < 3; i++) {
        const { value, ms } = await timed(() =>
          createCustomer().then(
            (res) => res.status,
            () => 'request failed',
          ),
        );
        outcomes.push(`${value} in ${Math.round(ms)} ms`);
        expect(value === 'request failed' || (typeof value === 'number' && value >= 500)).toBe(
          true,
        );
        expect(ms).toBeLessThan(FAIL_FAST_MS);
      }
      expect((await outageState()).refused).toBeGreaterThanOrEqual(down.refused + 3);
      console.log(`[outage] mode ${mode}: POST /v1/customers: ${outcomes.join(', ')}`);
      await postgresUp();
      expect((await createCustomer()).status).toBe(201);
    },
  );

  it.each<OutageMode>(['close', 'reject', 'reset'])(
    'mode %s: a query fails fast while down, from the test itself too (withDb)',
    async (mode) => {
      await postgresDown({ mode });
      const { ms } = await timed(() =>
        expect(withDb((db) => db.execute(sql`select 1`))).rejects.toThrow(),
      );
      console.log(`[outage] mode ${mode}: select 1 failed in ${Math.round(ms)} ms`);
      expect(ms).toBeLessThan(FAIL_FAST_MS);
      await postgresUp();
      const result = await withDb((db) => db.execute(sql`select 1 as one`));
      expect((result as unknown as { rows: unknown[] }).rows).toEqual([{ one: 1 }]);
    },
  );

  it('going down cuts an open idle connection', async () => {
    await withDb(async (db) => {
      await db.execute(sql`select 1`); // the pool now holds an open, idle connection
      const down = await postgresDown();
      expect(down.cut).toBeGreaterThanOrEqual(1);
      expect(down.open).toBe(0);
      await expect(db.execute(sql`select 1`)).rejects.toThrow();
    }).catch(() => {}); // ending the pool may report the cut connection too
    await postgresUp();
    expect((await createCustomer()).status).toBe(201);
  });

  // PGlite runs in the vitest process: while it sleeps, the proxy cannot cut anything.
  it.skipIf(inject('embeddedPostgres'))('going down cuts a query in flight', async () => {
    await withDb(async (db) => {
      const inFlight = db.execute(sql`select pg_sleep(3)`).then(
        () => 'finished',
        () => 'cut',
      );
      await new Promise((r) => setTimeout(r, 200));
      const start = performance.now();
      expect((await postgresDown()).cut).toBeGreaterThanOrEqual(1);
      expect(await inFlight).toBe('cut');
      const ms = performance.now() - start;
      console.log(`[outage] a query in flight was cut ${Math.round(ms)} ms after postgresDown()`);
      expect(ms).toBeLessThan(FAIL_FAST_MS);
    }).catch(() => {});
  });

  it('what needs no Postgres (the catalog, served from KV) keeps answering while it is down', async () => {
    expect((await call(host, '/v1/catalog')).status).toBe(200);
    await withPostgresDown(async () => {
      const before = await outageState();
      for (let i = 0; i < 3; i++) {
        const res = await call(host, '/v1/catalog');
        expect(res.status).toBe(200);
        expect((await json<{ bundles: unknown[] }>(res)).bundles.length).toBeGreaterThan(0);
      }
      expect((await outageState()).refused).toBe(before.refused); // it never tried Postgres
    });
    expect((await outageState()).down).toBe(false);
  });

  it('withPostgresDown brings Postgres back up when its callback throws', async () => {
    await expect(
      withPostgresDown(async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await outageState()).down).toBe(false);
  });
});

describe('after a test that left Postgres down', () => {
  it('leaves it down (on purpose: the setup file must restore it)', async () => {
    await postgresDown();
    expect((await outageState()).down).toBe(true);
  });

  it('finds it up again', async () => {
    expect((await outageState()).down).toBe(false);
    expect((await createCustomer()).status).toBe(201);
  });
});
