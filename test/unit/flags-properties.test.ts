/**
 * Properties of bucketing that the product promises: a customer's variation is stable, splits
 * hold their shares, and one flag's assignment never depends on any other flag.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketFor, compileFlags, type EvaluationContext } from '../../src/flags';

type Json = Record<string, unknown>;

function rolloutFlag(key: string, salt: string, weights: number[], overrides: Json = {}): Json {
  return {
    key,
    valueType: 'number',
    enabled: true,
    version: 1,
    salt,
    variations: weights.map((_, i) => i),
    offVariation: 0,
    rules: [],
    fallthrough: {
      rollout: { variations: weights.map((weight, variation) => ({ variation, weight })) },
    },
    ...overrides,
  };
}

const flagKey = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
const salt = fc.string({ maxLength: 12 });
const targetingKey = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' });

/** Weights in basis points of 100000 that sum to exactly 100000, 1–5 entries. */
const weights = fc
  .array(fc.integer({ min: 0, max: 100_000 }), { minLength: 0, maxLength: 4 })
  .map((cuts) => {
    const points = [0, ...[...cuts].sort((a, b) => a - b), 100_000];
    return points.slice(1).map((p, i) => p - (points[i] as number));
  });

/** Another flag, of any shape, to put next to the one under test. */
const otherFlag = fc
  .record({ key: flagKey, salt, weights, enabled: fc.boolean(), withRule: fc.boolean() })
  .map(({ key, salt: s, weights: w, enabled, withRule }) =>
    rolloutFlag(`other-${key}`, s, w, {
      enabled,
      rules: withRule
        ? [{ clauses: [{ attribute: 'country', operator: 'in', values: ['DE'] }], variation: 0 }]
        : [],
    }),
  );

describe('bucketing', () => {
  it('is stable across calls and across independently compiled evaluators', () => {
    fc.assert(
      fc.property(
        flagKey,
        salt,
        weights,
        fc.array(targetingKey, { minLength: 1, maxLength: 20 }),
        (key, s, w, keys) => {
          const a = compileFlags([rolloutFlag(key, s, w)]);
          const b = compileFlags([rolloutFlag(key, s, w)]);
          for (const k of keys) {
            const first = a.evaluate(key, { targetingKey: k }, -1);
            expect(first.reason).toBe('SPLIT');
            expect(a.evaluate(key, { targetingKey: k }, -1)).toBe(first);
            expect(b.evaluate(key, { targetingKey: k, country: 'DE' }, -1).value).toBe(first.value);
          }
        },
      ),
    );
  });

  it('serves the variation whose cumulative weight range holds bucketFor(key, salt, value)', () => {
    fc.assert(
      fc.property(flagKey, salt, weights, targetingKey, (key, s, w, k) => {
        const bucket = bucketFor(key, s, k);
        let expected = -1;
        for (let i = 0, total = 0; i < w.length && expected < 0; i++) {
          total += w[i] as number;
          if (bucket < total) expected = i;
        }
        expect(
          compileFlags([rolloutFlag(key, s, w)]).evaluate(key, { targetingKey: k }, -1).value,
        ).toBe(expected);
      }),
    );
  });

  it('never depends on other flags: adding, changing or removing them moves nobody', () => {
    fc.assert(
      fc.property(
        flagKey,
        salt,
        weights,
        fc.array(otherFlag, { maxLength: 5 }),
        fc.array(otherFlag, { maxLength: 5 }),
        fc.array(targetingKey, { minLength: 1, maxLength: 30 }),
        (name, s, w, before, after, keys) => {
          // Others are all `other-…`: the flag under test never shares their key.
          const key = `flag-${name}`;
          const alone = compileFlags([rolloutFlag(key, s, w)]);
          const crowded = compileFlags([...before, rolloutFlag(key, s, w), ...after]);
          const changed = compileFlags([
            ...after,
            rolloutFlag(key, s, w),
            ...before.map((f) => ({ ...f, salt: `${f.salt}!` })),
          ]);
          for (const k of keys) {
            const ctx: EvaluationContext = { targetingKey: k, country: 'DE' };
            const expected = alone.evaluate(key, ctx, -1).value;
            expect(crowded.evaluate(key, ctx, -1).value).toBe(expected);
            expect(changed.evaluate(key, ctx, -1).value).toBe(expected);
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('a flag salt reshuffles only that flag', () => {
    const keys = Array.from({ length: 2_000 }, (_, i) => `cus_${i}`);
    const a1 = compileFlags([
      rolloutFlag('a', 's1', [50_000, 50_000]),
      rolloutFlag('b', 'x', [50_000, 50_000]),
    ]);
    const a2 = compileFlags([
      rolloutFlag('a', 's2', [50_000, 50_000]),
      rolloutFlag('b', 'x', [50_000, 50_000]),
    ]);
    const moved = keys.filter(
      (k) =>
        a1.evaluate('a', { targetingKey: k }, -1).value !==
        a2.evaluate('a', { targetingKey: k }, -1).value,
    );
    // About half move when the salt changes (an independent re-draw); flag b does not move at all.
    expect(moved.length / keys.length).toBeGreaterThan(0.4);
    expect(moved.length / keys.length).toBeLessThan(0.6);
    for (const k of keys) {
      expect(a2.evaluate('b', { targetingKey: k }, -1).value).toBe(
        a1.evaluate('b', { targetingKey: k }, -1).value,
      );
    }
  });
});

describe('split shares over 100,000 random keys are within ±1 percentage point', () => {
  const SAMPLE = 100_000;

  function shares(key: string, s: string, w: number[], seed: number): number[] {
    const ev = compileFlags([rolloutFlag(key, s, w)]);
    const counts = w.map(() => 0);
    const keys = fc.sample(fc.uuid(), { numRuns: SAMPLE, seed });
    for (const k of keys) {
      const v = ev.evaluate(key, { targetingKey: k }, -1).value;
      counts[v] = (counts[v] ?? 0) + 1;
    }
    return counts.map((c) => c / SAMPLE);
  }

  it.each([
    ['50/50', [50_000, 50_000]],
    ['20/30/50', [20_000, 30_000, 50_000]],
  ])('%s', (_name, w) => {
    fc.assert(
      fc.property(flagKey, salt, fc.integer(), (key, s, seed) => {
        const observed = shares(key, s, w, seed);
        w.forEach((weight, i) => {
          expect(Math.abs((observed[i] as number) - weight / 100_000)).toBeLessThanOrEqual(0.01);
        });
      }),
      { numRuns: 5 },
    );
  });

  it('holds for sequential customer ids too (a worst case for weak hashes)', () => {
    const ev = compileFlags([rolloutFlag('seq', 'salt', [20_000, 30_000, 50_000])]);
    const counts = [0, 0, 0];
    for (let i = 0; i < SAMPLE; i++) {
      const v = ev.evaluate('seq', { targetingKey: `cus_${i}` }, -1).value;
      counts[v] = (counts[v] ?? 0) + 1;
    }
    const target = [0.2, 0.3, 0.5];
    counts.forEach((c, i) => {
      expect(Math.abs(c / SAMPLE - (target[i] as number))).toBeLessThanOrEqual(0.01);
    });
  });
});
