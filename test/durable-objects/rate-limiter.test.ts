import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { RateLimiterDurableObject } from '../../durable-objects/rate-limiter';
import type { SlidingWindowState } from '../../src/security/sliding-window';
import { unique } from '../helpers/factories';

const MINUTE = 60_000;

/** A fresh subject's object. */
function limiter() {
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`test:${unique()}`));
}

interface Saved {
  limit: number;
  windowMs: number;
  state: SlidingWindowState;
}

const stored = (stub: ReturnType<typeof limiter>) =>
  runInDurableObject(stub, (_, state) => state.storage.kv.get<Saved>('window'));

describe('RateLimiterDurableObject', () => {
  it('check: exactly `limit` units per window, then a refusal with Retry-After', async () => {
    const stub = limiter();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await stub.check(3, MINUTE));
    expect(answers.map((a) => a.allowed)).toEqual([true, true, true, false]);
    expect(answers.map((a) => a.remaining)).toEqual([2, 1, 0, 0]);
    expect(answers[3]?.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(answers[3]?.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(answers[0]?.resetMs).toBeGreaterThan(59_000);
  });

  it('lease: a quarter of what remains, down to one unit, never more than remains', async () => {
    const stub = limiter();
    const grants: number[] = [];
    for (let i = 0; i < 30; i++) grants.push((await stub.lease(40, MINUTE, 100)).granted);
    expect(grants.slice(0, 4)).toEqual([10, 7, 5, 4]);
    expect(grants.reduce((a, b) => a + b, 0)).toBe(40);
    const refused = await stub.lease(40, MINUTE, 1);
    expect(refused).toMatchObject({ granted: 0, leaseId: null, remaining: 0 });
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    // What is asked for caps the grant; the lease carries its spending time as a duration.
    const other = limiter();
    expect(await other.lease(40, MINUTE, 3)).toMatchObject({
      granted: 3,
      remaining: 37,
      ttlMs: 5_000,
      freed: 0,
    });
  });

  it('release frees unused units at once and is idempotent; returns ride along with a lease', async () => {
    const stub = limiter();
    const a = await stub.lease(8, MINUTE, 8);
    expect(a.granted).toBe(2); // a quarter of 8
    expect(await stub.release([{ leaseId: a.leaseId ?? '', unused: 2 }])).toEqual({ freed: 2 });
    expect(await stub.release([{ leaseId: a.leaseId ?? '', unused: 2 }])).toEqual({ freed: 0 });
    expect((await stub.check(8, MINUTE)).remaining).toBe(7);

    const b = await stub.lease(8, MINUTE, 1);
    const c = await stub.lease(8, MINUTE, 1, [{ leaseId: b.leaseId ?? '', unused: 1 }]);
    expect(c).toMatchObject({ granted: 1, freed: 1, remaining: 6 });
    // Unknown leases free nothing; more than was leased cannot come back.
    expect(
      await stub.release([
        { leaseId: 'nope', unused: 5 },
        { leaseId: c.leaseId ?? '', unused: 9 },
      ]),
    ).toEqual({ freed: 1 });
    expect((await stub.check(8, MINUTE)).remaining).toBe(6);
  });

  it('persists the window: a restarted object keeps counting where it was', async () => {
    const stub = limiter();
    await stub.check(5, MINUTE);
    const lease = await stub.lease(5, MINUTE, 2);
    expect(lease.granted).toBe(1);
    const saved = await stored(stub);
    expect(saved).toMatchObject({ limit: 5, windowMs: MINUTE });
    expect(saved?.state.entries.reduce((n, e) => n + e.count, 0)).toBe(2);

    // A new instance over the same storage (what an eviction or a deploy leaves behind).
    const after = await runInDurableObject(stub, async (_, state) => {
      const restarted = new RateLimiterDurableObject(state, env);
      const freed = await restarted.release([{ leaseId: lease.leaseId ?? '', unused: 1 }]);
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push((await restarted.check(5, MINUTE)).allowed);
      return { freed, answers };
    });
    expect(after).toEqual({ freed: { freed: 1 }, answers: [true, true, true, true, false] });
  });

  it('a changed policy applies to the units already held', async () => {
    const stub = limiter();
    for (let i = 0; i < 4; i++) await stub.check(10, MINUTE);
    expect(await stub.check(4, MINUTE)).toMatchObject({ allowed: false, remaining: 0 });
    expect(await stub.check(6, MINUTE)).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('forgets the subject (storage and alarm) once nothing is held', async () => {
    const stub = limiter();
    await stub.check(2, 300);
    expect(await runInDurableObject(stub, (_, s) => s.storage.getAlarm())).not.toBeNull();
    // Still held: the alarm re-arms itself.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stored(stub)).toBeDefined();
    expect(await runInDurableObject(stub, (_, s) => s.storage.getAlarm())).not.toBeNull();
    await new Promise((r) => setTimeout(r, 350));
    await runDurableObjectAlarm(stub); // unless it has run on its own by now
    expect(await stored(stub)).toBeUndefined();
    expect(await runInDurableObject(stub, (_, s) => s.storage.getAlarm())).toBeNull();
    // And starts afresh afterwards.
    expect(await stub.check(2, 300)).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('refuses nonsense policies', async () => {
    const stub = limiter();
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: unknown) => String(e),
      );
    expect(await failure(stub.check(0, MINUTE))).toMatch(/RangeError: limit/);
    expect(await failure(stub.check(5, -1))).toMatch(/RangeError: windowMs/);
    expect(await failure(stub.lease(5, MINUTE, 0))).toMatch(/RangeError: wanted/);
  });
});
