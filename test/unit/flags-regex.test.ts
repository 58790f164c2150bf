/**
 * The `matches` operator: linear-time whatever the pattern (no backtracking), in agreement with
 * JavaScript's RegExp on the supported subset, and refusing what it cannot do in linear time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFlags } from '../../src/flags';
import { MAX_MATCH_INPUT_LENGTH } from '../../src/flags/matchers';
import { compileSafeRegex, MAX_PATTERN_LENGTH, MAX_PROGRAM_SIZE } from '../../src/flags/regex';

/** A flag serving true when `attr` matches `pattern` (as the edge compiles a snapshot). */
function matchesFlag(pattern: string) {
  return compileFlags([
    {
      key: 'f',
      valueType: 'boolean',
      enabled: true,
      version: 1,
      variations: [false, true],
      offVariation: 0,
      rules: [
        { clauses: [{ attribute: 'attr', operator: 'matches', values: [pattern] }], variation: 1 },
      ],
      fallthrough: { variation: 0 },
    },
  ]);
}

function compiled(pattern: string) {
  const r = compileSafeRegex(pattern);
  if (!r.ok) throw new Error(`${pattern}: ${r.message}`);
  return r.regex;
}

/** Worst cases of backtracking engines, each with inputs that make them explode. */
const EVIL: [string, (n: number) => string][] = [
  ['^(a+)+$', (n) => `${'a'.repeat(n)}!`],
  ['(a|a)*b', (n) => 'a'.repeat(n)],
  ['(a*)*b', (n) => 'a'.repeat(n)],
  ['(.*a){20}', (n) => 'a'.repeat(n)],
  ['^(a|aa)+$', (n) => `${'a'.repeat(n)}!`],
  ['^(\\w+\\s?)*$', (n) => `${'a'.repeat(n)}!`],
  ['(x+x+)+y', (n) => 'x'.repeat(n)],
  ['^([a-z0-9]+)*@', (n) => 'a'.repeat(n)],
];

describe('matches clauses cannot hang the isolate', () => {
  // Sizes grow so that a backtracking engine fails the time bound at the small ones first
  // (rather than running for hours at 10,000).
  for (const [pattern, input] of EVIL) {
    it(`${pattern} through the engine, 12 to 10,000 characters`, () => {
      const ev = matchesFlag(pattern);
      for (const n of [12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 256, 1_024, 10_000]) {
        const start = performance.now();
        const r = ev.evaluate('f', { attr: input(n) }, false);
        const ms = performance.now() - start;
        expect(r.errorCode).toBeUndefined();
        expect(ms, `${pattern} on ${n} characters took ${ms.toFixed(1)} ms`).toBeLessThan(100);
      }
    });
  }

  it('the matcher itself is linear: 10,000 characters in milliseconds, beyond the input bound', () => {
    for (const [pattern, input] of EVIL) {
      const re = compiled(pattern);
      const start = performance.now();
      re.test(input(10_000));
      const ms = performance.now() - start;
      expect(ms, `${pattern}: ${ms.toFixed(1)} ms`).toBeLessThan(200);
    }
  });

  it('answers like RegExp on those patterns where RegExp is quick', () => {
    for (const [pattern, input] of EVIL) {
      const re = compiled(pattern);
      for (const s of [input(3), `${input(3)}b`, 'b', '', 'a@', 'xxy', 'aaaa']) {
        expect(re.test(s), `${pattern} on ${JSON.stringify(s)}`).toBe(new RegExp(pattern).test(s));
      }
    }
  });

  it('an input longer than the bound never matches, even `.*`', () => {
    const ev = matchesFlag('.*');
    expect(ev.evaluate('f', { attr: 'x'.repeat(MAX_MATCH_INPUT_LENGTH) }, false).value).toBe(true);
    const long = ev.evaluate('f', { attr: 'x'.repeat(MAX_MATCH_INPUT_LENGTH + 1) }, false);
    expect(long).toMatchObject({ value: false, reason: 'DEFAULT' });
  });

  it('a stored pattern outside the subset never matches at evaluation (it is not run by RegExp)', () => {
    // Written before patterns were validated: a backreference RegExp would backtrack on.
    const ev = matchesFlag('^(a+)+\\1$');
    const start = performance.now();
    const r = ev.evaluate('f', { attr: `${'a'.repeat(26)}!` }, false);
    expect(performance.now() - start).toBeLessThan(50);
    expect(r).toMatchObject({ value: false, reason: 'DEFAULT' });
  });
});

describe('compileSafeRegex', () => {
  it.each([
    ['(?=a)', 'lookahead'],
    ['(?!a)', 'lookahead'],
    ['(?<=a)b', 'lookbehind'],
    ['(?<!a)b', 'lookbehind'],
    ['(a)\\1', 'backreference'],
    ['(?<n>a)\\k<n>', 'backreference'],
    ['(?i)a', 'not supported'],
    ['\\u{61}', 'hexadecimal'],
    ['\\p{L}', 'unknown escape'],
    ['\\q', 'unknown escape'],
    ['\\01', 'octal'],
    ['[\\1]', 'octal'],
    ['[\\d-z]', 'class escape'],
    ['a{101}', 'may not exceed'],
    ['((a{50}){50})', 'too complex'],
    ['a**', 'nothing to repeat'],
    ['*a', 'nothing to repeat'],
    ['^*', 'nothing to repeat'],
    ['{2}', 'nothing to repeat'],
    ['a{3,2}', 'out of order'],
    ['[z-a]', 'out of order'],
    ['(a', 'unterminated'],
    ['a)', 'unmatched'],
    ['[a', 'unterminated'],
    ['\\', 'end of pattern'],
  ])('refuses %s (%s)', (pattern, message) => {
    const r = compileSafeRegex(pattern);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(message);
  });

  it('bounds the pattern length and the program size', () => {
    expect(compileSafeRegex('a'.repeat(MAX_PATTERN_LENGTH)).ok).toBe(true);
    const long = compileSafeRegex('a'.repeat(MAX_PATTERN_LENGTH + 1));
    expect(long.ok ? '' : long.message).toContain(`longer than ${MAX_PATTERN_LENGTH}`);
    expect(compiled('[a-z]{1,100}').size).toBeLessThanOrEqual(MAX_PROGRAM_SIZE);
    expect(compileSafeRegex('([a-z]{1,100}){3}').ok).toBe(false);
    // The worst program on the longest input the engine tests: milliseconds, not seconds.
    const worst = compiled(`${'(.?){100}'.repeat(2)}(a|.){25}x`);
    expect(worst.size).toBeGreaterThan(MAX_PROGRAM_SIZE * 0.9);
    const start = performance.now();
    expect(worst.test('a'.repeat(MAX_MATCH_INPUT_LENGTH))).toBe(false);
    expect(performance.now() - start).toBeLessThan(100);
  });

  it.each([
    ['^cus_[0-9]+$', 'cus_12', true],
    ['^cus_[0-9]+$', 'cus_x', false],
    ['@azotte\\.com$', 'ada@azotte.com', true],
    ['@azotte\\.com$', 'ada@azotteXcom', false],
    ['^(roku|tizen|webos)$', 'tizen', true],
    ['\\bpro\\b', 'the pro plan', true],
    ['\\bpro\\b', 'promo', false],
    ['\\Bro', 'promo', true],
    ['[^]', '', false],
    ['[^]', '\n', true],
    ['[]', 'a', false],
    ['.', '\n', false],
    ['.', '\u2028', false],
    ['\\s', '\u00a0', true],
    ['\\S', '\ufeff', false],
    ['x{2,3}', 'axxb', true],
    ['^x{2}$', 'xxx', false],
    ['a{', 'a{', true],
    ['a{,2}', 'a{,2}', true],
    ['}]', '}]', true],
    ['[\\b]', '\b', true],
    ['[\\-a]', '-', true],
    ['\\x41\\u00e9\\cJ', 'A\u00e9\n', true],
    ['(?<name>ab)+', 'abab', true],
    ['a+?b??', 'aab', true],
    ['', 'anything', true],
    ['^$', '', true],
    ['\\uD83D', '\uD83D\uDE00', true], // UTF-16 code units, as RegExp without the u flag
  ])('%s on %j → %s, as RegExp', (pattern, input, expected) => {
    expect(new RegExp(pattern).test(input)).toBe(expected);
    expect(compiled(pattern).test(input)).toBe(expected);
  });
});

/** Patterns of the supported subset, small enough for RegExp to answer quickly on short input. */
const ATOMS = [
  'a',
  'b',
  'c',
  '_',
  '-',
  ' ',
  '1',
  'é',
  '.',
  '\\.',
  '\\-',
  '\\d',
  '\\D',
  '\\w',
  '\\W',
  '\\s',
  '\\S',
  '[ab]',
  '[^a]',
  '[a-c]',
  '[^a-c1]',
  '[\\w-]',
  '[\\s\\d]',
  '[.]',
  '\\n',
  '\\x61',
  '\\u00e9',
];
const ASSERTIONS = ['^', '$', '\\b', '\\B'];
const QUANTIFIERS = ['*', '+', '?', '{0,2}', '{1}', '{2,}', '{1,3}', '*?', '+?', '??'];

const pattern: fc.Arbitrary<string> = fc.letrec<{ expr: string; term: string; seq: string }>(
  (tie) => ({
    expr: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      tie('seq'),
      fc.array(tie('seq'), { minLength: 2, maxLength: 3 }).map((alts) => alts.join('|')),
    ),
    seq: fc.array(tie('term'), { minLength: 1, maxLength: 4 }).map((terms) => terms.join('')),
    term: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom(...ATOMS),
      fc.constantFrom(...ASSERTIONS),
      fc.tuple(fc.constantFrom(...ATOMS), fc.constantFrom(...QUANTIFIERS)).map(([a, q]) => a + q),
      fc
        .tuple(
          fc.constantFrom('(', '(?:', '(?<g>'),
          tie('expr'),
          fc.constantFrom('', ...QUANTIFIERS),
        )
        .map(([open, inner, q]) => `${open}${inner})${q}`),
    ),
  }),
).expr;

const input = fc
  .array(fc.constantFrom('a', 'b', 'c', '1', '_', ' ', '-', '\n', '.', 'é'), { maxLength: 12 })
  .map((cs) => cs.join(''));

describe('agrees with RegExp (property)', () => {
  it('on random patterns of the subset and random inputs', () => {
    fc.assert(
      fc.property(pattern, fc.array(input, { minLength: 1, maxLength: 10 }), (p, inputs) => {
        // Named groups may repeat only once per pattern in JavaScript: rename them apart.
        let n = 0;
        const source = p.replaceAll('(?<g>', () => `(?<g${n++}>`);
        const js = new RegExp(source);
        const r = compileSafeRegex(source);
        if (!r.ok) {
          // Only the size bounds may refuse a pattern RegExp accepts.
          expect(r.message).toMatch(/too complex|longer than/);
          return;
        }
        for (const s of inputs)
          expect(r.regex.test(s), `${source} on ${JSON.stringify(s)}`).toBe(js.test(s));
      }),
      { numRuns: 1500 },
    );
  });
});
