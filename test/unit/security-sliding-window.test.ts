import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rateLimitHeaders, SlidingWindowLog } from '../../src/security/sliding-window';

const T0 = 1_700_000_000_000;

describe('SlidingWindowLog.consume', () => {
  it('allows `limit` requests per window and frees each unit windowMs after it was taken', () => {
    const log = new SlidingWindowLog({ limit: 3, windowMs: 1000 });
    expect(log.consume(T0)).toEqual({
      allowed: true,
      remaining: 2,
      resetMs: 1000,
      retryAfterSeconds: 0,
    });
    expect(log.consume(T0 + 100).remaining).toBe(1);
    expect(log.consume(T0 + 200).remaining).toBe(0);
    expect(log.consume(T0 + 300)).toEqual({
      allowed: false,
      remaining: 0,
      resetMs: 700,
      retryAfterSeconds: 1,
    });
    expect(log.consume(T0 + 999).allowed).toBe(false);
    // The unit from T0 frees at exactly T0 + 1000, not a fixed-window boundary.
    expect(log.consume(T0 + 1000)).toMatchObject({ allowed: true, remaining: 0, resetMs: 100 });
    expect(log.consume(T0 + 1099).allowed).toBe(false);
    expect(log.consume(T0 + 1100).allowed).toBe(true);
  });

  it('has no boundary burst: 2 × limit around a "window edge" is impossible', () => {
    const log = new SlidingWindowLog({ limit: 10, windowMs: 60_000 });
    let allowed = 0;
    for (let i = 0; i < 20; i++) if (log.consume(T0 + 59_000 + i * 100).allowed) allowed++;
    expect(allowed).toBe(10);
  });

  it('takes a multi-unit cost all or nothing, and says how long until it fits', () => {
    const log = new SlidingWindowLog({ limit: 5, windowMs: 10_000 });
    log.consume(T0, 2);
    log.consume(T0 + 3000, 2);
    const refused = log.consume(T0 + 4000, 3);
    expect(refused).toEqual({ allowed: false, remaining: 1, resetMs: 6000, retryAfterSeconds: 6 });
    expect(log.consume(T0 + 4000, 1).allowed).toBe(true);
    // Now 5 held: 2 free at +10s, 2 at +13s, 1 at +14s. Four units need the first two batches.
    expect(log.consume(T0 + 5000, 4).retryAfterSeconds).toBe(8);
    expect(() => log.consume(T0, 6)).toThrow(RangeError);
    expect(() => log.consume(T0, 0)).toThrow(RangeError);
  });

  it('never lets a backwards clock step free units early', () => {
    const log = new SlidingWindowLog({ limit: 1, windowMs: 1000 });
    log.consume(T0 + 5000);
    expect(log.consume(T0).allowed).toBe(false);
    expect(log.consume(T0 + 5999).allowed).toBe(false);
    expect(log.consume(T0 + 6000).allowed).toBe(true);
  });

  it('peek does not consume', () => {
    const log = new SlidingWindowLog({ limit: 1, windowMs: 1000 });
    expect(log.peek(T0)).toMatchObject({ allowed: true, remaining: 1, resetMs: 0 });
    expect(log.peek(T0)).toMatchObject({ allowed: true, remaining: 1 });
    log.consume(T0);
    expect(log.peek(T0 + 10)).toMatchObject({ allowed: false, remaining: 0, resetMs: 990 });
  });

  it('validates its options', () => {
    expect(() => new SlidingWindowLog({ limit: 0, windowMs: 1000 })).toThrow(RangeError);
    expect(() => new SlidingWindowLog({ limit: 1.5, windowMs: 1000 })).toThrow(RangeError);
    expect(() => new SlidingWindowLog({ limit: 1, windowMs: -1 })).toThrow(RangeError);
    expect(() => new SlidingWindowLog({ limit: 1, windowMs: 1000 }).consume(Number.NaN)).toThrow(
      RangeError,
    );
  });

  it('is exactly the naive sliding-window log (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 700 }), fc.integer({ min: 1, max: 3 })), {
          maxLength: 120,
        }),
        (limit, windowMs, steps) => {
          const log = new SlidingWindowLog({ limit, windowMs });
          const taken: number[] = [];
          let now = T0;
          for (const [dt, rawCost] of steps) {
            now += dt;
            const cost = Math.min(rawCost, limit);
            const inWindow = taken.filter((t) => t > now - windowMs).length;
            const expected = inWindow + cost <= limit;
            const decision = log.consume(now, cost);
            expect(decision.allowed).toBe(expected);
            if (expected) for (let i = 0; i < cost; i++) taken.push(now);
            expect(decision.remaining).toBe(limit - taken.filter((t) => t > now - windowMs).length);
            const oldest = taken.filter((t) => t > now - windowMs)[0];
            expect(decision.resetMs).toBe(oldest === undefined ? 0 : oldest + windowMs - now);
            // Memory: never more entries than units that can be held.
            expect(log.toJSON().entries.length).toBeLessThanOrEqual(limit);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps the log at O(limit) under a flood', () => {
    const log = new SlidingWindowLog({ limit: 50, windowMs: 1000 });
    for (let i = 0; i < 100_000; i++) log.consume(T0 + i);
    expect(log.toJSON().entries.length).toBeLessThanOrEqual(50);
  });
});

describe('SlidingWindowLog.lease / release', () => {
  it('grants a shrinking share, down to one unit at a time, and never more than remains', () => {
    const log = new SlidingWindowLog({ limit: 100, windowMs: 60_000 });
    const grants: number[] = [];
    for (let i = 0; i < 40; i++) grants.push(log.lease(T0, 1000).granted);
    expect(grants.slice(0, 6)).toEqual([25, 18, 14, 10, 8, 6]);
    expect(grants.reduce((a, b) => a + b, 0)).toBe(100);
    expect(grants.filter((g) => g === 1).length).toBeGreaterThan(3);
    const refused = log.lease(T0, 1);
    expect(refused).toMatchObject({ allowed: false, granted: 0, leaseId: null, remaining: 0 });
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
  });

  it('grants what was asked when that is below the share', () => {
    const log = new SlidingWindowLog({ limit: 100, windowMs: 60_000 });
    expect(log.lease(T0, 3)).toMatchObject({ allowed: true, granted: 3, remaining: 97 });
    expect(() => log.lease(T0, 0)).toThrow(RangeError);
  });

  it('release returns unused units; used ones stay held a full window from the release', () => {
    const log = new SlidingWindowLog({
      limit: 8,
      windowMs: 1000,
      leaseTtlMs: 500,
      leaseShareDivisor: 1,
    });
    const lease = log.lease(T0, 8);
    expect(lease).toMatchObject({ granted: 8, remaining: 0, expiresAt: T0 + 500 });
    expect(log.release(T0 + 400, lease.leaseId as string, 5)).toBe(5);
    expect(log.peek(T0 + 400).remaining).toBe(5);
    // Releasing twice, or an unknown lease, returns nothing.
    expect(log.release(T0 + 400, lease.leaseId as string, 3)).toBe(0);
    expect(log.release(T0 + 400, 'nope', 3)).toBe(0);
    // The 3 used units may have been spent at T0 + 399, so they are held until T0 + 1400.
    expect(log.peek(T0 + 1399).remaining).toBe(5);
    expect(log.peek(T0 + 1400).remaining).toBe(8);
  });

  it('cannot return more than was leased', () => {
    const log = new SlidingWindowLog({ limit: 4, windowMs: 1000, leaseShareDivisor: 1 });
    const lease = log.lease(T0, 2);
    expect(log.release(T0, lease.leaseId as string, 10)).toBe(2);
    expect(log.peek(T0).remaining).toBe(4);
    expect(() => log.release(T0, 'x', -1)).toThrow(RangeError);
  });

  it('an expired lease counts as fully spent at its expiry and cannot be released', () => {
    const log = new SlidingWindowLog({
      limit: 4,
      windowMs: 1000,
      leaseTtlMs: 300,
      leaseShareDivisor: 1,
    });
    const lease = log.lease(T0, 4);
    expect(log.release(T0 + 300, lease.leaseId as string, 4)).toBe(0);
    expect(log.peek(T0 + 1299).remaining).toBe(0);
    expect(log.peek(T0 + 1300).remaining).toBe(4);
  });

  it('state survives a round trip through storage', () => {
    const options = { limit: 5, windowMs: 1000, leaseShareDivisor: 1 };
    const log = new SlidingWindowLog(options);
    log.consume(T0);
    const lease = log.lease(T0 + 10, 3);
    const restored = new SlidingWindowLog(options, JSON.parse(JSON.stringify(log.toJSON())));
    expect(restored.peek(T0 + 20).remaining).toBe(1);
    expect(restored.release(T0 + 20, lease.leaseId as string, 3)).toBe(3);
    expect(restored.peek(T0 + 20).remaining).toBe(4);
    expect(restored.consume(T0 - 5000).remaining).toBe(3); // clock does not go back on restore
    const empty = new SlidingWindowLog(
      options,
      JSON.parse(JSON.stringify(new SlidingWindowLog(options).toJSON())),
    );
    expect(empty.consume(T0).remaining).toBe(4);
  });

  it('property: no window of windowMs ever holds more than `limit` spent units', () => {
    // dt is in thousandths of the window.
    type Op =
      | { kind: 'consume'; dt: number; cost: number }
      | { kind: 'lease'; dt: number; wanted: number }
      | { kind: 'release'; dt: number; pick: number; unused: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('consume' as const),
        dt: fc.nat(300),
        cost: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({
        kind: fc.constant('lease' as const),
        dt: fc.nat(300),
        wanted: fc.integer({ min: 1, max: 20 }),
      }),
      fc.record({
        kind: fc.constant('release' as const),
        dt: fc.nat(300),
        pick: fc.nat(),
        unused: fc.nat(25),
      }),
    );

    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 50, max: 2000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(op, { maxLength: 200 }),
        (limit, windowMs, ttlPermille, divisor, ops) => {
          // Times scale with the window so that every run mixes saturation and expiry.
          const leaseTtlMs = Math.max(1, Math.floor((ttlPermille * windowMs) / 1000));
          const log = new SlidingWindowLog({
            limit,
            windowMs,
            leaseTtlMs,
            leaseShareDivisor: divisor,
          });
          // Each spent unit may have been spent at any moment in [start, end] (inclusive, ms).
          const spent: { start: number; end: number; count: number }[] = [];
          const open: { id: string; start: number; expiresAt: number; count: number }[] = [];
          let now = T0;
          for (const o of ops) {
            now += Math.floor((o.dt * windowMs) / 1000);
            if (o.kind === 'consume') {
              const cost = Math.min(o.cost, limit);
              if (log.consume(now, cost).allowed) spent.push({ start: now, end: now, count: cost });
            } else if (o.kind === 'lease') {
              const d = log.lease(now, o.wanted);
              expect(d.granted).toBeLessThanOrEqual(o.wanted);
              if (d.granted > 0) {
                open.push({
                  id: d.leaseId as string,
                  start: now,
                  expiresAt: d.expiresAt,
                  count: d.granted,
                });
              }
            } else if (open.length > 0) {
              const [l] = open.splice(o.pick % open.length, 1);
              if (!l) continue;
              const freed = log.release(now, l.id, o.unused);
              if (now < l.expiresAt) {
                expect(freed).toBe(Math.min(o.unused, l.count));
                if (l.count - freed > 0)
                  spent.push({ start: l.start, end: now, count: l.count - freed });
              } else {
                expect(freed).toBe(0);
                spent.push({ start: l.start, end: l.expiresAt - 1, count: l.count });
              }
            }
            expect(log.toJSON().entries.length).toBeLessThanOrEqual(limit);
          }
          // Leases never released were spent by their expiry.
          for (const l of open)
            spent.push({ start: l.start, end: l.expiresAt - 1, count: l.count });

          // Worst case over every window [a, a + windowMs - 1]: a unit counts if it could have been
          // spent inside. The maximum is reached with a at some interval's end or just after
          // some interval's start leaves the window.
          const candidates = new Set<number>();
          for (const s of spent) {
            candidates.add(s.end);
            candidates.add(s.start - windowMs + 1);
          }
          for (const a of candidates) {
            let inWindow = 0;
            for (const s of spent)
              if (s.start <= a + windowMs - 1 && s.end >= a) inWindow += s.count;
            expect(inWindow).toBeLessThanOrEqual(limit);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('rateLimitHeaders', () => {
  it('writes the IETF draft fields', () => {
    expect(
      rateLimitHeaders({ limit: 100, remaining: 42, resetSeconds: 30, windowSeconds: 60 }),
    ).toEqual({
      RateLimit: '"default";r=42;t=30',
      'RateLimit-Policy': '"default";q=100;w=60',
    });
  });

  it('adds Retry-After on refusals and rounds seconds up', () => {
    expect(
      rateLimitHeaders({
        limit: 10,
        remaining: 0,
        resetSeconds: 2.2,
        windowSeconds: 1,
        policyName: 'checkout',
        retryAfterSeconds: 2.2,
      }),
    ).toEqual({
      RateLimit: '"checkout";r=0;t=3',
      'RateLimit-Policy': '"checkout";q=10;w=1',
      'Retry-After': '3',
    });
    expect(
      rateLimitHeaders({
        limit: 1,
        remaining: 1,
        resetSeconds: 0,
        windowSeconds: 1,
        retryAfterSeconds: 0,
      }),
    ).not.toHaveProperty('Retry-After');
  });

  it('never emits negative or non-finite numbers', () => {
    expect(
      rateLimitHeaders({ limit: 5, remaining: -3, resetSeconds: Number.NaN, windowSeconds: 60 })
        .RateLimit,
    ).toBe('"default";r=0;t=0');
  });

  it('escapes the policy name as a structured-field string and refuses header injection', () => {
    expect(
      rateLimitHeaders({
        limit: 1,
        remaining: 1,
        resetSeconds: 0,
        windowSeconds: 1,
        policyName: 'a"b\\c',
      }).RateLimit,
    ).toBe('"a\\"b\\\\c";r=1;t=0');
    expect(() =>
      rateLimitHeaders({
        limit: 1,
        remaining: 1,
        resetSeconds: 0,
        windowSeconds: 1,
        policyName: 'x\r\nSet-Cookie: a=b',
      }),
    ).toThrow(TypeError);
  });

  it('works from a decision', () => {
    const log = new SlidingWindowLog({ limit: 2, windowMs: 60_000 });
    log.consume(T0);
    log.consume(T0 + 1000);
    const d = log.consume(T0 + 2000);
    const headers = rateLimitHeaders({
      limit: log.limit,
      remaining: d.remaining,
      resetSeconds: d.resetMs / 1000,
      windowSeconds: log.windowMs / 1000,
      retryAfterSeconds: d.retryAfterSeconds,
    });
    expect(headers).toEqual({
      RateLimit: '"default";r=0;t=58',
      'RateLimit-Policy': '"default";q=2;w=60',
      'Retry-After': '58',
    });
  });
});
