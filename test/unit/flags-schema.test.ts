import { describe, expect, it } from 'vitest';
import {
  FlagDefinitionSchema,
  FlagSchema,
  flagDefinitionSchema,
  SegmentDefinitionSchema,
  SegmentSchema,
} from '../../src/flags';
import {
  MAX_CLAUSE_VALUES,
  MAX_CLAUSES_PER_RULE,
  MAX_DEFINITION_BYTES,
  MAX_JSON_DEPTH,
  MAX_RULES,
  MAX_VARIATION_BYTES,
  MAX_VARIATIONS,
} from '../../src/flags/limits';

type Json = Record<string, unknown>;

function definition(overrides: Json = {}): Json {
  return {
    variations: [true, false],
    offVariation: 1,
    rules: [],
    fallthrough: { variation: 0 },
    ...overrides,
  };
}

const half = (variation: number) => ({ variation, weight: 50_000 });

/** `path: message` of every issue, for compact assertions. */
function issues(
  schema: { safeParse(v: unknown): { success: boolean; error?: unknown } },
  value: unknown,
): string[] {
  const result = schema.safeParse(value);
  if (result.success) return [];
  const error = result.error as { issues: { path: PropertyKey[]; message: string }[] };
  return error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`);
}

describe('FlagDefinitionSchema', () => {
  it('accepts a full definition and fills the defaults', () => {
    const parsed = FlagDefinitionSchema.parse({
      variations: ['control', 'annual-first'],
      variationNames: ['control', 'treatment'],
      offVariation: 0,
      rules: [
        {
          id: 'beta',
          clauses: [
            { attribute: 'country', operator: 'in', values: ['DE'] },
            { operator: 'segmentMatch', values: ['beta-testers'], negate: true },
            { attribute: 'appVersion', operator: 'semverGreaterThan', values: ['5.2.0-rc.1'] },
          ],
          variation: 1,
        },
      ],
      fallthrough: { rollout: { variations: [half(0), half(1)], bucketBy: 'companyId' } },
      salt: 'x1',
      experiment: true,
      description: 'annual plan first on the paywall',
    });
    expect(parsed.rules[0]?.clauses[0]?.negate).toBe(false);
    expect(FlagDefinitionSchema.parse(definition())).toMatchObject({
      salt: '',
      experiment: false,
      rules: [],
    });
    expect(
      FlagDefinitionSchema.parse({
        variations: [1],
        offVariation: 0,
        fallthrough: { variation: 0 },
      }).rules,
    ).toEqual([]);
  });

  it('checks that every variation index is in range', () => {
    expect(
      issues(
        FlagDefinitionSchema,
        definition({
          offVariation: 2,
          rules: [{ clauses: [], variation: 5 }],
          fallthrough: { rollout: { variations: [half(0), half(9)] } },
        }),
      ),
    ).toEqual([
      'offVariation: no variation 2 (there are 2)',
      'fallthrough.rollout.variations.1.variation: no variation 9 (there are 2)',
      'rules.0.variation: no variation 5 (there are 2)',
    ]);
  });

  it('requires rollout weights to sum to 100000', () => {
    expect(
      issues(
        FlagDefinitionSchema,
        definition({
          fallthrough: { rollout: { variations: [half(0), { variation: 1, weight: 40_000 }] } },
        }),
      ),
    ).toEqual(['fallthrough.rollout.variations: weights must sum to 100000, got 90000']);
    expect(
      issues(
        FlagDefinitionSchema,
        definition({
          fallthrough: { rollout: { variations: [{ variation: 0, weight: 100_001 }] } },
        }),
      ),
    ).toHaveLength(2);
  });

  it('requires exactly one of variation and rollout', () => {
    expect(issues(FlagDefinitionSchema, definition({ fallthrough: {} }))).toEqual([
      'fallthrough: set exactly one of variation, rollout',
    ]);
    expect(
      issues(
        FlagDefinitionSchema,
        definition({
          rules: [{ clauses: [], variation: 0, rollout: { variations: [half(0), half(1)] } }],
        }),
      ),
    ).toEqual(['rules.0: set exactly one of variation, rollout']);
  });

  it('rejects unknown fields, including the columns the publisher spreads over', () => {
    expect(issues(FlagDefinitionSchema, definition({ enabled: false }))).toEqual([
      ': Unrecognized key: "enabled"',
    ]);
    expect(
      issues(
        FlagDefinitionSchema,
        definition({
          rules: [{ clauses: [{ attribute: 'a', op: 'in', values: [] }], variation: 0 }],
        }),
      ),
    ).toContain('rules.0.clauses.0: Unrecognized key: "op"');
  });

  it('checks clause values against the operator', () => {
    const rule = (clause: Json) => definition({ rules: [{ clauses: [clause], variation: 0 }] });
    expect(
      issues(
        FlagDefinitionSchema,
        rule({ attribute: 'age', operator: 'lessThan', values: ['18'] }),
      ),
    ).toEqual(['rules.0.clauses.0.values.0: lessThan takes numbers']);
    expect(
      issues(FlagDefinitionSchema, rule({ attribute: 'p', operator: 'startsWith', values: [1] })),
    ).toEqual(['rules.0.clauses.0.values.0: startsWith takes strings']);
    expect(
      issues(
        FlagDefinitionSchema,
        rule({ attribute: 'v', operator: 'semverEq', values: ['1.2.3', 'x'] }),
      ),
    ).toEqual(['rules.0.clauses.0.values.1: not a semantic version']);
    expect(issues(FlagDefinitionSchema, rule({ operator: 'in', values: ['x'] }))).toEqual([
      'rules.0.clauses.0.attribute: required for this operator',
    ]);
    // A bad pattern is allowed (it never matches), as the issue asks.
    expect(
      issues(FlagDefinitionSchema, rule({ attribute: 'x', operator: 'matches', values: ['(['] })),
    ).toEqual([]);
  });

  it('checks variation names and rule ids', () => {
    expect(issues(FlagDefinitionSchema, definition({ variationNames: ['a'] }))).toEqual([
      'variationNames: needs one name per variation (2)',
    ]);
    expect(issues(FlagDefinitionSchema, definition({ variationNames: ['a', 'a'] }))).toEqual([
      'variationNames: names must be unique',
    ]);
    expect(
      issues(
        FlagDefinitionSchema,
        definition({
          rules: [
            { id: 'r', clauses: [], variation: 0 },
            { id: 'r', clauses: [], variation: 1 },
          ],
        }),
      ),
    ).toEqual(['rules.1.id: duplicate rule id']);
  });
});

describe('flagDefinitionSchema(valueType)', () => {
  it('checks variations against the value type', () => {
    expect(issues(flagDefinitionSchema('boolean'), definition())).toEqual([]);
    expect(issues(flagDefinitionSchema('string'), definition({ variations: ['a', 1] }))).toEqual([
      'variations.1: expected string',
    ]);
    expect(issues(flagDefinitionSchema('number'), definition({ variations: [1, true] }))).toEqual([
      'variations.1: expected number',
    ]);
    expect(
      issues(flagDefinitionSchema('json'), definition({ variations: [{ a: [1] }, null] })),
    ).toEqual([]);
  });

  it('returns one schema per value type', () => {
    expect(flagDefinitionSchema('string')).toBe(flagDefinitionSchema('string'));
  });
});

describe('FlagSchema', () => {
  const snapshotFlag = (overrides: Json = {}) => ({
    key: 'new-checkout',
    valueType: 'boolean',
    enabled: true,
    version: 2,
    scope: 'storefront',
    ...definition(),
    ...overrides,
  });

  it('accepts what the publisher writes: columns plus the definition', () => {
    expect(FlagSchema.parse(snapshotFlag())).toMatchObject({
      key: 'new-checkout',
      scope: 'storefront',
      salt: '',
    });
  });

  it('checks the variations against the valueType column', () => {
    expect(issues(FlagSchema, snapshotFlag({ valueType: 'number' }))).toEqual([
      'variations.0: expected number',
      'variations.1: expected number',
    ]);
  });

  it('restricts keys to URL- and label-safe characters', () => {
    expect(issues(FlagSchema, snapshotFlag({ key: '__proto__' }))).toHaveLength(1);
    expect(issues(FlagSchema, snapshotFlag({ key: 'checkout.v2_beta-1' }))).toEqual([]);
  });
});

describe('SegmentSchema', () => {
  it('defaults the lists', () => {
    expect(SegmentSchema.parse({ key: 'beta' })).toEqual({
      key: 'beta',
      included: [],
      excluded: [],
      rules: [],
    });
  });

  it('accepts what the publisher writes: key, version and the definition', () => {
    expect(SegmentSchema.parse({ key: 'beta', version: 2, included: ['cus_1'] })).toMatchObject({
      key: 'beta',
      version: 2,
      included: ['cus_1'],
    });
  });

  it('the stored definition cannot carry the key or version columns', () => {
    expect(issues(SegmentDefinitionSchema, { included: ['cus_1'], key: 'x', version: 3 })).toEqual([
      ': Unrecognized keys: "key", "version"',
    ]);
    expect(
      issues(SegmentDefinitionSchema, { rules: [{ operator: 'segmentMatch', values: ['t'] }] }),
    ).toEqual(['rules.0.operator: segments cannot reference segments']);
  });

  it('does not let a segment reference segments', () => {
    expect(
      issues(SegmentSchema, { key: 's', rules: [{ operator: 'segmentMatch', values: ['t'] }] }),
    ).toEqual(['rules.0.operator: segments cannot reference segments']);
  });
});

describe('bounds (a flag cannot cost every evaluation, or the tenant its publishing)', () => {
  const write = flagDefinitionSchema('json');
  const columns = { key: 'f', valueType: 'json', enabled: true, version: 1 };

  it('refuses a variation larger than 8 KiB, saying by how much', () => {
    const big = 'x'.repeat(MAX_VARIATION_BYTES); // + 2 quotes once serialized
    expect(issues(write, definition({ variations: [big, 'ok'] }))).toEqual([
      'variations.0: 8,194 bytes serialized; the limit is 8,192 (over by 2)',
    ]);
    expect(issues(write, definition({ variations: [big.slice(2), 'ok'] }))).toEqual([]);
    // UTF-8 bytes, not UTF-16 units: 3,000 × "€" is 9,002 bytes.
    expect(issues(write, definition({ variations: ['€'.repeat(3000), 'ok'] }))[0]).toContain(
      '9,002 bytes',
    );
  });

  it('refuses a definition larger than 32 KiB in all', () => {
    const variations = Array.from({ length: 5 }, (_, i) => `${i}${'x'.repeat(7000)}`);
    const [problem, ...rest] = issues(write, definition({ variations }));
    expect(rest).toEqual([]);
    expect(problem).toMatch(
      /^: the definition is too large: 35,\d{3} bytes serialized; the limit is 32,768 \(over by 2,\d{3}\)$/,
    );
    expect(MAX_DEFINITION_BYTES).toBe(32_768);
  });

  it('bounds JSON nesting at 32 levels without overflowing the stack on 100,000', () => {
    const nest = (depth: number) => {
      let v: unknown = 'leaf';
      for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { v };
      return v;
    };
    expect(issues(write, definition({ variations: [nest(MAX_JSON_DEPTH), 1] }))).toEqual([]);
    for (const depth of [MAX_JSON_DEPTH + 1, 3_000, 100_000]) {
      expect(issues(write, definition({ variations: [nest(depth), 1] }))).toEqual([
        'variations.0: nested deeper than 32 levels',
      ]);
      // The reader refuses it too (the engine reports PARSE_ERROR instead of overflowing).
      expect(
        issues(FlagSchema, { ...definition({ variations: [nest(depth), 1] }), ...columns }),
      ).toEqual(['variations.0: nested deeper than 32 levels']);
    }
  });

  it('only JSON values: finite numbers, plain objects', () => {
    expect(issues(write, definition({ variations: [Number.NaN, 1] }))).toEqual([
      'variations.0: numbers must be finite',
    ]);
    expect(issues(write, definition({ variations: [new Date(0), 1] }))).toEqual([
      'variations.0: not a plain JSON object',
    ]);
  });

  it('bounds the number of variations, rules, clauses and values', () => {
    const many = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));
    expect(
      issues(write, definition({ variations: many(MAX_VARIATIONS + 1, (i) => i) }))[0],
    ).toMatch(/^variations: Too big/);
    const rule = (clauses: unknown[]) => ({ clauses, variation: 0 });
    const inClause = (values: unknown[]) => ({ attribute: 'a', operator: 'in', values });
    expect(issues(write, definition({ rules: many(MAX_RULES + 1, () => rule([])) }))[0]).toMatch(
      /^rules: Too big/,
    );
    expect(
      issues(
        write,
        definition({ rules: [rule(many(MAX_CLAUSES_PER_RULE + 1, () => inClause(['x'])))] }),
      )[0],
    ).toMatch(/^rules\.0\.clauses: Too big/);
    expect(
      issues(
        write,
        definition({ rules: [rule([inClause(many(MAX_CLAUSE_VALUES + 1, (i) => `v${i}`))])] }),
      )[0],
    ).toMatch(/^rules\.0\.clauses\.0\.values: Too big/);
  });

  it('refuses matches patterns outside the linear-time subset, naming the clause', () => {
    const withPattern = (...values: string[]) =>
      definition({
        rules: [{ clauses: [{ attribute: 'email', operator: 'matches', values }], variation: 0 }],
      });
    expect(issues(write, withPattern('^cus_[0-9]+$', '@azotte\\.com$'))).toEqual([]);
    expect(issues(write, withPattern('ok', '(?=a)'))).toEqual([
      'rules.0.clauses.0.values.1: pattern not supported: lookahead is not supported (at character 0)',
    ]);
    expect(issues(write, withPattern('(a)\\1'))[0]).toContain('backreferences are not supported');
    expect(issues(write, withPattern('a'.repeat(257)))[0]).toContain('longer than 256');
    // Together, a flag's patterns are bounded too (what one evaluation may cost).
    const heavy = '[a-z]{1,100}[0-9]{1,100}x'; // 402 instructions
    expect(issues(write, withPattern(heavy, heavy))).toEqual([]);
    expect(issues(write, withPattern(heavy, heavy, heavy))[0]).toMatch(
      /^rules\.0\.clauses\.0\.values\.2: the patterns of this flag are too complex together: 1,2\d\d matcher instructions; the limit is 1,024/,
    );
    // Segments are checked the same way.
    expect(
      issues(SegmentDefinitionSchema, {
        rules: [{ attribute: 'email', operator: 'matches', values: ['(?<=x)y'] }],
      })[0],
    ).toContain('rules.0.values.0: pattern not supported: lookbehind');
  });

  it('the reader does not refuse stored patterns: they never match instead', () => {
    expect(
      issues(FlagSchema, {
        ...columns,
        ...definition({
          rules: [
            { clauses: [{ attribute: 'a', operator: 'matches', values: ['(?=a)'] }], variation: 0 },
          ],
        }),
      }),
    ).toEqual([]);
  });
});

describe('offVariation', () => {
  it('is optional; when given it must be in range', () => {
    const { offVariation: _, ...withoutOff } = definition();
    expect(issues(flagDefinitionSchema('boolean'), withoutOff)).toEqual([]);
    expect(FlagDefinitionSchema.parse(withoutOff).offVariation).toBeUndefined();
    expect(issues(FlagDefinitionSchema, definition({ offVariation: 2 }))).toEqual([
      'offVariation: no variation 2 (there are 2)',
    ]);
  });
});
