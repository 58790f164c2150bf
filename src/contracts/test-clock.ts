/**
 * The RPC contract of a test clock's object (durable-objects/test-clock.ts): one per clock,
 * named by its id. It holds the clock's time and the subscriptions on it, and moves them.
 */
import type { UnixSeconds } from '../subscriptions/time';

export interface TestClockState {
  id: string;
  tenantId: string;
  storefrontId: string;
  name: string | null;
  frozenTime: UnixSeconds;
  subscriptions: string[];
}

export interface TestClockContract extends Rpc.DurableObjectBranded {
  create(state: Omit<TestClockState, 'subscriptions'>): Promise<TestClockState>;
  get(): Promise<TestClockState | null>;
  /**
   * Puts a subscription on the clock (at most {@link MAX_CLOCK_SUBSCRIPTIONS}) and answers the
   * clock's time after any advance under way (null: full). The subscription starts at it.
   */
  attach(subscriptionId: string): Promise<UnixSeconds | null>;
  /**
   * Moves the clock to `to`: every renewal, trial end, dunning retry, expiry and resume due by
   * then, for every subscription on the clock, in time order. Answers when they are done.
   */
  advance(to: UnixSeconds): Promise<{ state: TestClockState; fired: number }>;
}

/** Subscriptions one clock may move (Stripe allows 3 customers per clock; we allow more). */
export const MAX_CLOCK_SUBSCRIPTIONS = 100;
/** One advance covers at most two years. */
export const MAX_CLOCK_ADVANCE_SECONDS = 2 * 366 * 86_400;
