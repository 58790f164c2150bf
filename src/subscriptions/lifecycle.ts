/**
 * The subscription state machine: one transition table ({@link TRANSITIONS}) and one function
 * that enforces it ({@link transition}). Every status change of a subscription goes through
 * here; the Durable Object that owns a subscription applies the events in order and appends
 * each to the subscription's log.
 *
 * Statuses (src/db/schema/enums.ts):
 * - `incomplete`: the first payment failed. A retry may succeed within 23 hours
 *   ({@link INCOMPLETE_EXPIRY_SECONDS}, as Stripe's), after which it is `incomplete_expired`.
 * - `trialing`, `active`.
 * - `past_due`: a renewal (or the payment at trial end) failed and dunning is retrying; the
 *   subscription is flagged with a billing issue.
 * - `paused`: no billing and no access until resumed, by hand or at `resumeAt`.
 * - `cancelled`: cancelled now, or at the end of the period when cancel-at-period-end was set.
 * - `ended`: dunning was exhausted (with the `ended` end state), or a fixed term ended.
 * - `incomplete_expired`.
 * `cancelled`, `ended` and `incomplete_expired` are terminal.
 *
 * Decisions:
 * - A payment failing at trial end makes the subscription `past_due` (dunning runs), not
 *   `incomplete`: as in Stripe Billing, `incomplete` is only the first payment at signup; a trial
 *   converts into a subscription that already exists, so its failure is a renewal failure.
 * - Dunning's end state is configured per storefront (src/subscriptions/dunning.ts): `ended`
 *   (the default; involuntary churn, told apart from a deliberate `cancelled`), `cancelled`, or
 *   `past_due` kept, unpaid-like: flagged, no more retries or renewals, until a payment
 *   recovers it (`dunning_recovered`), a cancellation, or the term's end.
 * - Cancel-at-period-end is a flag, not a status; `reactivate` clears it before the period ends
 *   and is refused after. A subscription with a cancellation scheduled is neither renewed nor
 *   paused (reactivate first); at its period end it is `period_end_with_cancel`.
 * - A subscription whose fixed term has ended cannot be resumed, renewed, or paused past it.
 * - Time never goes backwards: an event earlier than the last one applied is refused.
 */
import { type SubscriptionStatus, subscriptionStatusEnum } from '../db/schema/enums';
import { DUNNING_END_STATES, type DunningEndState } from './dunning';
import { assertUnixSeconds, SECONDS_PER_HOUR, type UnixSeconds } from './time';

export type { SubscriptionStatus };

export const SUBSCRIPTION_STATUSES: readonly SubscriptionStatus[] =
  subscriptionStatusEnum.enumValues;

/** No status can be left once reached. */
export const TERMINAL_STATUSES: readonly SubscriptionStatus[] = [
  'cancelled',
  'ended',
  'incomplete_expired',
];

/** An `incomplete` subscription's first payment may still succeed for 23 hours. */
export const INCOMPLETE_EXPIRY_SECONDS = 23 * SECONDS_PER_HOUR;

/** Before the first event a subscription has no status; {@link transition} takes `null`. */
export const NOT_CREATED = 'none';
export type FromStatus = SubscriptionStatus | typeof NOT_CREATED;

/** What trial end does when the customer has no payment method (src/subscriptions/trials.ts). */
export const TRIAL_NO_METHOD_END_STATES = ['cancelled', 'paused'] as const;
export type TrialNoMethodEndState = (typeof TRIAL_NO_METHOD_END_STATES)[number];

/**
 * What the engine remembers of a subscription between events: its status and the facts the
 * transitions are guarded by. All times are whole UTC seconds.
 */
export interface LifecycleState {
  status: SubscriptionStatus;
  /** When the current status was entered (an `incomplete` expires 23 h after it). */
  since: UnixSeconds;
  /** The last event applied; a later event may not be earlier. */
  lastEventAt: UnixSeconds;
  /** End of the current period (of the trial, while trialing); null while incomplete. */
  periodEnd: UnixSeconds | null;
  /** A fixed term's end; null: renews until cancelled. */
  termEnd: UnixSeconds | null;
  /** Cancellation scheduled for `periodEnd` (cancel-at-period-end). */
  cancelAtPeriodEnd: boolean;
  /** True exactly while `past_due`: the customer is told to fix their payment. */
  billingIssue: boolean;
  /** A paused subscription's automatic resume; null when not paused or paused indefinitely. */
  resumeAt: UnixSeconds | null;
}

interface At {
  /** When the event happened (the clock or the subscription's test clock). */
  at: UnixSeconds;
}
interface StartsPeriod extends At {
  /** End of the period that this event starts (src/subscriptions/cycles.ts). */
  periodEnd: UnixSeconds;
}
interface Creates {
  /** A fixed term's end, when the subscription has one. */
  termEnd?: UnixSeconds | null;
}

/** Everything that can happen to a subscription. */
export type LifecycleEvent =
  /** Signup: the first payment succeeded. */
  | ({ type: 'checkout_paid' } & StartsPeriod & Creates)
  /** Signup: the first payment failed (→ `incomplete`). */
  | ({ type: 'checkout_failed' } & At & Creates)
  | ({ type: 'first_payment_retry_succeeded' } & StartsPeriod)
  | ({ type: 'incomplete_expired' } & At)
  | ({ type: 'trial_started'; trialEnd: UnixSeconds } & At & Creates)
  | ({ type: 'trial_ended_paid' } & StartsPeriod)
  | ({ type: 'trial_ended_no_method'; to: TrialNoMethodEndState } & At)
  /** The period after the trial has begun, unpaid (→ `past_due`). */
  | ({ type: 'trial_ended_payment_failed' } & StartsPeriod)
  | ({ type: 'renewal_paid' } & StartsPeriod)
  /** The next period has begun, unpaid (→ `past_due`). */
  | ({ type: 'renewal_failed' } & StartsPeriod)
  | ({ type: 'dunning_retry_failed' } & At)
  | ({ type: 'dunning_recovered' } & At)
  | ({ type: 'dunning_exhausted'; to: DunningEndState } & At)
  | ({ type: 'pause'; resumeAt: UnixSeconds | null } & At)
  /** Resuming starts a new period, paid before the event is applied. */
  | ({ type: 'resume' } & StartsPeriod)
  | ({ type: 'cancel_now' } & At)
  | ({ type: 'cancel_at_period_end' } & At)
  | ({ type: 'reactivate' } & At)
  | ({ type: 'period_end_with_cancel' } & At)
  | ({ type: 'term_ended' } & At)
  /** A price change (src/subscriptions/proration.ts); a new cadence starts a new period. */
  | ({ type: 'plan_changed'; periodEnd?: UnixSeconds } & At);

export type LifecycleEventType = LifecycleEvent['type'];

/** `same`: the status does not change; `configured`: the event's `to` says where it goes. */
type Target = SubscriptionStatus | 'same' | 'configured';

/**
 * The transition table: for each event, the statuses it may happen in and where it leads.
 * A pair that is not listed is illegal. Guards on time and flags (a reactivation after the
 * period's end, a resume after the term's end…) are in {@link transition}, next to it.
 */
export const TRANSITIONS = {
  checkout_paid: { none: 'active' },
  checkout_failed: { none: 'incomplete' },
  first_payment_retry_succeeded: { incomplete: 'active' },
  incomplete_expired: { incomplete: 'incomplete_expired' },
  trial_started: { none: 'trialing' },
  trial_ended_paid: { trialing: 'active' },
  trial_ended_no_method: { trialing: 'configured' },
  trial_ended_payment_failed: { trialing: 'past_due' },
  renewal_paid: { active: 'active' },
  renewal_failed: { active: 'past_due' },
  dunning_retry_failed: { past_due: 'same' },
  dunning_recovered: { past_due: 'active' },
  dunning_exhausted: { past_due: 'configured' },
  pause: { active: 'paused' },
  resume: { paused: 'active' },
  cancel_now: {
    incomplete: 'cancelled',
    trialing: 'cancelled',
    active: 'cancelled',
    past_due: 'cancelled',
    paused: 'cancelled',
  },
  cancel_at_period_end: { trialing: 'same', active: 'same', past_due: 'same' },
  reactivate: { trialing: 'same', active: 'same', past_due: 'same' },
  period_end_with_cancel: { trialing: 'cancelled', active: 'cancelled', past_due: 'cancelled' },
  term_ended: { trialing: 'ended', active: 'ended', past_due: 'ended', paused: 'ended' },
  plan_changed: { trialing: 'same', active: 'same' },
} as const satisfies Record<LifecycleEventType, Partial<Record<FromStatus, Target>>>;

/** Why an event was refused. */
export type IllegalReason =
  /** The table has no such transition from the current status. */
  | 'not_allowed_in_status'
  /** The event is earlier than the last one applied. */
  | 'time_went_backwards'
  /** A period, trial or term that would end at or before the event. */
  | 'invalid_period'
  /** A pause whose automatic resume is not after it. */
  | 'invalid_resume_date'
  /** Too early: before the period's end, the term's end, or an incomplete's expiry. */
  | 'too_early'
  /** An incomplete's first payment, after its 23 hours. */
  | 'incomplete_expired'
  /** A reactivation or a scheduling of cancellation after the period's end. */
  | 'period_ended'
  /** A renewal, a resume or a pause at or after the fixed term's end. */
  | 'term_ended'
  /** A pause whose resume would be at or after the fixed term's end. */
  | 'resume_after_term_end'
  /** Nothing to reactivate or to cancel at period end: no cancellation scheduled. */
  | 'not_scheduled'
  /** A renewal, trial conversion or pause while a cancellation is scheduled. */
  | 'cancel_scheduled'
  /** A term end on a subscription without a term. */
  | 'no_term';

/** A refused event, as data: it crosses RPC and maps to a 409 problem at the route. */
export interface IllegalTransition {
  kind: 'illegal_transition';
  current: FromStatus;
  event: LifecycleEventType;
  reason: IllegalReason;
  message: string;
}

export type TransitionResult =
  | {
      ok: true;
      state: LifecycleState;
      /**
       * True when this event started a failure streak (the subscription just became
       * `past_due`): emit one billing-issue event. Retries of the same streak never raise it.
       */
      billingIssueRaised: boolean;
    }
  | { ok: false; error: IllegalTransition };

/** Thrown by {@link transitionOrThrow}; carries the refusal. */
export class IllegalTransitionError extends Error {
  constructor(readonly detail: IllegalTransition) {
    super(detail.message);
    this.name = 'IllegalTransitionError';
  }
}

const MESSAGES: Record<IllegalReason, string> = {
  not_allowed_in_status: 'is not allowed in this status',
  time_went_backwards: 'is earlier than the last event applied',
  invalid_period: 'must start a period (or trial, or term) that ends after it',
  invalid_resume_date: 'must resume after the pause begins',
  too_early: 'happened too early',
  incomplete_expired: 'came after the 23 hours an incomplete subscription has to be paid',
  period_ended: 'came after the end of the current period',
  term_ended: 'came after the end of the subscription’s term',
  resume_after_term_end: 'would resume after the end of the subscription’s term',
  not_scheduled: 'needs a cancellation scheduled at period end',
  cancel_scheduled: 'is not allowed while a cancellation is scheduled (reactivate first)',
  no_term: 'needs a subscription with a fixed term',
};

function illegal(
  current: FromStatus,
  event: LifecycleEventType,
  reason: IllegalReason,
): TransitionResult {
  return {
    ok: false,
    error: {
      kind: 'illegal_transition',
      current,
      event,
      reason,
      message: `${event} ${MESSAGES[reason]} (status ${current})`,
    },
  };
}

/** The target of `event` from `from` in the table, or undefined when the pair is illegal. */
function targetOf(from: FromStatus, event: LifecycleEventType): Target | undefined {
  const row: Partial<Record<FromStatus, Target>> = TRANSITIONS[event];
  return row[from];
}

/** The times an event carries, each checked to be whole seconds in range. */
function assertTimes(event: LifecycleEvent): void {
  assertUnixSeconds(event.at, `${event.type}.at`);
  for (const key of ['periodEnd', 'trialEnd', 'termEnd', 'resumeAt'] as const) {
    const value = (event as Partial<Record<typeof key, UnixSeconds | null>>)[key];
    if (value !== undefined && value !== null) assertUnixSeconds(value, `${event.type}.${key}`);
  }
}

/** The guard of an event that the table allows: a reason to refuse it, or null. */
function guard(state: LifecycleState | null, event: LifecycleEvent): IllegalReason | null {
  const at = event.at;
  if (state && at < state.lastEventAt) return 'time_went_backwards';
  if ('periodEnd' in event && event.periodEnd !== undefined && event.periodEnd <= at) {
    return 'invalid_period';
  }
  if ('termEnd' in event && event.termEnd != null && event.termEnd <= at) return 'invalid_period';
  if (state === null) {
    return event.type === 'trial_started' && event.trialEnd <= at ? 'invalid_period' : null;
  }
  const termOver = state.termEnd !== null && at >= state.termEnd;
  const periodOver = state.periodEnd !== null && at >= state.periodEnd;
  switch (event.type) {
    case 'first_payment_retry_succeeded':
      return at >= state.since + INCOMPLETE_EXPIRY_SECONDS ? 'incomplete_expired' : null;
    case 'incomplete_expired':
      return at < state.since + INCOMPLETE_EXPIRY_SECONDS ? 'too_early' : null;
    case 'trial_ended_paid':
    case 'trial_ended_no_method':
    case 'trial_ended_payment_failed':
      return state.cancelAtPeriodEnd ? 'cancel_scheduled' : null;
    case 'renewal_paid':
    case 'renewal_failed':
      if (termOver) return 'term_ended';
      if (state.cancelAtPeriodEnd) return 'cancel_scheduled';
      return periodOver ? null : 'too_early';
    case 'pause':
      if (state.cancelAtPeriodEnd) return 'cancel_scheduled';
      if (termOver) return 'term_ended';
      if (event.resumeAt !== null && event.resumeAt <= at) return 'invalid_resume_date';
      if (event.resumeAt !== null && state.termEnd !== null && event.resumeAt >= state.termEnd) {
        return 'resume_after_term_end';
      }
      return null;
    case 'resume':
      return termOver ? 'term_ended' : null;
    case 'cancel_at_period_end':
      return periodOver ? 'period_ended' : null;
    case 'reactivate':
      if (!state.cancelAtPeriodEnd) return 'not_scheduled';
      return periodOver ? 'period_ended' : null;
    case 'period_end_with_cancel':
      if (!state.cancelAtPeriodEnd) return 'not_scheduled';
      return periodOver ? null : 'too_early';
    case 'term_ended':
      if (state.termEnd === null) return 'no_term';
      return termOver ? null : 'too_early';
    default:
      return null;
  }
}

/** The period end after `event`: the one it starts, else the one before it. */
function nextPeriodEnd(state: LifecycleState | null, event: LifecycleEvent): UnixSeconds | null {
  if (event.type === 'trial_started') return event.trialEnd;
  if (event.type === 'checkout_failed') return null;
  if ('periodEnd' in event && event.periodEnd !== undefined) return event.periodEnd;
  return state?.periodEnd ?? null;
}

/** Where the table sends `event` from `state`: a status, the same one, or the event's `to`. */
function statusAfter(
  state: LifecycleState | null,
  event: LifecycleEvent,
  target: Target,
): SubscriptionStatus {
  if (target === 'same' && state) return state.status;
  if (target === 'configured') {
    if (event.type === 'dunning_exhausted' && DUNNING_END_STATES.includes(event.to)) {
      return event.to;
    }
    if (event.type === 'trial_ended_no_method' && TRIAL_NO_METHOD_END_STATES.includes(event.to)) {
      return event.to;
    }
    throw new RangeError(`${event.type} needs a configured end state ("to")`);
  }
  if (target === 'same') {
    throw new RangeError(`${event.type} has no status to keep`); // the table has no such row
  }
  return target;
}

/**
 * Applies `event` to a subscription in `state` (`null` before its first event): the next state,
 * or the refusal with the current status, the event and why. Pure; never throws for a refused
 * event, only (a `RangeError`) for a time that is not whole seconds in range.
 */
export function transition(state: LifecycleState | null, event: LifecycleEvent): TransitionResult {
  assertTimes(event);
  const from: FromStatus = state?.status ?? NOT_CREATED;
  const target = targetOf(from, event.type);
  if (target === undefined) return illegal(from, event.type, 'not_allowed_in_status');
  const reason = guard(state, event);
  if (reason) return illegal(from, event.type, reason);

  const status = statusAfter(state, event, target);
  const since = state && state.status === status ? state.since : event.at;
  const termEnd =
    state === null ? ('termEnd' in event ? (event.termEnd ?? null) : null) : state.termEnd;
  let cancelAtPeriodEnd = state?.cancelAtPeriodEnd ?? false;
  if (event.type === 'cancel_at_period_end') cancelAtPeriodEnd = true;
  if (event.type === 'reactivate') cancelAtPeriodEnd = false;
  const billingIssue = status === 'past_due';
  const next: LifecycleState = {
    status,
    since,
    lastEventAt: event.at,
    periodEnd: nextPeriodEnd(state, event),
    termEnd,
    cancelAtPeriodEnd,
    billingIssue,
    resumeAt:
      status !== 'paused'
        ? null
        : event.type === 'pause'
          ? event.resumeAt
          : (state?.resumeAt ?? null),
  };
  return { ok: true, state: next, billingIssueRaised: billingIssue && !state?.billingIssue };
}

/** {@link transition}, throwing an {@link IllegalTransitionError} for a refused event. */
export function transitionOrThrow(
  state: LifecycleState | null,
  event: LifecycleEvent,
): LifecycleState {
  const result = transition(state, event);
  if (!result.ok) throw new IllegalTransitionError(result.error);
  return result.state;
}

export function isTerminal(status: SubscriptionStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** The events the table allows in `status` (before their guards), e.g. for an API's hints. */
export function eventsAllowedIn(status: FromStatus): LifecycleEventType[] {
  return (Object.keys(TRANSITIONS) as LifecycleEventType[]).filter(
    (type) => targetOf(status, type) !== undefined,
  );
}

/** When an `incomplete` subscription expires; null in any other status. */
export function incompleteExpiresAt(state: LifecycleState): UnixSeconds | null {
  return state.status === 'incomplete' ? state.since + INCOMPLETE_EXPIRY_SECONDS : null;
}

/** True when a paused subscription's automatic resume is due at `now`. */
export function autoResumeDue(state: LifecycleState, now: UnixSeconds): boolean {
  return state.status === 'paused' && state.resumeAt !== null && now >= state.resumeAt;
}
