import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  autoResumeDue,
  eventsAllowedIn,
  type FromStatus,
  IllegalTransitionError,
  INCOMPLETE_EXPIRY_SECONDS,
  incompleteExpiresAt,
  isTerminal,
  type LifecycleEvent,
  type LifecycleEventType,
  type LifecycleState,
  NOT_CREATED,
  SUBSCRIPTION_STATUSES,
  type SubscriptionStatus,
  TERMINAL_STATUSES,
  TRANSITIONS,
  type TransitionResult,
  transition,
  transitionOrThrow,
} from '../../src/subscriptions/lifecycle';
import { SECONDS_PER_DAY, toUnixSeconds } from '../../src/subscriptions/time';

const T0 = toUnixSeconds(new Date('2025-01-31T00:00:00Z'));
const HOUR = 3_600;
const DAY = SECONDS_PER_DAY;

function state(
  status: SubscriptionStatus,
  overrides: Partial<LifecycleState> = {},
): LifecycleState {
  return {
    status,
    since: T0,
    lastEventAt: T0,
    periodEnd: status === 'incomplete' ? null : T0 + 28 * DAY,
    termEnd: T0 + 365 * DAY,
    cancelAtPeriodEnd: false,
    billingIssue: status === 'past_due',
    resumeAt: null,
    ...overrides,
  };
}

function ok(result: TransitionResult): LifecycleState {
  if (!result.ok) throw new Error(`refused: ${result.error.message}`);
  return result.state;
}

function refusal(result: TransitionResult) {
  if (result.ok) throw new Error(`accepted, now ${result.state.status}`);
  return result.error;
}

const EVENT_TYPES = Object.keys(TRANSITIONS) as LifecycleEventType[];

/**
 * A state in `from` and an event of `type` that passes every guard of that event, so that
 * whether the pair is accepted depends on the table alone.
 */
function probe(
  from: FromStatus,
  type: LifecycleEventType,
): [LifecycleState | null, LifecycleEvent] {
  const needsFlag = type === 'reactivate' || type === 'period_end_with_cancel';
  const s = from === NOT_CREATED ? null : state(from, { cancelAtPeriodEnd: needsFlag });
  const soon = T0 + HOUR;
  const periodEnd = s?.periodEnd ?? T0 + 28 * DAY;
  const termEnd = s?.termEnd ?? T0 + 365 * DAY;
  const next = periodEnd + 28 * DAY;
  const events: { [K in LifecycleEventType]: Extract<LifecycleEvent, { type: K }> } = {
    checkout_paid: { type: 'checkout_paid', at: soon, periodEnd: soon + 28 * DAY },
    checkout_failed: { type: 'checkout_failed', at: soon },
    first_payment_retry_succeeded: {
      type: 'first_payment_retry_succeeded',
      at: soon,
      periodEnd: soon + 28 * DAY,
    },
    incomplete_expired: { type: 'incomplete_expired', at: T0 + INCOMPLETE_EXPIRY_SECONDS },
    trial_started: { type: 'trial_started', at: soon, trialEnd: soon + 14 * DAY },
    trial_ended_paid: { type: 'trial_ended_paid', at: periodEnd, periodEnd: next },
    trial_ended_no_method: { type: 'trial_ended_no_method', at: periodEnd, to: 'cancelled' },
    trial_ended_payment_failed: {
      type: 'trial_ended_payment_failed',
      at: periodEnd,
      periodEnd: next,
    },
    renewal_paid: { type: 'renewal_paid', at: periodEnd, periodEnd: next },
    renewal_failed: { type: 'renewal_failed', at: periodEnd, periodEnd: next },
    dunning_retry_failed: { type: 'dunning_retry_failed', at: T0 + DAY },
    dunning_recovered: { type: 'dunning_recovered', at: T0 + DAY },
    dunning_exhausted: { type: 'dunning_exhausted', at: T0 + 14 * DAY, to: 'ended' },
    pause: { type: 'pause', at: soon, resumeAt: null },
    resume: { type: 'resume', at: soon, periodEnd: soon + 28 * DAY },
    cancel_now: { type: 'cancel_now', at: soon },
    cancel_at_period_end: { type: 'cancel_at_period_end', at: soon },
    reactivate: { type: 'reactivate', at: soon },
    period_end_with_cancel: { type: 'period_end_with_cancel', at: periodEnd },
    term_ended: { type: 'term_ended', at: termEnd },
    plan_changed: { type: 'plan_changed', at: soon },
  };
  return [s, events[type]];
}

/** Every legal transition, written out by hand (not read from the table). */
const LEGAL: ReadonlyArray<[LifecycleEventType, FromStatus, SubscriptionStatus]> = [
  ['checkout_paid', 'none', 'active'],
  ['checkout_failed', 'none', 'incomplete'],
  ['first_payment_retry_succeeded', 'incomplete', 'active'],
  ['incomplete_expired', 'incomplete', 'incomplete_expired'],
  ['trial_started', 'none', 'trialing'],
  ['trial_ended_paid', 'trialing', 'active'],
  ['trial_ended_no_method', 'trialing', 'cancelled'],
  ['trial_ended_payment_failed', 'trialing', 'past_due'],
  ['renewal_paid', 'active', 'active'],
  ['renewal_failed', 'active', 'past_due'],
  ['dunning_retry_failed', 'past_due', 'past_due'],
  ['dunning_recovered', 'past_due', 'active'],
  ['dunning_exhausted', 'past_due', 'ended'],
  ['pause', 'active', 'paused'],
  ['resume', 'paused', 'active'],
  ['cancel_now', 'incomplete', 'cancelled'],
  ['cancel_now', 'trialing', 'cancelled'],
  ['cancel_now', 'active', 'cancelled'],
  ['cancel_now', 'past_due', 'cancelled'],
  ['cancel_now', 'paused', 'cancelled'],
  ['cancel_at_period_end', 'trialing', 'trialing'],
  ['cancel_at_period_end', 'active', 'active'],
  ['cancel_at_period_end', 'past_due', 'past_due'],
  ['reactivate', 'trialing', 'trialing'],
  ['reactivate', 'active', 'active'],
  ['reactivate', 'past_due', 'past_due'],
  ['period_end_with_cancel', 'trialing', 'cancelled'],
  ['period_end_with_cancel', 'active', 'cancelled'],
  ['period_end_with_cancel', 'past_due', 'cancelled'],
  ['term_ended', 'trialing', 'ended'],
  ['term_ended', 'active', 'ended'],
  ['term_ended', 'past_due', 'ended'],
  ['term_ended', 'paused', 'ended'],
  ['plan_changed', 'trialing', 'trialing'],
  ['plan_changed', 'active', 'active'],
];

const FROM: FromStatus[] = [NOT_CREATED, ...SUBSCRIPTION_STATUSES];
const PAIRS = FROM.flatMap((from) => EVENT_TYPES.map((type) => [from, type] as const));

describe('the transition table', () => {
  it('has exactly the statuses of issue 12', () => {
    expect([...SUBSCRIPTION_STATUSES].sort()).toEqual(
      [
        'active',
        'cancelled',
        'ended',
        'incomplete',
        'incomplete_expired',
        'past_due',
        'paused',
        'trialing',
      ].sort(),
    );
  });

  it.each(PAIRS)('%s + %s: legal exactly when listed, to the listed status', (from, type) => {
    const [s, event] = probe(from, type);
    const expected = LEGAL.find(([t, f]) => t === type && f === from);
    const result = transition(s, event);
    if (expected) {
      expect(ok(result).status).toBe(expected[2]);
    } else {
      expect(refusal(result)).toEqual({
        kind: 'illegal_transition',
        current: from,
        event: type,
        reason: 'not_allowed_in_status',
        message: `${type} is not allowed in this status (status ${from})`,
      });
    }
  });

  it('terminal statuses accept nothing', () => {
    for (const status of TERMINAL_STATUSES) {
      expect(isTerminal(status)).toBe(true);
      expect(eventsAllowedIn(status)).toEqual([]);
    }
    expect(isTerminal('past_due')).toBe(false);
  });

  it('eventsAllowedIn lists the table’s row', () => {
    expect(eventsAllowedIn(NOT_CREATED)).toEqual([
      'checkout_paid',
      'checkout_failed',
      'trial_started',
    ]);
    expect(eventsAllowedIn('paused')).toEqual(['resume', 'cancel_now', 'term_ended']);
  });
});

describe('configured end states', () => {
  it('dunning exhausted goes to the storefront’s end state', () => {
    const pastDue = state('past_due');
    for (const to of ['ended', 'cancelled', 'past_due'] as const) {
      const next = ok(transition(pastDue, { type: 'dunning_exhausted', at: T0 + 14 * DAY, to }));
      expect(next.status).toBe(to);
      expect(next.billingIssue).toBe(to === 'past_due');
    }
  });

  it('kept past_due (unpaid-like) is not renewed and recovers only by a payment', () => {
    const unpaid = ok(
      transition(state('past_due'), { type: 'dunning_exhausted', at: T0 + DAY, to: 'past_due' }),
    );
    const renewal = { type: 'renewal_paid', at: T0 + 28 * DAY, periodEnd: T0 + 56 * DAY } as const;
    expect(refusal(transition(unpaid, renewal)).reason).toBe('not_allowed_in_status');
    expect(ok(transition(unpaid, { type: 'dunning_recovered', at: T0 + 2 * DAY })).status).toBe(
      'active',
    );
  });

  it('a trial ending without a payment method cancels, or pauses when so configured', () => {
    const trial = state('trialing');
    const at = trial.periodEnd ?? 0;
    expect(ok(transition(trial, { type: 'trial_ended_no_method', at, to: 'cancelled' }))).toEqual(
      expect.objectContaining({ status: 'cancelled', since: at }),
    );
    expect(ok(transition(trial, { type: 'trial_ended_no_method', at, to: 'paused' })).status).toBe(
      'paused',
    );
  });

  it('an end state outside the allowed ones is a RangeError', () => {
    const bad = {
      type: 'dunning_exhausted',
      at: T0 + DAY,
      to: 'active',
    } as unknown as LifecycleEvent;
    expect(() => transition(state('past_due'), bad)).toThrow(RangeError);
    const badTrial = {
      type: 'trial_ended_no_method',
      at: T0 + DAY,
      to: 'ended',
    } as unknown as LifecycleEvent;
    expect(() => transition(state('trialing'), badTrial)).toThrow(RangeError);
  });
});

describe('guards', () => {
  it('time never goes backwards', () => {
    const s = state('active', { lastEventAt: T0 + DAY });
    expect(refusal(transition(s, { type: 'cancel_now', at: T0 })).reason).toBe(
      'time_went_backwards',
    );
  });

  it('a period, trial or term must end after the event', () => {
    expect(refusal(transition(null, { type: 'checkout_paid', at: T0, periodEnd: T0 })).reason).toBe(
      'invalid_period',
    );
    expect(refusal(transition(null, { type: 'trial_started', at: T0, trialEnd: T0 })).reason).toBe(
      'invalid_period',
    );
    expect(
      refusal(transition(null, { type: 'checkout_paid', at: T0, periodEnd: T0 + DAY, termEnd: T0 }))
        .reason,
    ).toBe('invalid_period');
    const s = state('active');
    const at = s.periodEnd ?? 0;
    expect(refusal(transition(s, { type: 'renewal_paid', at, periodEnd: at - 1 })).reason).toBe(
      'invalid_period',
    );
  });

  it('an incomplete subscription has 23 hours for its first payment, then expires', () => {
    const incomplete = ok(transition(null, { type: 'checkout_failed', at: T0 }));
    expect(incomplete).toEqual(
      expect.objectContaining({ status: 'incomplete', periodEnd: null, since: T0 }),
    );
    expect(incompleteExpiresAt(incomplete)).toBe(T0 + 23 * HOUR);
    const last = T0 + 23 * HOUR - 1;
    expect(
      ok(
        transition(incomplete, {
          type: 'first_payment_retry_succeeded',
          at: last,
          periodEnd: last + 30 * DAY,
        }),
      ).status,
    ).toBe('active');
    expect(
      refusal(
        transition(incomplete, {
          type: 'first_payment_retry_succeeded',
          at: last + 1,
          periodEnd: last + 30 * DAY,
        }),
      ).reason,
    ).toBe('incomplete_expired');
    expect(refusal(transition(incomplete, { type: 'incomplete_expired', at: last })).reason).toBe(
      'too_early',
    );
    expect(ok(transition(incomplete, { type: 'incomplete_expired', at: last + 1 })).status).toBe(
      'incomplete_expired',
    );
    expect(incompleteExpiresAt(state('active'))).toBeNull();
  });

  it('a renewal happens at the period end, not before', () => {
    const s = state('active');
    const end = s.periodEnd ?? 0;
    const early = { type: 'renewal_paid', at: end - 1, periodEnd: end + 28 * DAY } as const;
    expect(refusal(transition(s, early)).reason).toBe('too_early');
  });

  it('no renewal, pause or resume once the term has ended', () => {
    const termEnd = T0 + 28 * DAY;
    const s = state('active', { termEnd });
    expect(
      refusal(transition(s, { type: 'renewal_paid', at: termEnd, periodEnd: termEnd + DAY }))
        .reason,
    ).toBe('term_ended');
    expect(refusal(transition(s, { type: 'pause', at: termEnd, resumeAt: null })).reason).toBe(
      'term_ended',
    );
    const paused = state('paused', { termEnd });
    expect(
      refusal(transition(paused, { type: 'resume', at: termEnd, periodEnd: termEnd + DAY })).reason,
    ).toBe('term_ended');
    expect(ok(transition(paused, { type: 'term_ended', at: termEnd })).status).toBe('ended');
  });

  it('a pause resumes after it begins and before the term ends', () => {
    const s = state('active', { termEnd: T0 + 100 * DAY });
    expect(refusal(transition(s, { type: 'pause', at: T0 + DAY, resumeAt: T0 + DAY })).reason).toBe(
      'invalid_resume_date',
    );
    expect(
      refusal(transition(s, { type: 'pause', at: T0 + DAY, resumeAt: T0 + 100 * DAY })).reason,
    ).toBe('resume_after_term_end');
    const paused = ok(transition(s, { type: 'pause', at: T0 + DAY, resumeAt: T0 + 10 * DAY }));
    expect(paused).toEqual(expect.objectContaining({ status: 'paused', resumeAt: T0 + 10 * DAY }));
    expect(autoResumeDue(paused, T0 + 10 * DAY - 1)).toBe(false);
    expect(autoResumeDue(paused, T0 + 10 * DAY)).toBe(true);
    const resumed = ok(
      transition(paused, { type: 'resume', at: T0 + 10 * DAY, periodEnd: T0 + 38 * DAY }),
    );
    expect(resumed).toEqual(
      expect.objectContaining({ status: 'active', resumeAt: null, periodEnd: T0 + 38 * DAY }),
    );
    expect(autoResumeDue(resumed, T0 + 11 * DAY)).toBe(false);
  });

  it('a paused subscription without a date stays paused until resumed by hand', () => {
    const paused = ok(transition(state('active'), { type: 'pause', at: T0 + DAY, resumeAt: null }));
    expect(autoResumeDue(paused, T0 + 1000 * DAY)).toBe(false);
  });

  it('cancel at period end is a flag; reactivate clears it before the period ends, not after', () => {
    const s = state('active');
    const end = s.periodEnd ?? 0;
    const flagged = ok(transition(s, { type: 'cancel_at_period_end', at: T0 + DAY }));
    expect(flagged).toEqual({ ...s, lastEventAt: T0 + DAY, cancelAtPeriodEnd: true });
    // Setting it twice changes nothing.
    expect(ok(transition(flagged, { type: 'cancel_at_period_end', at: T0 + DAY }))).toEqual(
      flagged,
    );
    const reactivated = ok(transition(flagged, { type: 'reactivate', at: end - 1 }));
    expect(reactivated.cancelAtPeriodEnd).toBe(false);
    expect(reactivated.status).toBe('active');
    expect(refusal(transition(flagged, { type: 'reactivate', at: end })).reason).toBe(
      'period_ended',
    );
    expect(refusal(transition(s, { type: 'reactivate', at: T0 + DAY })).reason).toBe(
      'not_scheduled',
    );
    expect(refusal(transition(s, { type: 'cancel_at_period_end', at: end })).reason).toBe(
      'period_ended',
    );
  });

  it('a scheduled cancellation happens at the period end, and blocks renewal and pause', () => {
    const s = state('active', { cancelAtPeriodEnd: true });
    const end = s.periodEnd ?? 0;
    expect(refusal(transition(s, { type: 'period_end_with_cancel', at: end - 1 })).reason).toBe(
      'too_early',
    );
    expect(ok(transition(s, { type: 'period_end_with_cancel', at: end })).status).toBe('cancelled');
    expect(
      refusal(transition(s, { type: 'renewal_paid', at: end, periodEnd: end + DAY })).reason,
    ).toBe('cancel_scheduled');
    expect(refusal(transition(s, { type: 'pause', at: T0 + DAY, resumeAt: null })).reason).toBe(
      'cancel_scheduled',
    );
    expect(
      refusal(transition(state('active'), { type: 'period_end_with_cancel', at: end })).reason,
    ).toBe('not_scheduled');
    const trial = state('trialing', { cancelAtPeriodEnd: true });
    expect(
      refusal(transition(trial, { type: 'trial_ended_paid', at: end, periodEnd: end + DAY }))
        .reason,
    ).toBe('cancel_scheduled');
    expect(ok(transition(trial, { type: 'period_end_with_cancel', at: end })).status).toBe(
      'cancelled',
    );
  });

  it('a term ends at its end, and only a subscription with a term', () => {
    const s = state('active', { termEnd: T0 + 90 * DAY });
    expect(refusal(transition(s, { type: 'term_ended', at: T0 + 90 * DAY - 1 })).reason).toBe(
      'too_early',
    );
    expect(
      refusal(transition(state('active', { termEnd: null }), { type: 'term_ended', at: T0 + DAY }))
        .reason,
    ).toBe('no_term');
  });

  it('times must be whole seconds in range', () => {
    expect(() => transition(null, { type: 'checkout_failed', at: T0 + 0.5 })).toThrow(RangeError);
    expect(() => transition(null, { type: 'checkout_paid', at: T0, periodEnd: -1 })).toThrow(
      RangeError,
    );
  });

  it('transitionOrThrow throws the refusal', () => {
    try {
      transitionOrThrow(state('cancelled'), {
        type: 'resume',
        at: T0 + DAY,
        periodEnd: T0 + 9 * DAY,
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(IllegalTransitionError);
      expect((err as IllegalTransitionError).detail.current).toBe('cancelled');
    }
    expect(transitionOrThrow(null, { type: 'checkout_failed', at: T0 }).status).toBe('incomplete');
  });
});

describe('a lifecycle', () => {
  it('trial → payment fails at trial end (past_due, Stripe) → retry fails → recovers', () => {
    let s = ok(transition(null, { type: 'trial_started', at: T0, trialEnd: T0 + 14 * DAY }));
    expect(s).toEqual({
      status: 'trialing',
      since: T0,
      lastEventAt: T0,
      periodEnd: T0 + 14 * DAY,
      termEnd: null,
      cancelAtPeriodEnd: false,
      billingIssue: false,
      resumeAt: null,
    });
    const failed = transition(s, {
      type: 'trial_ended_payment_failed',
      at: T0 + 14 * DAY,
      periodEnd: T0 + 42 * DAY,
    });
    expect(failed.ok && failed.billingIssueRaised).toBe(true);
    s = ok(failed);
    expect(s).toEqual(
      expect.objectContaining({ status: 'past_due', billingIssue: true, periodEnd: T0 + 42 * DAY }),
    );
    const retry = transition(s, { type: 'dunning_retry_failed', at: T0 + 15 * DAY });
    expect(retry.ok && retry.billingIssueRaised).toBe(false);
    s = ok(retry);
    expect(s.since).toBe(T0 + 14 * DAY);
    s = ok(transition(s, { type: 'dunning_recovered', at: T0 + 17 * DAY }));
    expect(s).toEqual(
      expect.objectContaining({ status: 'active', billingIssue: false, periodEnd: T0 + 42 * DAY }),
    );
  });

  it('one billing issue per failure streak', () => {
    let s = ok(transition(null, { type: 'checkout_paid', at: T0, periodEnd: T0 + 28 * DAY }));
    const raised: boolean[] = [];
    const apply = (event: LifecycleEvent) => {
      const r = transition(s, event);
      if (!r.ok) throw new Error(r.error.message);
      raised.push(r.billingIssueRaised);
      s = r.state;
    };
    apply({ type: 'renewal_failed', at: T0 + 28 * DAY, periodEnd: T0 + 59 * DAY });
    apply({ type: 'dunning_retry_failed', at: T0 + 29 * DAY });
    apply({ type: 'dunning_retry_failed', at: T0 + 31 * DAY });
    apply({ type: 'dunning_recovered', at: T0 + 35 * DAY });
    apply({ type: 'renewal_failed', at: T0 + 59 * DAY, periodEnd: T0 + 89 * DAY });
    apply({ type: 'dunning_exhausted', at: T0 + 73 * DAY, to: 'ended' });
    expect(raised).toEqual([true, false, false, false, true, false]);
    expect(s).toEqual(
      expect.objectContaining({ status: 'ended', billingIssue: false, since: T0 + 73 * DAY }),
    );
  });

  it('a fixed term is set at signup and ends the subscription', () => {
    let s = ok(
      transition(null, {
        type: 'checkout_paid',
        at: T0,
        periodEnd: T0 + 28 * DAY,
        termEnd: T0 + 28 * DAY,
      }),
    );
    expect(s.termEnd).toBe(T0 + 28 * DAY);
    s = ok(transition(s, { type: 'term_ended', at: T0 + 28 * DAY }));
    expect(s.status).toBe('ended');
  });

  it('a plan change keeps the status, and may start a new period', () => {
    const s = state('active');
    expect(ok(transition(s, { type: 'plan_changed', at: T0 + DAY }))).toEqual({
      ...s,
      lastEventAt: T0 + DAY,
    });
    expect(
      ok(transition(s, { type: 'plan_changed', at: T0 + DAY, periodEnd: T0 + 366 * DAY }))
        .periodEnd,
    ).toBe(T0 + 366 * DAY);
  });
});

describe('invariants over random event sequences (property)', () => {
  const eventArb: fc.Arbitrary<(s: LifecycleState | null, now: number) => LifecycleEvent> =
    fc.oneof(
      ...EVENT_TYPES.map((type) =>
        fc
          .record({ late: fc.boolean(), resume: fc.option(fc.integer({ min: 1, max: 60 })) })
          .map(({ late, resume }) => (s: LifecycleState | null, now: number): LifecycleEvent => {
            // Half the time at the period end (when renewals and cancellations are due).
            const at = late && s?.periodEnd && s.periodEnd > now ? s.periodEnd : now;
            const periodEnd = at + 30 * DAY;
            switch (type) {
              case 'checkout_paid':
              case 'first_payment_retry_succeeded':
              case 'trial_ended_paid':
              case 'trial_ended_payment_failed':
              case 'renewal_paid':
              case 'renewal_failed':
              case 'resume':
                return { type, at, periodEnd };
              case 'trial_started':
                return { type, at, trialEnd: at + 7 * DAY };
              case 'trial_ended_no_method':
                return { type, at, to: resume ? 'paused' : 'cancelled' };
              case 'dunning_exhausted':
                return { type, at, to: resume ? 'past_due' : 'ended' };
              case 'pause':
                return { type, at, resumeAt: resume ? at + resume * DAY : null };
              default:
                return { type, at };
            }
          }),
      ),
    );

  it('terminal is forever, billing issue iff past_due, time and resume dates consistent', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(eventArb, fc.integer({ min: 0, max: 40 * DAY })), {
          minLength: 1,
          maxLength: 40,
        }),
        (steps) => {
          let s: LifecycleState | null = null;
          let now = T0;
          for (const [make, gap] of steps) {
            now += gap;
            const event = make(s, now);
            const r = transition(s, event);
            if (!r.ok) {
              expect(r.error.current).toBe(s?.status ?? NOT_CREATED);
              continue;
            }
            const before = s;
            s = r.state;
            now = Math.max(now, s.lastEventAt);
            if (before && isTerminal(before.status)) expect.unreachable('left a terminal status');
            expect(s.billingIssue).toBe(s.status === 'past_due');
            expect(r.billingIssueRaised).toBe(s.status === 'past_due' && !before?.billingIssue);
            expect(s.lastEventAt).toBe(event.at);
            if (before) expect(s.lastEventAt).toBeGreaterThanOrEqual(before.lastEventAt);
            if (s.status !== 'paused') expect(s.resumeAt).toBeNull();
            if (before && before.status === s.status) expect(s.since).toBe(before.since);
            else expect(s.since).toBe(event.at);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
