import {
  MAX_CLOCK_SUBSCRIPTIONS,
  type TestClockContract,
  type TestClockState,
} from '../src/contracts/test-clock';
import type { UnixSeconds } from '../src/subscriptions/time';
import { StatefulDurableObject } from './base';

/** Actions one advance fires at most (100 daily subscriptions over two years would be 73,000). */
const MAX_FIRED_PER_ADVANCE = 5_000;

/**
 * A test clock (named by its id): a frozen time that only an advance moves, and the
 * subscriptions on it, which never set billing alarms of their own. An advance asks each
 * subscription when its next action is due and fires them across the clock in time order —
 * always the earliest next — so a renewal of one and a retry of another happen in the order
 * they would have in real time. Advances run one at a time.
 */
export class TestClockDurableObject extends StatefulDurableObject implements TestClockContract {
  private state: TestClockState | null | undefined;

  private async load(): Promise<TestClockState | null> {
    if (this.state === undefined) {
      this.state = (await this.ctx.storage.get<TestClockState>('clock')) ?? null;
    }
    return this.state;
  }

  private async store(state: TestClockState): Promise<void> {
    await this.ctx.storage.put('clock', state);
    this.state = state;
  }

  async create(init: Omit<TestClockState, 'subscriptions'>): Promise<TestClockState> {
    const current = await this.load();
    if (current) return current;
    const state = { ...init, subscriptions: [] };
    await this.store(state);
    return state;
  }

  async get(): Promise<TestClockState | null> {
    return this.load();
  }

  async attach(subscriptionId: string): Promise<UnixSeconds | null> {
    return this.serialized(async () => {
      const state = await this.load();
      if (!state) return null;
      if (state.subscriptions.includes(subscriptionId)) return state.frozenTime;
      if (state.subscriptions.length >= MAX_CLOCK_SUBSCRIPTIONS) return null;
      await this.store({ ...state, subscriptions: [...state.subscriptions, subscriptionId] });
      return state.frozenTime;
    });
  }

  async advance(to: UnixSeconds): Promise<{ state: TestClockState; fired: number }> {
    return this.serialized(async () => {
      const state = await this.load();
      if (!state) throw new Error('no such test clock');
      if (to <= state.frozenTime) return { state, fired: 0 };
      const sub = (id: string) => this.env.SUBSCRIPTION.get(this.env.SUBSCRIPTION.idFromName(id));
      const due = new Map<string, UnixSeconds | null>();
      for (const id of state.subscriptions) due.set(id, await sub(id).nextDue());
      let fired = 0;
      let reached = to;
      for (;;) {
        if (fired >= MAX_FIRED_PER_ADVANCE) {
          // Bounded work per call: the clock stops where it got to; advance again for the rest.
          reached = Math.min(...[...due.values()].filter((t): t is number => t !== null), to) - 1;
          break;
        }
        // The earliest action across the clock, by then.
        let next: { id: string; at: UnixSeconds } | null = null;
        for (const [id, at] of due) {
          if (at !== null && at <= to && (next === null || at < next.at)) next = { id, at };
        }
        if (!next) break;
        const step = await sub(next.id).advanceTo(next.at);
        fired += step.fired;
        due.set(next.id, step.nextDue);
        if (step.fired === 0 && step.nextDue !== null && step.nextDue <= next.at) {
          due.set(next.id, null); // it cannot act now (it will at the final move): no busy loop
        }
      }
      reached = Math.max(reached, state.frozenTime);
      for (const id of state.subscriptions) fired += (await sub(id).advanceTo(reached)).fired;
      const moved = { ...state, frozenTime: reached };
      await this.store(moved);
      return { state: moved, fired };
    });
  }
}
