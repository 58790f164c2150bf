import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareSemver, parseSemver, type SemVer } from '../../src/flags';

const parse = (s: string): SemVer => {
  const v = parseSemver(s);
  if (!v) throw new Error(`${s} should parse`);
  return v;
};

describe('parseSemver', () => {
  it('accepts app-store versions leniently', () => {
    expect(parseSemver('5.2.1')).toEqual({ major: 5, minor: 2, patch: 1, pre: [] });
    expect(parseSemver('v5')).toEqual({ major: 5, minor: 0, patch: 0, pre: [] });
    expect(parseSemver(' 5.02 ')).toEqual({ major: 5, minor: 2, patch: 0, pre: [] });
    expect(parseSemver('1.0.0-rc.1+build.5')).toEqual({
      major: 1,
      minor: 0,
      patch: 0,
      pre: ['rc', 1],
    });
  });

  it.each(['', 'five', '1.2.3.4', '1..2', '1.2.3-', '1.2.3-a..b', '-1.0.0', '1.2.3 (342)'])(
    'rejects %j',
    (s) => {
      expect(parseSemver(s)).toBeUndefined();
    },
  );
});

describe('compareSemver', () => {
  it('orders the semver.org §11 example chain', () => {
    const chain = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.1',
      '1.1.0',
      '2.0.0',
      '10.0.0',
    ].map(parse);
    for (let i = 1; i < chain.length; i++) {
      expect(compareSemver(chain[i - 1] as SemVer, chain[i] as SemVer)).toBeLessThan(0);
      expect(compareSemver(chain[i] as SemVer, chain[i - 1] as SemVer)).toBeGreaterThan(0);
    }
  });

  it('ignores build metadata', () => {
    expect(compareSemver(parse('1.2.3+a'), parse('1.2.3+b'))).toBe(0);
  });

  it('is antisymmetric on numeric versions', () => {
    const version = fc
      .tuple(fc.nat(50), fc.nat(50), fc.nat(50))
      .map(([a, b, c]) => parse(`${a}.${b}.${c}`));
    fc.assert(
      fc.property(version, version, (a, b) => {
        expect(Math.sign(compareSemver(a, b))).toBe(-Math.sign(compareSemver(b, a)));
      }),
    );
  });
});
