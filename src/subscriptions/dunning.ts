/**
 * Dunning: what happens after a renewal (or the payment at trial end) fails.
 *
 * The failure starts a streak: the subscription becomes `past_due` and is flagged with a billing
 * issue (one billing-issue event per streak, raised by the transition into `past_due`). The
 * payment is retried on a per-storefront schedule of days after the first failure — by default
 * four retries over two weeks, on days 1, 3, 7 and 14 ({@link DEFAULT_RETRY_DAYS}). A retry that
 * succeeds recovers the subscription (`dunning_recovered`, back to `active`, same period).
 *
 * The grace period is the window, from the first failure, during which the customer keeps
 * access while flagged; it covers every retry (by default it ends with the last one, day 14).
 * When the last retry has failed and the grace period is over, dunning is exhausted and the
 * subscription goes to the storefront's end state: `ended` by default (involuntary churn),
 * `cancelled`, or `past_due` kept (unpaid-like: flagged, no more retries or renewals until a
 * payment recovers it). See src/subscriptions/lifecycle.ts for the transitions.
 *
 * Days are whole days of 86,400 s after the failure's second, in UTC.
 */
import { z } from 'zod';
import { SECONDS_PER_DAY, type UnixSeconds } from './time';

export const DUNNING_END_STATES = ['ended', 'cancelled', 'past_due'] as const;
export type DunningEndState = (typeof DUNNING_END_STATES)[number];

export const DEFAULT_RETRY_DAYS: readonly number[] = [1, 3, 7, 14];
/** At most 8 retries (as Stripe's Smart Retries)… */
export const MAX_RETRIES = 8;
/** …and nothing later than two months after the failure. */
export const MAX_DUNNING_DAYS = 60;

/**
 * A storefront's dunning configuration, validated on write. `retryDays` are strictly increasing
 * days after the first failure; `graceDays` defaults to the last retry day and may not end
 * before it; `endState` defaults to `ended`.
 */
export const DunningConfigSchema = z
  .strictObject({
    retryDays: z
      .array(z.number().int().min(1).max(MAX_DUNNING_DAYS))
      .min(1)
      .max(MAX_RETRIES)
      .default([...DEFAULT_RETRY_DAYS]),
    graceDays: z.number().int().min(0).max(MAX_DUNNING_DAYS).optional(),
    endState: z.enum(DUNNING_END_STATES).default('ended'),
  })
  .superRefine((config, ctx) => {
    config.retryDays.forEach((day, i) => {
      const previous = config.retryDays[i - 1];
      if (previous !== undefined && day <= previous) {
        ctx.addIssue({
          code: 'custom',
          path: ['retryDays', i],
          message: `retry days must be strictly increasing (${day} after ${previous})`,
        });
      }
    });
    const last = config.retryDays[config.retryDays.length - 1] ?? 0;
    if (config.graceDays !== undefined && config.graceDays < last) {
      ctx.addIssue({
        code: 'custom',
        path: ['graceDays'],
        message: `the grace period must cover the last retry (day ${last})`,
      });
    }
  })
  .transform(
    (config): DunningConfig => ({
      retryDays: config.retryDays,
      graceDays: config.graceDays ?? config.retryDays[config.retryDays.length - 1] ?? 0,
      endState: config.endState,
    }),
  );

export type DunningConfigInput = z.input<typeof DunningConfigSchema>;

/** A validated dunning configuration, every field resolved. */
export interface DunningConfig {
  retryDays: number[];
  graceDays: number;
  endState: DunningEndState;
}

export const DEFAULT_DUNNING: DunningConfig = DunningConfigSchema.parse({});

/** One failure streak: when the payment first failed and how many retries have failed since. */
export interface DunningStreak {
  failedAt: UnixSeconds;
  retriesFailed: number;
}

/** The next thing dunning does: retry the payment, or give up with the end state. */
export type DunningStep =
  | { kind: 'retry' /** 1 for the first retry. */; attempt: number; at: UnixSeconds }
  | { kind: 'exhaust'; at: UnixSeconds; endState: DunningEndState };

/** A streak that has just begun: no retry has failed yet. */
export function startStreak(failedAt: UnixSeconds): DunningStreak {
  return { failedAt, retriesFailed: 0 };
}

/** The streak after one more failed retry. */
export function recordRetryFailure(streak: DunningStreak): DunningStreak {
  return { failedAt: streak.failedAt, retriesFailed: streak.retriesFailed + 1 };
}

/** When the grace period of a streak ends (the customer keeps access until then). */
export function graceEndsAt(config: DunningConfig, streak: DunningStreak): UnixSeconds {
  return streak.failedAt + config.graceDays * SECONDS_PER_DAY;
}

export function inGracePeriod(
  config: DunningConfig,
  streak: DunningStreak,
  now: UnixSeconds,
): boolean {
  return now >= streak.failedAt && now < graceEndsAt(config, streak);
}

/**
 * What dunning does next for `streak`: the next retry and when, or, once every retry has
 * failed, exhaustion at the end of the grace period (a time that may already be past: the
 * caller acts at once). Pure: the Durable Object sets its alarm to `at`.
 */
export function nextDunningStep(config: DunningConfig, streak: DunningStreak): DunningStep {
  const day = config.retryDays[streak.retriesFailed];
  if (day !== undefined) {
    return {
      kind: 'retry',
      attempt: streak.retriesFailed + 1,
      at: streak.failedAt + day * SECONDS_PER_DAY,
    };
  }
  return { kind: 'exhaust', at: graceEndsAt(config, streak), endState: config.endState };
}

/** True when every retry of the streak has failed. */
export function isExhausted(config: DunningConfig, streak: DunningStreak): boolean {
  return streak.retriesFailed >= config.retryDays.length;
}
