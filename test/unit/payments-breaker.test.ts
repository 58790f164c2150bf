import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  admit,
  type BreakerObservation,
  type BreakerState,
  breakerSignal,
  breakerStatus,
  DEFAULT_BREAKER_OPTIONS,
  initialBreakerState,
  isOpen,
  record,
} from '../../src/payments/breaker';

const err: BreakerObservation = { status: 'error' };
const timeout: BreakerObservation = { status: 'unknown' };
const ok: BreakerObservation = { status: 'captured' };
const decline: BreakerObservation = { status: 'declined' };

function fold(events: [BreakerObservation, number][], start = initialBreakerState()): BreakerState {
  return events.reduce((s, [o, t]) => record(s, o, t), start);
}

describe('breaker', () => {
  it('classifies outcomes', () => {
    expect(breakerSignal(err)).toBe('failure');
    expect(breakerSignal(timeout)).toBe('failure');
    expect(breakerSignal({ status: 'captured', lookedUp: true })).toBe('failure');
    expect(breakerSignal(ok)).toBe('success');
    expect(breakerSignal(decline)).toBe('success');
    expect(breakerSignal({ status: 'failed' })).toBe('neutral');
  });

  it('opens after 5 failures within 60 s, not 4', () => {
    const four = fold([0, 1000, 2000, 3000].map((t) => [err, t]));
    expect(four.status).toBe('closed');
    expect(isOpen(four, 3000)).toBe(false);
    const five = record(four, timeout, 59_999);
    expect(five.status).toBe('open');
    expect(isOpen(five, 59_999)).toBe(true);
  });

  it('failures older than the window do not count', () => {
    const s = fold([0, 1000, 2000, 3000, 60_000].map((t) => [err, t]));
    expect(s.status).toBe('closed');
    expect(s.failures).toEqual([1000, 2000, 3000, 60_000]);
  });

  it('issuer declines and successes never count, and do not reset the count', () => {
    const declines = fold(Array.from({ length: 50 }, (_, i) => [decline, i]));
    expect(declines).toEqual(initialBreakerState());
    const mixed = fold([
      [err, 0],
      [ok, 1],
      [err, 2],
      [decline, 3],
      [err, 4],
      [{ status: 'failed' }, 5],
      [err, 6],
      [err, 7],
    ]);
    expect(mixed.status).toBe('open');
  });

  it('open → half-open after 30 s; one probe; success closes', () => {
    const open = fold([0, 1, 2, 3, 4].map((t) => [err, t]));
    expect(breakerStatus(open, 30_003)).toBe('open');
    expect(admit(open, 30_003).allowed).toBe(false);
    expect(breakerStatus(open, 30_004)).toBe('half_open');
    expect(isOpen(open, 30_004)).toBe(false);
    const probe = admit(open, 30_004);
    expect(probe.allowed).toBe(true);
    expect(isOpen(probe.state, 30_005)).toBe(true);
    expect(admit(probe.state, 30_005).allowed).toBe(false);
    const closed = record(probe.state, decline, 30_100);
    expect(closed).toEqual(initialBreakerState());
  });

  it('a failed probe re-opens for a new cool-down', () => {
    const open = fold([0, 1, 2, 3, 4].map((t) => [err, t]));
    const { state } = admit(open, 40_000);
    const again = record(state, err, 40_500);
    expect(again).toMatchObject({ status: 'open', openedAt: 40_500 });
    expect(isOpen(again, 70_499)).toBe(true);
    expect(isOpen(again, 70_500)).toBe(false);
  });

  it('a neutral probe frees the slot; a lost probe is presumed lost after 10 s', () => {
    const open = fold([0, 1, 2, 3, 4].map((t) => [err, t]));
    const { state } = admit(open, 40_000);
    const freed = record(state, { status: 'failed' }, 40_100);
    expect(admit(freed, 40_100).allowed).toBe(true);
    expect(admit(state, 49_999).allowed).toBe(false);
    expect(admit(state, 50_000).allowed).toBe(true);
  });

  it('results arriving while open are ignored', () => {
    const open = fold([0, 1, 2, 3, 4].map((t) => [err, t]));
    expect(record(open, ok, 100)).toBe(open);
    expect(record(open, err, 100)).toBe(open);
  });

  it('state survives JSON and is never mutated', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom<BreakerObservation['status']>(
              'captured',
              'declined',
              'error',
              'unknown',
              'failed',
            ),
            fc.integer({ min: 0, max: 20_000 }),
            fc.boolean(),
          ),
          { maxLength: 60 },
        ),
        (steps) => {
          let s = initialBreakerState();
          let now = 0;
          for (const [status, dt, ask] of steps) {
            now += dt;
            const before = JSON.stringify(s);
            if (ask) {
              const a = admit(s, now);
              expect(JSON.stringify(s)).toBe(before);
              // Admitted exactly when the read-only view says not open.
              expect(a.allowed).toBe(!isOpen(s, now));
              s = a.state;
            }
            const next = record(s, { status }, now);
            expect(JSON.parse(JSON.stringify(next))).toEqual(next);
            expect(next.failures.length).toBeLessThan(DEFAULT_BREAKER_OPTIONS.failureThreshold);
            s = next;
          }
        },
      ),
    );
  });
});
