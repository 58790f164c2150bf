import { createExecutionContext, env, runInDurableObject } from 'cloudflare:test';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import type { LeaseGrant, LeaseReturn } from '../../src/contracts/rate-limiter';
import { clientIpSubject, customerLimit, enforceRateLimits } from '../../src/edge/limits';
import {
  LeaseClient,
  type RateLimitBackend,
  type RateLimitTicket,
} from '../../src/edge/rate-limit';
import type { EdgeContext } from '../../src/env';
import { SlidingWindowLog, type SlidingWindowState } from '../../src/security/sliding-window';
import { createApiKey } from '../../src/services/admin/api-keys';
import { createTenant, publish, type TestTenant, unique, withDb } from '../helpers/factories';
import { call, expectProblem } from '../helpers/http';

let t: TestTenant;
let host: string;
let storefrontId: string;
const keys: Record<'a' | 'b' | 'burst' | 'plain', string> = {
  a: '',
  b: '',
  burst: '',
  plain: '',
};

async function keyWithLimit(rateLimit: number | null): Promise<string> {
  const created = await withDb((db) =>
    createApiKey(
      db,
      {
        tenantId: t.tenantId,
        storefrontId,
        actor: { type: 'system', id: 'tests' },
        requestId: null,
        reason: 'rate limit test',
      },
      {
        kind: 'publishable',
        name: `limited ${rateLimit}`,
        channels: [],
        expiresAt: null,
        rateLimit,
      },
    ),
  );
  return created.secret;
}

let ipCounter = 0;
/** A client address no other test uses, so the per-IP budget is this test's own. */
function freshIp(): string {
  ipCounter++;
  return `198.51.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}

beforeAll(async () => {
  t = await createTenant();
  host = t.hosts['us-store'] ?? '';
  storefrontId = t.storefronts['us-store'] ?? '';
  keys.a = await keyWithLimit(5);
  keys.b = await keyWithLimit(5);
  keys.burst = await keyWithLimit(7);
  keys.plain = await keyWithLimit(null);
  await publish();
});

const catalog = (key: string, ip: string) =>
  call(host, '/v1/catalog', { key, headers: { 'cf-connecting-ip': ip } });

describe('storefront API rate limits', () => {
  it('allows exactly `limit` requests per key, then 429 with Retry-After and RateLimit headers', async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await catalog(keys.a, ip);
      statuses.push(res.status);
      expect(res.headers.get('ratelimit-policy')).toBe('"key";q=5;w=60, "ip";q=1200;w=60');
      remaining.push(res.headers.get('ratelimit')?.split(', ')[0] ?? '');
      expect(res.headers.get('retry-after')).toBeNull();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(remaining.map((r) => r.replace(/;t=\d+$/, ''))).toEqual([
      '"key";r=4',
      '"key";r=3',
      '"key";r=2',
      '"key";r=1',
      '"key";r=0',
    ]);

    for (let i = 0; i < 3; i++) {
      const refused = await catalog(keys.a, ip);
      const problem = await expectProblem(refused, 429, 'rate_limited');
      expect(problem.rateLimit).toEqual({ policy: 'key', limit: 5, windowSeconds: 60 });
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(55);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.headers.get('ratelimit')).toMatch(/^"key";r=0;t=\d+, "ip";r=\d+;t=\d+$/);
      expect(refused.headers.get('ratelimit-policy')).toBe('"key";q=5;w=60, "ip";q=1200;w=60');
    }
  });

  it('two keys do not share a budget; other addresses of the same key do', async () => {
    const ip = freshIp();
    for (let i = 0; i < 5; i++) expect((await catalog(keys.b, ip)).status).toBe(200);
    expect((await catalog(keys.b, freshIp())).status).toBe(429);
    // Key A is exhausted (previous test), key B's budget was its own.
    expect((await catalog(keys.a, freshIp())).status).toBe(429);
    // A key without a limit of its own gets the default.
    const res = await catalog(keys.plain, ip);
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit-policy')).toMatch(/^"key";q=600;w=60, /);
  });

  it('never lets concurrent requests exceed the limit', async () => {
    const ip = freshIp();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => catalog(keys.burst, ip).then((r) => r.status)),
    );
    const ok = results.filter((s) => s === 200).length;
    expect(ok).toBeGreaterThan(0);
    expect(ok).toBeLessThanOrEqual(7);
    expect(results.filter((s) => s !== 200).every((s) => s === 429)).toBe(true);
    // Whatever the interleaving left unspent, sequential requests get exactly the rest.
    let more = 0;
    for (let i = 0; i < 10; i++) if ((await catalog(keys.burst, ip)).status === 200) more++;
    expect(ok + more).toBeLessThanOrEqual(7);
  });

  it('counts the client IP per storefront (IPv6 by /64) in its own object', async () => {
    expect(clientIpSubject(new Headers({ 'cf-connecting-ip': '2001:DB8:0:12::7' }))).toBe(
      '2001:db8:0:12::/64',
    );
    expect(clientIpSubject(new Headers({ 'cf-connecting-ip': '::ffff:192.0.2.9' }))).toBe(
      '192.0.2.9',
    );
    expect(clientIpSubject(new Headers({ 'cf-connecting-ip': 'not-an-ip' }))).toBe('unknown');
    expect(clientIpSubject(new Headers())).toBe('unknown');

    const res = await catalog(keys.plain, '2001:db8:77:1:aaaa::1');
    expect(res.status).toBe(200);
    const ns = env.RATE_LIMITER;
    const stub = ns.get(ns.idFromName(`ip:${storefrontId}:2001:db8:77:1::/64`));
    const saved = await runInDurableObject(stub, (_, state) =>
      state.storage.kv.get<{ limit: number; state: SlidingWindowState }>('window'),
    );
    expect(saved?.limit).toBe(1200);
    expect(saved?.state.entries.reduce((n, e) => n + e.count, 0)).toBeGreaterThanOrEqual(1);
  });

  it('a secret key is bounded by its own limit (6,000/min by default), not its address', async () => {
    const ip = freshIp();
    const secret = t.keys['us-store']?.secret ?? '';
    const first = await catalog(secret, ip);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"key";q=6000;w=60');
    expect(first.headers.get('ratelimit')).toMatch(/^"key";r=\d+;t=\d+$/);

    for (let i = 0; i < 4; i++) expect((await catalog(secret, ip)).status).toBe(200);

    // Nothing was counted against the address (its object holds no window), while one request
    // of a public client from it is.
    const ns = env.RATE_LIMITER;
    const ipObject = ns.get(ns.idFromName(`ip:${storefrontId}:${ip}`));
    const held = () =>
      runInDurableObject(ipObject, (_, state) => {
        const saved = state.storage.kv.get<{ state: SlidingWindowState }>('window');
        return saved?.state.entries.reduce((n, e) => n + e.count, 0) ?? 0;
      });
    expect(await held()).toBe(0);
    const pk = await catalog(keys.plain, ip);
    expect(pk.headers.get('ratelimit-policy')).toBe('"key";q=600;w=60, "ip";q=1200;w=60');
    expect(await held()).toBe(1);
  });

  it('routes without an API key are not counted', async () => {
    const res = await call(host, '/v1/storefront', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit')).toBeNull();
  });
});

describe('customerLimit (for the customer-token routes)', () => {
  const app = createApp();
  app.use('*', async (c, next) => {
    c.set('edge', {
      resolution: { tenantId: 'tn_test', storefrontId: 'sf_test' },
    } as unknown as EdgeContext);
    await next();
  });
  app.get('/me/:customer', async (c) => {
    const check = customerLimit(c.get('edge'), c.req.param('customer'), 3);
    const headers = await enforceRateLimits(c.env, c.executionCtx, [check]);
    return c.json({ ok: true }, 200, headers);
  });
  // Not waiting for the execution context: a lease's return runs there until the lease ends.
  const get = (customer: string) =>
    app.request(`/me/${customer}`, {}, env, createExecutionContext());

  it('limits each customer on its own, with the same headers', async () => {
    const alice = `cus_${unique()}`;
    const bob = `cus_${unique()}`;
    for (let i = 0; i < 3; i++) {
      const res = await get(alice);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-policy')).toBe('"customer";q=3;w=60');
    }
    const refused = await get(alice);
    const problem = await expectProblem(refused, 429, 'rate_limited');
    expect(problem.detail).toMatch(/this customer/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await get(bob)).status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------
// The lease client against a simulated counter: several isolates, calls delivered in any order
// and after any delay, timers driven by a simulated clock.

const T0 = 1_700_000_000_000;
const WINDOW_MS = 1_000;
const LEASE_TTL_MS = 300;

class Simulation {
  now = T0;
  private readonly logs = new Map<string, SlidingWindowLog>();
  /** Calls sent to the counter and not yet delivered. */
  readonly pending: (() => void)[] = [];
  private timers: { at: number; fire: () => void }[] = [];

  private log(subject: string, limit: number): SlidingWindowLog {
    let log = this.logs.get(subject);
    if (!log) {
      log = new SlidingWindowLog({ limit, windowMs: WINDOW_MS, leaseTtlMs: LEASE_TTL_MS });
      this.logs.set(subject, log);
    }
    return log;
  }

  /** The same contract as RateLimiterDurableObject, applied when the call is delivered. */
  readonly backend: RateLimitBackend = {
    check: (subject, limit) => this.send(() => this.log(subject, limit).consume(this.now, 1)),
    lease: (subject, limit, _windowMs, wanted, returns) =>
      this.send((): LeaseGrant => {
        const log = this.log(subject, limit);
        const freed = this.release(log, returns);
        const d = log.lease(this.now, Math.min(wanted, limit));
        return { ...d, ttlMs: LEASE_TTL_MS, freed };
      }),
    release: (subject, returns) =>
      this.send(() => {
        const log = this.logs.get(subject);
        return { freed: log ? this.release(log, returns) : 0 };
      }),
  };

  private release(log: SlidingWindowLog, returns: LeaseReturn[]): number {
    return returns.reduce((n, r) => n + log.release(this.now, r.leaseId, r.unused), 0);
  }

  private send<T>(apply: () => T): Promise<T> {
    return new Promise<T>((resolve) => {
      this.pending.push(() => resolve(apply()));
    });
  }

  sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      this.timers.push({ at: this.now + ms, fire: resolve });
    });

  deliver(pick: number): void {
    const [call] = this.pending.splice(pick % this.pending.length, 1);
    call?.();
  }

  advance(ms: number): void {
    this.now += ms;
    const due = this.timers.filter((x) => x.at <= this.now);
    this.timers = this.timers.filter((x) => x.at > this.now);
    for (const x of due) x.fire();
  }

  get timersLeft(): number {
    return this.timers.length;
  }
}

/** Lets every promise chain that can make progress do so. */
async function settle(): Promise<void> {
  for (let i = 0; i < 40; i++) await Promise.resolve();
}

type Op =
  | { kind: 'take'; isolate: number; count: number }
  | { kind: 'deliver'; pick: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'refund'; pick: number };

describe('LeaseClient (property)', () => {
  it('random interleavings across isolates never allow more than `limit` in any window', async () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          kind: fc.constant('take' as const),
          isolate: fc.nat(3),
          count: fc.integer({ min: 1, max: 4 }),
        }),
      },
      {
        weight: 4,
        arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('advance' as const),
          ms: fc.integer({ min: 1, max: 250 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('refund' as const), pick: fc.nat() }) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        // Idle returns early, late, or never (only deadlines end leases).
        fc.constantFrom(60, 150, 100_000),
        fc.array(op, { minLength: 20, maxLength: 250, size: 'max' }),
        async (limit, idleReturnMs, ops) => {
          const sim = new Simulation();
          const waiter = { waitUntil: (p: Promise<unknown>) => void p.catch(() => {}) };
          const isolates = Array.from(
            { length: 4 },
            () =>
              new LeaseClient({
                now: () => sim.now,
                sleep: sim.sleep,
                marginMs: 50,
                idleReturnMs,
                pollMs: 40,
                maxBlock: 8,
                demandPeriodMs: LEASE_TTL_MS,
                leaseWaitMs: 100,
                denyCacheMs: 100,
                failOpenMs: 100,
                maxSubjects: 100,
              }),
          );
          const policy = { limit, windowMs: WINDOW_MS };
          // When each allowed request went ahead; a refunded one did not.
          const spent: { at: number; ticket: RateLimitTicket }[] = [];
          let takes = 0;
          const take = (i: number) => {
            takes++;
            void isolates[i % isolates.length]
              ?.take(sim.backend, 'key:k', policy, waiter)
              .then((ticket) => {
                if (ticket.allowed) spent.push({ at: sim.now, ticket });
              });
          };
          for (const o of ops) {
            if (o.kind === 'take') for (let n = 0; n < o.count; n++) take(o.isolate);
            else if (o.kind === 'deliver' && sim.pending.length > 0) sim.deliver(o.pick);
            else if (o.kind === 'advance') sim.advance(o.ms);
            else if (o.kind === 'refund' && spent.length > 0) {
              const [s] = spent.splice(o.pick % spent.length, 1);
              s?.ticket.refund();
            }
            await settle();
          }
          // Drain: deliver everything, let every lease run out.
          for (
            let round = 0;
            round < 50 && (sim.pending.length > 0 || sim.timersLeft > 0);
            round++
          ) {
            while (sim.pending.length > 0) {
              sim.deliver(0);
              await settle();
            }
            sim.advance(LEASE_TTL_MS);
            await settle();
          }
          expect(sim.pending.length).toBe(0);

          const times = spent.map((s) => s.at).sort((a, b) => a - b);
          for (let i = 0; i < times.length; i++) {
            const start = times[i] ?? 0;
            const inWindow = times.filter((x) => x >= start && x < start + WINDOW_MS).length;
            expect(inWindow).toBeLessThanOrEqual(limit);
          }
          expect(times.length).toBeLessThanOrEqual(takes);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a busy isolate spends leased blocks without asking the counter per request', async () => {
    const sim = new Simulation();
    let calls = 0;
    const counted: RateLimitBackend = {
      check: (...a) => {
        calls++;
        return sim.backend.check(...a);
      },
      lease: (...a) => {
        calls++;
        return sim.backend.lease(...a);
      },
      release: (...a) => {
        calls++;
        return sim.backend.release(...a);
      },
    };
    const client = new LeaseClient({
      now: () => sim.now,
      sleep: sim.sleep,
      marginMs: 50,
      idleReturnMs: 120,
      pollMs: 40,
      maxBlock: 1_000,
      demandPeriodMs: LEASE_TTL_MS,
      leaseWaitMs: 100,
      denyCacheMs: 100,
      failOpenMs: 100,
      maxSubjects: 100,
    });
    const waiter = { waitUntil: (p: Promise<unknown>) => void p.catch(() => {}) };
    const policy = { limit: 100_000, windowMs: WINDOW_MS };
    let allowed = 0;
    // 2,000 requests, 20 per simulated millisecond; the counter answers at once.
    for (let ms = 0; ms < 100; ms++) {
      let done = 0;
      const batch = Array.from({ length: 20 }, () =>
        client.take(counted, 'key:busy', policy, waiter).then((ticket) => {
          done++;
          if (ticket.allowed) allowed++;
        }),
      );
      for (let i = 0; i < 100 && done < batch.length; i++) {
        while (sim.pending.length > 0) sim.deliver(0);
        await settle();
        if (done < batch.length) sim.advance(1); // requests waiting for the lease poll
        await settle();
      }
      await Promise.all(batch);
      sim.advance(1);
    }
    expect(allowed).toBe(2_000);
    expect(calls).toBeLessThan(40);
  });
});
