import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fieldErrors } from '../../src/errors';
import {
  DEFAULT_DUNNING,
  type DunningConfig,
  DunningConfigSchema,
  type DunningStreak,
  graceEndsAt,
  inGracePeriod,
  isExhausted,
  MAX_DUNNING_DAYS,
  MAX_RETRIES,
  nextDunningStep,
  recordRetryFailure,
  startStreak,
} from '../../src/subscriptions/dunning';
import { SECONDS_PER_DAY, toUnixSeconds } from '../../src/subscriptions/time';

const DAY = SECONDS_PER_DAY;
const FAILED = toUnixSeconds(new Date('2025-03-01T09:30:00Z'));

function errorsOf(input: unknown): string[] {
  const r = DunningConfigSchema.safeParse(input);
  if (r.success) return [];
  return fieldErrors(r.error.issues).map((e) => `${e.path}: ${e.message}`);
}

describe('DunningConfigSchema', () => {
  it('defaults to 4 retries over 14 days (days 1, 3, 7, 14), grace to the last, then ended', () => {
    expect(DEFAULT_DUNNING).toEqual({ retryDays: [1, 3, 7, 14], graceDays: 14, endState: 'ended' });
    expect(DunningConfigSchema.parse({ retryDays: [2, 5] })).toEqual({
      retryDays: [2, 5],
      graceDays: 5,
      endState: 'ended',
    });
    expect(
      DunningConfigSchema.parse({ retryDays: [1], graceDays: 10, endState: 'past_due' }),
    ).toEqual({ retryDays: [1], graceDays: 10, endState: 'past_due' });
  });

  it('retry days are strictly increasing whole days within 60', () => {
    expect(errorsOf({ retryDays: [3, 3] })).toEqual([
      'retryDays.1: retry days must be strictly increasing (3 after 3)',
    ]);
    expect(errorsOf({ retryDays: [5, 2] })).toHaveLength(1);
    expect(errorsOf({ retryDays: [0] })).toHaveLength(1);
    expect(errorsOf({ retryDays: [MAX_DUNNING_DAYS + 1] })).toHaveLength(1);
    expect(errorsOf({ retryDays: [1.5] })).toHaveLength(1);
    expect(errorsOf({ retryDays: [] })).toHaveLength(1);
    expect(
      errorsOf({ retryDays: Array.from({ length: MAX_RETRIES + 1 }, (_, i) => i + 1) }),
    ).toHaveLength(1);
    expect(errorsOf({ retryDays: Array.from({ length: MAX_RETRIES }, (_, i) => i + 1) })).toEqual(
      [],
    );
  });

  it('the grace period covers the last retry and is bounded', () => {
    expect(errorsOf({ retryDays: [1, 3, 7, 14], graceDays: 13 })).toEqual([
      'graceDays: the grace period must cover the last retry (day 14)',
    ]);
    expect(errorsOf({ graceDays: MAX_DUNNING_DAYS + 1 })).toEqual([
      expect.stringMatching(/^graceDays: /),
    ]);
    // Below 0 is also below the last retry: both are said.
    expect(errorsOf({ graceDays: -1 })).toEqual([
      expect.stringMatching(/^graceDays: /),
      'graceDays: the grace period must cover the last retry (day 14)',
    ]);
  });

  it('the end state is ended, cancelled or past_due; unknown fields are refused', () => {
    expect(errorsOf({ endState: 'cancelled' })).toEqual([]);
    expect(errorsOf({ endState: 'paused' })).toHaveLength(1);
    expect(errorsOf({ endstate: 'ended' })).toHaveLength(1);
  });
});

describe('the default schedule', () => {
  it('retries on days 1, 3, 7 and 14 after the failure, then is exhausted', () => {
    let streak = startStreak(FAILED);
    const steps = [];
    for (let i = 0; i < 5; i++) {
      steps.push(nextDunningStep(DEFAULT_DUNNING, streak));
      streak = recordRetryFailure(streak);
    }
    expect(steps).toEqual([
      { kind: 'retry', attempt: 1, at: FAILED + DAY },
      { kind: 'retry', attempt: 2, at: FAILED + 3 * DAY },
      { kind: 'retry', attempt: 3, at: FAILED + 7 * DAY },
      { kind: 'retry', attempt: 4, at: FAILED + 14 * DAY },
      { kind: 'exhaust', at: FAILED + 14 * DAY, endState: 'ended' },
    ]);
  });

  it('a longer grace period delays the end state past the last retry', () => {
    const config = DunningConfigSchema.parse({
      retryDays: [1, 3],
      graceDays: 10,
      endState: 'cancelled',
    });
    const streak: DunningStreak = { failedAt: FAILED, retriesFailed: 2 };
    expect(isExhausted(config, streak)).toBe(true);
    expect(nextDunningStep(config, streak)).toEqual({
      kind: 'exhaust',
      at: FAILED + 10 * DAY,
      endState: 'cancelled',
    });
    expect(inGracePeriod(config, streak, FAILED + 10 * DAY - 1)).toBe(true);
    expect(inGracePeriod(config, streak, FAILED + 10 * DAY)).toBe(false);
    expect(inGracePeriod(config, streak, FAILED - 1)).toBe(false);
  });
});

const configArb: fc.Arbitrary<DunningConfig> = fc
  .uniqueArray(fc.integer({ min: 1, max: MAX_DUNNING_DAYS }), {
    minLength: 1,
    maxLength: MAX_RETRIES,
  })
  .chain((days) => {
    const retryDays = [...days].sort((a, b) => a - b);
    const last = retryDays[retryDays.length - 1] ?? 1;
    return fc.record({
      retryDays: fc.constant(retryDays),
      graceDays: fc.option(fc.integer({ min: last, max: MAX_DUNNING_DAYS }), { nil: undefined }),
      endState: fc.constantFrom('ended' as const, 'cancelled' as const, 'past_due' as const),
    });
  })
  .map((input) => DunningConfigSchema.parse(input));

describe('dunning (properties)', () => {
  it('exactly one retry per configured day, in order, then exhaustion within the grace period', () => {
    fc.assert(
      fc.property(configArb, fc.integer({ min: 0, max: 2_000_000_000 }), (config, failedAt) => {
        let streak = startStreak(failedAt);
        let previous = failedAt;
        let retries = 0;
        for (;;) {
          const step = nextDunningStep(config, streak);
          expect(step.at).toBeGreaterThanOrEqual(previous);
          previous = step.at;
          if (step.kind === 'exhaust') {
            expect(step.endState).toBe(config.endState);
            expect(step.at).toBe(graceEndsAt(config, streak));
            break;
          }
          retries++;
          expect(step.attempt).toBe(retries);
          expect(inGracePeriod(config, streak, step.at)).toBe(
            step.at < graceEndsAt(config, streak),
          );
          streak = recordRetryFailure(streak);
        }
        expect(retries).toBe(config.retryDays.length);
        expect(isExhausted(config, streak)).toBe(true);
        expect(previous - failedAt).toBeLessThanOrEqual(MAX_DUNNING_DAYS * DAY);
      }),
    );
  });
});
