import { describe, expect, it } from 'vitest';
import { compileSafeRegex } from '../../src/flags/regex';

describe('compileSafeRegex: compile work is bounded too', () => {
  it('nested repetitions of empty bodies compile at once (they emit nothing)', () => {
    for (const pattern of [
      '(((){100}){100}){100}',
      '((((){100}){100}){100}){100}',
      '(((((){100}){100}){100}){100}){100}',
      '((((((){100}){100}){100}){100}){100}){100}',
      '((((((a{0}){100}){100}){100}){100}){100})b',
    ]) {
      // Before: exponential in the nesting (5 levels 0.6 s, 6 levels past the test timeout).
      const compiled = compileSafeRegex(pattern);
      expect(compiled.ok, pattern).toBe(true);
      if (compiled.ok) expect(compiled.regex.test('b')).toBe(new RegExp(pattern).test('b'));
    }
  });

  it('nested repetitions that do emit are refused as too complex, quickly', () => {
    const compiled = compileSafeRegex('((((a{100}){100}){100}){100}){100}');
    expect(compiled.ok).toBe(false);
  });
});

describe('compileSafeRegex: what JavaScript refuses, it refuses', () => {
  it('a group name used twice', () => {
    const twice = ['(?<a>x)', '(?<a>y)'].join('');
    expect(() => new RegExp(twice)).toThrow();
    expect(compileSafeRegex(twice).ok).toBe(false);
    expect(compileSafeRegex('(?<a>x)(?<b>y)').ok).toBe(true);
  });
});
