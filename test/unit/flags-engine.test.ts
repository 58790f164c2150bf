import { describe, expect, it } from 'vitest';
import { compileFlags, type EvaluationContext } from '../../src/flags';

type Json = Record<string, unknown>;

/** A snapshot-shaped flag: on, boolean, serving `true` (variation 0) unless overridden. */
function flag(overrides: Json = {}): Json {
  return {
    key: 'f',
    valueType: 'boolean',
    enabled: true,
    version: 3,
    scope: 'tenant',
    salt: 'salt-1',
    variations: [true, false],
    offVariation: 1,
    rules: [],
    fallthrough: { variation: 0 },
    ...overrides,
  };
}

function clause(attribute: string, operator: string, values: unknown[], negate?: boolean): Json {
  return negate === undefined
    ? { attribute, operator, values }
    : { attribute, operator, values, negate };
}

const split5050 = {
  variations: [
    { variation: 0, weight: 50_000 },
    { variation: 1, weight: 50_000 },
  ],
};

/** Whether one clause matches `ctx` (rule serves true, fallthrough false). */
function matches(c: Json, ctx: EvaluationContext, segments: unknown[] = []): boolean {
  const ev = compileFlags(
    [flag({ rules: [{ clauses: [c], variation: 0 }], fallthrough: { variation: 1 } })],
    segments,
  );
  expect(ev.problems).toEqual([]);
  const r = ev.evaluate('f', ctx, false);
  expect(r.errorCode).toBeUndefined();
  return r.value;
}

describe('clause operators', () => {
  it.each([
    ['in: listed', clause('country', 'in', ['DE', 'FR']), { country: 'FR' }, true],
    ['in: not listed', clause('country', 'in', ['DE', 'FR']), { country: 'US' }, false],
    ['in: attribute missing', clause('country', 'in', ['DE']), {}, false],
    ['in: compares string forms (number attr)', clause('tier', 'in', ['5']), { tier: 5 }, true],
    ['in: compares string forms (number value)', clause('tier', 'in', [5]), { tier: '5' }, true],
    ['in: boolean custom attribute', clause('beta', 'in', [true]), { beta: true }, true],
    ['in: empty list', clause('country', 'in', []), { country: 'DE' }, false],
    ['notIn: not listed', clause('country', 'notIn', ['DE']), { country: 'US' }, true],
    ['notIn: listed', clause('country', 'notIn', ['DE']), { country: 'DE' }, false],
    ['notIn: attribute missing never matches', clause('country', 'notIn', ['DE']), {}, false],
    ['startsWith', clause('platform', 'startsWith', ['and', 'ios']), { platform: 'ios-17' }, true],
    ['startsWith: no', clause('platform', 'startsWith', ['ios']), { platform: 'android' }, false],
    ['endsWith', clause('email', 'endsWith', ['@azotte.com']), { email: 'a@azotte.com' }, true],
    ['endsWith: no', clause('email', 'endsWith', ['@azotte.com']), { email: 'a@x.com' }, false],
    ['contains', clause('campaign', 'contains', ['sale']), { campaign: 'summer-sale-26' }, true],
    ['contains: no', clause('campaign', 'contains', ['sale']), { campaign: 'winter' }, false],
    [
      'matches',
      clause('targetingKey', 'matches', ['^cus_[0-9]+$']),
      { targetingKey: 'cus_12' },
      true,
    ],
    [
      'matches: no',
      clause('targetingKey', 'matches', ['^cus_[0-9]+$']),
      { targetingKey: 'cus_x' },
      false,
    ],
    ['matches: bad regex never matches', clause('x', 'matches', ['([']), { x: '([' }, false],
    [
      'matches: bad regex next to a good one',
      clause('x', 'matches', ['([', '^a']),
      { x: 'ab' },
      true,
    ],
    ['matches: numbers are tested as strings', clause('n', 'matches', ['^4\\d$']), { n: 42 }, true],
    ['lessThan', clause('age', 'lessThan', [18]), { age: 17 }, true],
    ['lessThan: equal is not less', clause('age', 'lessThan', [18]), { age: 18 }, false],
    ['lessThan: numeric string attribute', clause('age', 'lessThan', [18]), { age: '17' }, true],
    ['lessThan: non-numeric attribute', clause('age', 'lessThan', [18]), { age: 'young' }, false],
    ['lessThan: any value (OR)', clause('age', 'lessThan', [10, 20]), { age: 15 }, true],
    ['lessThan: boolean attribute', clause('age', 'lessThan', [18]), { age: true }, false],
    ['greaterThan', clause('orders', 'greaterThan', [3]), { orders: 4 }, true],
    ['greaterThan: no', clause('orders', 'greaterThan', [3]), { orders: 3 }, false],
    ['greaterThan: any value (OR)', clause('orders', 'greaterThan', [10, 2]), { orders: 5 }, true],
  ] as const)('%s', (_name, c, ctx, expected) => {
    expect(matches(c, ctx)).toBe(expected);
  });

  it('negate inverts a present attribute but a missing one still never matches', () => {
    const c = clause('country', 'in', ['DE'], true);
    expect(matches(c, { country: 'US' })).toBe(true);
    expect(matches(c, { country: 'DE' })).toBe(false);
    expect(matches(c, {})).toBe(false);
  });

  it('treats non-scalar context values as missing', () => {
    const ctx = { country: { code: 'DE' } } as unknown as EvaluationContext;
    expect(matches(clause('country', 'in', ['[object Object]']), ctx)).toBe(false);
    // Inherited properties are not attributes either.
    expect(matches(clause('toString', 'contains', ['function']), {})).toBe(false);
  });

  it('reads targetingKey and customerId as aliases of each other', () => {
    expect(matches(clause('customerId', 'in', ['cus_1']), { targetingKey: 'cus_1' })).toBe(true);
    expect(matches(clause('targetingKey', 'in', ['cus_1']), { customerId: 'cus_1' })).toBe(true);
    expect(
      matches(clause('targetingKey', 'in', ['cus_1']), {
        targetingKey: 'cus_2',
        customerId: 'cus_1',
      }),
    ).toBe(false);
  });
});

describe('semver operators', () => {
  it.each([
    ['semverEq', '5.2.0', '5.2.0', true],
    ['semverEq', '5.2', '5.2.0', true],
    ['semverEq', 'v5.2.0+build.7', '5.2.0', true],
    ['semverEq', '5.2.1', '5.2.0', false],
    ['semverEq', '5.2.0-beta.1', '5.2.0', false],
    ['semverEq', 'not-a-version', '5.2.0', false],
    ['semverLessThan', '5.1.9', '5.2.0', true],
    ['semverLessThan', '5.2.0-beta.1', '5.2.0', true],
    ['semverLessThan', '5.2.0', '5.2.0', false],
    ['semverLessThan', '5.10.0', '5.9.0', false],
    ['semverLessThan', '5.2.0-alpha', '5.2.0-beta', true],
    ['semverLessThan', '5.2.0-beta.2', '5.2.0-beta.11', true],
    ['semverLessThan', '5.2.0-beta', '5.2.0-beta.1', true],
    ['semverLessThan', '5.2.0-1', '5.2.0-alpha', true],
    ['semverGreaterThan', '10.0.0', '9.9.9', true],
    ['semverGreaterThan', '5.2.0', '5.2.0-rc.1', true],
    ['semverGreaterThan', '5.2.0', '5.2.0', false],
    ['semverGreaterThan', '', '1.0.0', false],
  ] as const)('%s: %s vs %s', (operator, appVersion, value, expected) => {
    expect(matches(clause('appVersion', operator, [value]), { appVersion })).toBe(expected);
  });

  it('compares against any of several versions', () => {
    const c = clause('appVersion', 'semverEq', ['4.0.0', '5.0.0']);
    expect(matches(c, { appVersion: '5.0.0' })).toBe(true);
    expect(matches(c, { appVersion: '4.5.0' })).toBe(false);
  });
});

describe('rules', () => {
  const ctx = { country: 'DE', platform: 'ios' };
  const flags = (rules: unknown[]) =>
    compileFlags([
      flag({
        valueType: 'string',
        variations: ['off', 'a', 'b', 'fallthrough'],
        offVariation: 0,
        rules,
        fallthrough: { variation: 3 },
      }),
    ]);

  it('serves the first matching rule, in order', () => {
    const ev = flags([
      { id: 'ios', clauses: [clause('platform', 'in', ['ios'])], variation: 1 },
      { id: 'de', clauses: [clause('country', 'in', ['DE'])], variation: 2 },
    ]);
    expect(ev.evaluate('f', ctx, 'x')).toMatchObject({
      value: 'a',
      variant: '1',
      reason: 'TARGETING_MATCH',
      ruleIndex: 0,
      ruleId: 'ios',
      variationIndex: 1,
    });
    expect(ev.evaluate('f', { country: 'DE' }, 'x')).toMatchObject({
      value: 'b',
      ruleIndex: 1,
      ruleId: 'de',
    });
  });

  it('requires every clause of a rule to match', () => {
    const ev = flags([
      {
        clauses: [clause('platform', 'in', ['ios']), clause('country', 'in', ['FR'])],
        variation: 1,
      },
    ]);
    expect(ev.evaluate('f', ctx, 'x')).toMatchObject({ value: 'fallthrough', reason: 'DEFAULT' });
    expect(ev.evaluate('f', { platform: 'ios', country: 'FR' }, 'x').value).toBe('a');
  });

  it('a rule without clauses matches everyone', () => {
    const ev = flags([{ clauses: [], variation: 2 }]);
    expect(ev.evaluate('f', undefined, 'x')).toMatchObject({
      value: 'b',
      reason: 'TARGETING_MATCH',
      ruleIndex: 0,
    });
  });

  it('reports STATIC without rules and DEFAULT when rules exist but none match', () => {
    expect(flags([]).evaluate('f', ctx, 'x')).toMatchObject({
      value: 'fallthrough',
      reason: 'STATIC',
    });
    const ev = flags([{ clauses: [clause('country', 'in', ['US'])], variation: 1 }]);
    const r = ev.evaluate('f', ctx, 'x');
    expect(r).toMatchObject({ value: 'fallthrough', reason: 'DEFAULT', variationIndex: 3 });
    expect(r.ruleIndex).toBeUndefined();
  });

  it('a disabled flag serves offVariation whatever its rules say', () => {
    const ev = compileFlags([
      flag({
        enabled: false,
        rules: [{ clauses: [], variation: 0 }],
        fallthrough: { rollout: split5050 },
      }),
    ]);
    expect(ev.evaluate('f', {}, true)).toMatchObject({
      value: false,
      variant: '1',
      reason: 'DISABLED',
      variationIndex: 1,
      inExperiment: false,
    });
  });

  it('serves a rollout from a rule and from the fallthrough as SPLIT', () => {
    const ev = compileFlags([
      flag({
        rules: [{ clauses: [clause('country', 'in', ['US'])], rollout: split5050 }],
        fallthrough: { rollout: split5050 },
      }),
    ]);
    const inRule = ev.evaluate('f', { targetingKey: 'cus_1', country: 'US' }, false);
    expect(inRule).toMatchObject({ reason: 'SPLIT', ruleIndex: 0 });
    const fallthrough = ev.evaluate('f', { targetingKey: 'cus_1' }, false);
    expect(fallthrough.reason).toBe('SPLIT');
    expect(fallthrough.ruleIndex).toBeUndefined();
    // Same flag, same key: the bucket does not depend on which rule served.
    expect(inRule.value).toBe(fallthrough.value);
  });
});

describe('segments', () => {
  const segments = [
    {
      key: 'beta',
      included: ['cus_vip'],
      excluded: ['cus_banned'],
      rules: [clause('country', 'in', ['DE'])],
    },
    { key: 'staff', included: ['cus_staff'] },
    { key: 'ios-de', rules: [clause('platform', 'in', ['ios']), clause('country', 'in', ['DE'])] },
  ];
  const inSegment = (keys: string[], ctx: EvaluationContext, negate?: boolean) =>
    matches(
      { operator: 'segmentMatch', values: keys, ...(negate ? { negate } : {}) },
      ctx,
      segments,
    );

  it('includes listed keys, excludes listed keys, then applies the rules', () => {
    expect(inSegment(['beta'], { targetingKey: 'cus_vip', country: 'US' })).toBe(true);
    expect(inSegment(['beta'], { targetingKey: 'cus_banned', country: 'DE' })).toBe(false);
    expect(inSegment(['beta'], { targetingKey: 'cus_1', country: 'DE' })).toBe(true);
    expect(inSegment(['beta'], { country: 'DE' })).toBe(true);
    expect(inSegment(['beta'], { targetingKey: 'cus_1', country: 'US' })).toBe(false);
  });

  it('matches a segment without rules only through included', () => {
    expect(inSegment(['staff'], { targetingKey: 'cus_staff' })).toBe(true);
    expect(inSegment(['staff'], { targetingKey: 'cus_1' })).toBe(false);
    expect(inSegment(['staff'], { customerId: 'cus_staff' })).toBe(true);
  });

  it('ANDs a segment rule clauses; ORs the segments of one clause', () => {
    expect(inSegment(['ios-de'], { platform: 'ios', country: 'DE' })).toBe(true);
    expect(inSegment(['ios-de'], { platform: 'ios', country: 'FR' })).toBe(false);
    expect(inSegment(['ios-de', 'staff'], { targetingKey: 'cus_staff', country: 'FR' })).toBe(true);
  });

  it('negates segment membership', () => {
    expect(inSegment(['staff'], { targetingKey: 'cus_1' }, true)).toBe(true);
    expect(inSegment(['staff'], { targetingKey: 'cus_staff' }, true)).toBe(false);
  });

  it('an unknown segment matches nobody', () => {
    expect(inSegment(['nope'], { targetingKey: 'cus_vip' })).toBe(false);
  });

  it('a segment that does not parse matches nobody and is reported', () => {
    const ev = compileFlags(
      [
        flag({
          rules: [{ clauses: [{ operator: 'segmentMatch', values: ['bad'] }], variation: 0 }],
          fallthrough: { variation: 1 },
        }),
      ],
      [
        { key: 'bad', included: 'cus_1' },
        { key: 'loop', rules: [{ operator: 'segmentMatch', values: ['bad'] }] },
      ],
    );
    expect(ev.evaluate('f', { targetingKey: 'cus_1' }, true)).toMatchObject({
      value: false,
      reason: 'DEFAULT',
    });
    expect(ev.problems.map((p) => [p.kind, p.key])).toEqual([
      ['segment', 'bad'],
      ['segment', 'loop'],
    ]);
  });
});

describe('errors', () => {
  it('FLAG_NOT_FOUND returns the default', () => {
    const r = compileFlags([]).evaluate('missing', {}, 'dflt');
    expect(r).toMatchObject({
      value: 'dflt',
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
      flagKey: 'missing',
    });
    expect(r.variant).toBeUndefined();
  });

  it('TYPE_MISMATCH when the default (or expectedType) asks for another type', () => {
    const ev = compileFlags([flag()]);
    expect(ev.evaluate('f', {}, 'on')).toMatchObject({
      value: 'on',
      reason: 'ERROR',
      errorCode: 'TYPE_MISMATCH',
      flagVersion: 3,
    });
    expect(ev.evaluate('f', {}, 0).errorCode).toBe('TYPE_MISMATCH');
    expect(ev.evaluate('f', {}, null).errorCode).toBe('TYPE_MISMATCH');
    expect(ev.evaluate('f', {}, false, 'number').errorCode).toBe('TYPE_MISMATCH');
    expect(ev.evaluate('f', {}, false, 'boolean')).toMatchObject({ value: true, reason: 'STATIC' });
  });

  it('json flags accept object, array and null defaults', () => {
    const ev = compileFlags([
      flag({
        valueType: 'json',
        variations: [{ layout: 'grid', columns: 3 }, ['a']],
        offVariation: 1,
      }),
    ]);
    expect(ev.evaluate('f', {}, { layout: 'list' }).value).toEqual({ layout: 'grid', columns: 3 });
    expect(ev.evaluate('f', {}, []).reason).toBe('STATIC');
    expect(ev.evaluate('f', {}, null).reason).toBe('STATIC');
    expect(ev.evaluate('f', {}, 'grid').errorCode).toBe('TYPE_MISMATCH');
  });

  it('TARGETING_KEY_MISSING when a rollout has nothing to bucket by', () => {
    const ev = compileFlags([
      flag({ key: 'by-key', fallthrough: { rollout: split5050 } }),
      flag({
        key: 'by-company',
        fallthrough: { rollout: { ...split5050, bucketBy: 'companyId' } },
      }),
    ]);
    for (const ctx of [undefined, {}, { targetingKey: '' }, { country: 'DE' }]) {
      expect(ev.evaluate('by-key', ctx, true)).toMatchObject({
        value: true,
        reason: 'ERROR',
        errorCode: 'TARGETING_KEY_MISSING',
      });
    }
    expect(ev.evaluate('by-key', { customerId: 'cus_1' }, true).reason).toBe('SPLIT');
    expect(ev.evaluate('by-company', { targetingKey: 'cus_1' }, true)).toMatchObject({
      errorCode: 'TARGETING_KEY_MISSING',
      errorMessage: expect.stringContaining('companyId'),
    });
    expect(ev.evaluate('by-company', { companyId: 42 }, true).reason).toBe('SPLIT');
  });

  it('a rollout with all the weight on one variation needs no key', () => {
    const ev = compileFlags([
      flag({
        fallthrough: {
          rollout: {
            variations: [
              { variation: 0, weight: 0 },
              { variation: 1, weight: 100_000 },
            ],
          },
        },
      }),
    ]);
    expect(ev.evaluate('f', {}, true)).toMatchObject({
      value: false,
      reason: 'SPLIT',
      variationIndex: 1,
    });
  });

  it('a flag that does not parse is PARSE_ERROR and leaves the others working', () => {
    const ev = compileFlags([
      flag({ key: 'wrong-type', variations: ['yes', 'no'] }),
      flag({
        key: 'bad-weights',
        fallthrough: { rollout: { variations: [{ variation: 0, weight: 10 }] } },
      }),
      flag({ key: 'bad-index', offVariation: 7 }),
      flag({
        key: 'bad-operator',
        rules: [{ clauses: [clause('a', 'like', ['x'])], variation: 0 }],
      }),
      flag({
        key: 'bad-semver',
        rules: [{ clauses: [clause('appVersion', 'semverEq', ['five'])], variation: 0 }],
      }),
      flag({ key: 'no-enabled', enabled: undefined }),
      { valueType: 'boolean' },
      null,
      42,
      flag({ key: 'good' }),
    ]);
    for (const key of [
      'wrong-type',
      'bad-weights',
      'bad-index',
      'bad-operator',
      'bad-semver',
      'no-enabled',
    ]) {
      const r = ev.evaluate(key, {}, false);
      expect(r, key).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'PARSE_ERROR' });
      expect(r.errorMessage, key).toContain(`flag "${key}" does not parse`);
    }
    expect(ev.evaluate('bad-index', {}, false).errorMessage).toContain(
      'offVariation: no variation 7',
    );
    expect(ev.evaluate('good', {}, false)).toMatchObject({ value: true, reason: 'STATIC' });
    expect(ev.problems.map((p) => p.key)).toEqual([
      'wrong-type',
      'bad-weights',
      'bad-index',
      'bad-operator',
      'bad-semver',
      'no-enabled',
      '#6',
      '#7',
      '#8',
    ]);
    expect(ev.keys()).toEqual([
      'wrong-type',
      'bad-weights',
      'bad-index',
      'bad-operator',
      'bad-semver',
      'no-enabled',
      'good',
    ]);
  });

  it('ignores (and reports) fields it does not know, so newer writers do not break it', () => {
    const ev = compileFlags([
      flag({
        tags: ['checkout'],
        rules: [
          { clauses: [{ ...clause('country', 'in', ['DE']), contextKind: 'user' }], variation: 1 },
        ],
      }),
    ]);
    expect(ev.evaluate('f', { country: 'DE' }, true)).toMatchObject({
      value: false,
      reason: 'TARGETING_MATCH',
    });
    expect(ev.problems).toEqual([
      {
        kind: 'flag',
        key: 'f',
        message: 'ignored unknown fields: rules.0.clauses.0.contextKind, tags',
      },
    ]);
  });

  it('never throws, even when reading the context does', () => {
    const ev = compileFlags([
      flag({ rules: [{ clauses: [clause('country', 'in', ['DE'])], variation: 1 }] }),
    ]);
    const hostile = Object.defineProperty({}, 'country', {
      get() {
        throw new Error('boom');
      },
    }) as EvaluationContext;
    expect(ev.evaluate('f', hostile, true)).toMatchObject({
      value: true,
      reason: 'ERROR',
      errorCode: 'GENERAL',
      errorMessage: 'Error: boom',
    });
  });

  it('compileFlags never throws on garbage input', () => {
    expect(
      compileFlags(undefined as unknown as unknown[], 'x' as unknown as unknown[]).keys(),
    ).toEqual([]);
  });
});

describe('results', () => {
  it('carry what an exposure record needs', () => {
    const ev = compileFlags([
      flag({
        key: 'paywall-test',
        valueType: 'string',
        version: 9,
        experiment: true,
        variations: ['control', 'annual-first'],
        variationNames: ['control', 'treatment'],
        offVariation: 0,
        rules: [
          { id: 'staff', clauses: [clause('email', 'endsWith', ['@azotte.com'])], variation: 1 },
        ],
        fallthrough: { rollout: split5050 },
      }),
    ]);
    const r = ev.evaluate('paywall-test', { targetingKey: 'cus_42' }, 'control');
    expect(r).toMatchObject({
      flagKey: 'paywall-test',
      reason: 'SPLIT',
      inExperiment: true,
      flagVersion: 9,
      flagMetadata: { version: 9, scope: 'tenant' },
    });
    expect(r.variant).toBe(r.variationIndex === 0 ? 'control' : 'treatment');
    // Targeted (not randomised) customers are not part of the experiment.
    const staff = ev.evaluate(
      'paywall-test',
      { targetingKey: 'cus_42', email: 'a@azotte.com' },
      'x',
    );
    expect(staff).toMatchObject({
      reason: 'TARGETING_MATCH',
      variant: 'treatment',
      inExperiment: false,
    });
  });

  it('are frozen, json values included, so one request cannot change the next one', () => {
    const ev = compileFlags([
      flag({ valueType: 'json', variations: [{ a: { b: 1 } }], offVariation: 0 }),
    ]);
    const r = ev.evaluate('f', {}, {});
    expect(Object.isFrozen(r)).toBe(true);
    expect(Object.isFrozen(r.value)).toBe(true);
    expect(() => {
      (r.value as { a: { b: number } }).a.b = 2;
    }).toThrow(TypeError);
    expect(ev.evaluate('f', {}, {}).value).toEqual({ a: { b: 1 } });
  });

  it('evaluateAll answers every flag, in order, errors with value null', () => {
    const ev = compileFlags([
      flag({ key: 'a' }),
      flag({
        key: 'b',
        valueType: 'number',
        variations: [1, 2],
        fallthrough: { rollout: split5050 },
      }),
      flag({ key: 'c', variations: 'nope' }),
    ]);
    const all = ev.evaluateAll({ targetingKey: 'cus_1' });
    expect(Object.keys(all)).toEqual(['a', 'b', 'c']);
    expect(all.a).toMatchObject({ value: true, reason: 'STATIC' });
    expect(all.b?.reason).toBe('SPLIT');
    expect([1, 2]).toContain(all.b?.value);
    expect(all.c).toMatchObject({ value: null, errorCode: 'PARSE_ERROR' });
    expect(ev.evaluateAll({}).b).toMatchObject({ value: null, errorCode: 'TARGETING_KEY_MISSING' });
  });

  it('evaluateUntyped serves any type and null on error', () => {
    const ev = compileFlags([flag({ key: 'n', valueType: 'number', variations: [7, 8] })]);
    expect(ev.evaluateUntyped('n', {})).toMatchObject({ value: 7, reason: 'STATIC' });
    expect(ev.evaluateUntyped('missing', {})).toMatchObject({
      value: null,
      errorCode: 'FLAG_NOT_FOUND',
    });
  });

  it('a later duplicate key wins', () => {
    const ev = compileFlags([
      flag({ fallthrough: { variation: 0 } }),
      flag({ fallthrough: { variation: 1 } }),
    ]);
    expect(ev.evaluate('f', {}, true).value).toBe(false);
    expect(ev.keys()).toEqual(['f']);
    expect(ev.problems).toEqual([
      { kind: 'flag', key: 'f', message: 'duplicate key; the later one wins' },
    ]);
  });
});

describe('storefront overrides', () => {
  // What the publisher emits: `{ key, valueType, enabled, version, scope, ...definition }`, the
  // storefront's override already in place of the tenant definition.
  const tenantFlag = flag({
    key: 'max-trial-days',
    valueType: 'number',
    version: 1,
    scope: 'tenant',
    variations: [14, 30],
    offVariation: 0,
    fallthrough: { variation: 0 },
  });
  const frOverride = flag({
    key: 'max-trial-days',
    valueType: 'number',
    version: 4,
    scope: 'storefront',
    variations: [14, 30],
    offVariation: 0,
    rules: [{ clauses: [clause('channel', 'in', ['mobile'])], variation: 1 }],
    fallthrough: { variation: 0 },
  });

  it('evaluates whichever definition the storefront snapshot carries', () => {
    const de = compileFlags([tenantFlag]);
    const fr = compileFlags([frOverride]);
    expect(de.evaluate('max-trial-days', { channel: 'mobile' }, 0)).toMatchObject({
      value: 14,
      reason: 'STATIC',
      flagMetadata: { version: 1, scope: 'tenant' },
    });
    expect(fr.evaluate('max-trial-days', { channel: 'mobile' }, 0)).toMatchObject({
      value: 30,
      reason: 'TARGETING_MATCH',
      flagVersion: 4,
      flagMetadata: { version: 4, scope: 'storefront' },
    });
  });

  it('a disabled override turns the flag off in that storefront only', () => {
    const fr = compileFlags([{ ...frOverride, enabled: false }]);
    expect(fr.evaluate('max-trial-days', { channel: 'mobile' }, 0)).toMatchObject({
      value: 14,
      reason: 'DISABLED',
    });
  });
});

describe('disabled flags (OpenFeature: the caller’s default, reason DISABLED)', () => {
  const { offVariation: _, ...withoutOff } = flag({ enabled: false });

  it('without an off variation: the caller’s default, no variant, whatever the rules', () => {
    const ev = compileFlags([
      { ...withoutOff, rules: [{ clauses: [], variation: 0 }], fallthrough: { variation: 0 } },
    ]);
    expect(ev.problems).toEqual([]);
    const r = ev.evaluate('f', { targetingKey: 'cus_1' }, false);
    expect(r).toMatchObject({
      value: false,
      reason: 'DISABLED',
      inExperiment: false,
      flagVersion: 3,
    });
    expect(r.variant).toBeUndefined();
    expect(r.variationIndex).toBeUndefined();
    expect(r.errorCode).toBeUndefined();
    expect(ev.evaluate('f', {}, true).value).toBe(true);
    expect(ev.evaluateUntyped('f', {})).toMatchObject({ value: null, reason: 'DISABLED' });
    expect(ev.evaluateAll({}).f).toMatchObject({ value: null, reason: 'DISABLED' });
  });

  it('a type mismatch is still reported as such', () => {
    const ev = compileFlags([withoutOff]);
    expect(ev.evaluate('f', {}, 'x')).toMatchObject({ value: 'x', errorCode: 'TYPE_MISMATCH' });
  });

  it('with an off variation: serves it (variant and index)', () => {
    const ev = compileFlags([flag({ enabled: false, offVariation: 1 })]);
    expect(ev.evaluate('f', {}, true)).toMatchObject({
      value: false,
      variant: '1',
      variationIndex: 1,
      reason: 'DISABLED',
    });
  });

  it('an enabled flag without an off variation evaluates as before', () => {
    const ev = compileFlags([{ ...withoutOff, enabled: true }]);
    expect(ev.evaluate('f', {}, false)).toMatchObject({ value: true, reason: 'STATIC' });
  });
});
