import { describe, expect, it } from 'vitest';
import { requireMode } from '../../src/edge/key-mode';
import { ApiError, apiErrorBody } from '../../src/errors';

function refusal(fn: () => void): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('requireMode', () => {
  it('lets a key of the required mode through', () => {
    expect(requireMode({ kind: 'secret', mode: 'test' }, 'test', 'Test clocks')).toBeUndefined();
    expect(requireMode({ kind: 'publishable', mode: 'live' }, 'live', 'Live payments')).toBe(
      undefined,
    );
  });

  it('refuses a live key where only test mode is: 403 key_mode_mismatch naming the key to use', () => {
    const err = refusal(() => requireMode({ kind: 'secret', mode: 'live' }, 'test', 'Test clocks'));
    expect(err.code).toBe('key_mode_mismatch');
    expect(err.status).toBe(403);
    expect(err.message).toBe(
      'Test clocks are available only in test mode: this request used a live key (sk_live_…). ' +
        'Use a test key (sk_test_…).',
    );
    const body = apiErrorBody(err, '/v1/test-clocks', 'req_1');
    expect(body).toMatchObject({
      type: 'https://azotte.dev/problems/key_mode_mismatch',
      status: 403,
      keyMode: 'live',
      requiredMode: 'test',
    });
  });

  it('names the publishable prefixes for a publishable key, and works the other way round', () => {
    const sandbox = refusal(() =>
      requireMode({ kind: 'publishable', mode: 'live' }, 'test', 'Sandbox cards'),
    );
    expect(sandbox.message).toMatch(/^Sandbox cards are available only in test mode/);
    expect(sandbox.message).toContain('(pk_live_…)');
    expect(sandbox.message).toContain('Use a test key (pk_test_…)');
    const live = refusal(() =>
      requireMode({ kind: 'secret', mode: 'test' }, 'live', 'Real payment providers'),
    );
    expect(live.code).toBe('key_mode_mismatch');
    expect(live.message).toBe(
      'Real payment providers are available only in live mode: this request used a test key ' +
        '(sk_test_…). Use a live key (sk_live_…).',
    );
  });
});
