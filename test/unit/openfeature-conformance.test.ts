/**
 * The OpenFeature provider conformance suite (Appendix F of the specification) run against
 * src/sdk/openfeature-provider.ts: the feature files are upstream's scenarios (see their
 * headers), the step definitions and the translation of the canonical flag set are ours.
 *
 * Capabilities declared (a scenario needing another one is reported skipped, with why):
 * variants, large-integers, disabled-flags, object, targeting, standard-reasons. Not declared:
 * numeric-coercion, because the JavaScript SDK has one number type (getNumberValue), so an
 * Integer request of a float flag cannot be told from a Float request.
 */
import {
  type EvaluationContext,
  type EvaluationDetails,
  type JsonValue,
  OpenFeature,
} from '@openfeature/server-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { AzotteFlagsProvider } from '../../src/sdk/openfeature-provider';
import { parseFeature, type Scenario } from '../helpers/gherkin';
import errors from './openfeature-tck/errors.feature?raw';
import evaluation from './openfeature-tck/evaluation.feature?raw';
import metadata from './openfeature-tck/metadata.feature?raw';
import reason from './openfeature-tck/reason.feature?raw';

const CAPABILITIES = new Set([
  'variants',
  'large-integers',
  'disabled-flags',
  'object',
  'targeting',
  'standard-reasons',
]);
const NOT_DECLARED: Record<string, string> = {
  'numeric-coercion': 'the JavaScript SDK has one number type: Integer and Float are one request',
};

type Json = Record<string, unknown>;

/**
 * The canonical flag set (flags/canonical-flags.json upstream) as Azotte flags: flagd's
 * `variants` become `variations` with `variationNames`, `defaultVariant` the fallthrough, state
 * DISABLED `enabled: false` without an off variation (so the caller's default stands in).
 */
function flag(
  key: string,
  valueType: 'boolean' | 'string' | 'number' | 'json',
  variants: Record<string, JsonValue>,
  defaultVariant: string,
  more: Json = {},
): Json {
  const names = Object.keys(variants);
  return {
    key,
    valueType,
    enabled: true,
    version: 1,
    variations: Object.values(variants),
    variationNames: names,
    fallthrough: { variation: names.indexOf(defaultVariant) },
    ...more,
  };
}

const DISABLED = { enabled: false };
const CANONICAL_FLAGS = [
  flag('boolean-flag', 'boolean', { on: true, off: false }, 'on'),
  flag('string-flag', 'string', { greeting: 'hi', parting: 'bye' }, 'greeting'),
  flag('integer-flag', 'number', { one: 1, ten: 10 }, 'ten'),
  flag('float-flag', 'number', { tenth: 0.1, half: 0.5 }, 'half'),
  flag('large-integer-flag', 'number', { one: 1, 'max-int32': 2147483647 }, 'max-int32'),
  flag('huge-integer-flag', 'number', { one: 1, 'max-safe': 9007199254740991 }, 'max-safe'),
  flag('integral-float-flag', 'number', { tenth: 0.1, ten: 10.0 }, 'ten'),
  flag('boolean-zero-flag', 'boolean', { zero: false, 'non-zero': true }, 'zero'),
  flag('integer-zero-flag', 'number', { zero: 0, 'non-zero': 1 }, 'zero'),
  flag('string-zero-flag', 'string', { zero: '', 'non-zero': 'str' }, 'zero'),
  flag(
    'object-flag',
    'json',
    {
      empty: {},
      template: { showImages: true, title: 'Check out these pics!', imagesPerPage: 100 },
    },
    'template',
  ),
  flag('wrong-flag', 'string', { one: 'uno', two: 'dos' }, 'one'),
  flag('disabled-boolean-flag', 'boolean', { on: true, off: false }, 'on', DISABLED),
  flag('disabled-string-flag', 'string', { greeting: 'hi', parting: 'bye' }, 'greeting', DISABLED),
  flag('disabled-integer-flag', 'number', { one: 1, ten: 10 }, 'ten', DISABLED),
  flag('disabled-float-flag', 'number', { tenth: 0.1, half: 0.5 }, 'half', DISABLED),
  flag('targeting-key-flag', 'string', { miss: 'miss', hit: 'hit' }, 'miss', {
    rules: [
      {
        clauses: [
          {
            attribute: 'targetingKey',
            operator: 'in',
            values: ['5c3d8535-f81a-4478-a6d3-afaa4d51199e'],
          },
        ],
        variation: 1,
      },
    ],
  }),
  flag('changing-flag', 'string', { foo: 'foo', bar: 'bar' }, 'foo'),
];

type FlagType = 'Boolean' | 'String' | 'Integer' | 'Float' | 'Object';

/** A step's typed reading of a feature's string value. */
function typed(type: FlagType, raw: string): JsonValue {
  switch (type) {
    case 'Boolean':
      if (raw !== 'true' && raw !== 'false') throw new Error(`not a boolean: ${raw}`);
      return raw === 'true';
    case 'String':
      return raw;
    case 'Integer':
    case 'Float':
      return Number(raw);
    case 'Object':
      return JSON.parse(raw) as JsonValue;
  }
}

interface World {
  domain: string;
  provider?: AzotteFlagsProvider;
  type?: FlagType;
  key?: string;
  defaultValue?: JsonValue;
  context: EvaluationContext;
  details?: EvaluationDetails<JsonValue>;
  thrown?: unknown;
}

let domains = 0;

const STEPS: [
  RegExp,
  (w: World, m: RegExpExecArray, table?: string[][]) => Promise<void> | void,
][] = [
  [
    /^a stable provider$/,
    async (w) => {
      w.provider = new AzotteFlagsProvider({ fetchFlags: async () => CANONICAL_FLAGS });
      await OpenFeature.setProviderAndWait(w.domain, w.provider);
    },
  ],
  [
    /^a (Boolean|String|Integer|Float|Object)-flag with key "(.*)" and a default value "(.*)"$/,
    (w, m) => {
      w.type = m[1] as FlagType;
      w.key = m[2] as string;
      w.defaultValue = typed(w.type, m[3] as string);
    },
  ],
  [
    /^a context containing a targeting key with value "(.*)"$/,
    (w, m) => {
      w.context = { ...w.context, targetingKey: m[1] as string };
    },
  ],
  [
    /^the flag was evaluated with details$/,
    async (w) => {
      const client = OpenFeature.getClient(w.domain);
      const key = w.key as string;
      const d = w.defaultValue;
      try {
        switch (w.type) {
          case 'Boolean':
            w.details = await client.getBooleanDetails(key, d as boolean, w.context);
            break;
          case 'String':
            w.details = await client.getStringDetails(key, d as string, w.context);
            break;
          case 'Integer':
          case 'Float':
            w.details = await client.getNumberDetails(key, d as number, w.context);
            break;
          default:
            w.details = await client.getObjectDetails(key, d as JsonValue, w.context);
        }
      } catch (err) {
        w.thrown = err;
      }
    },
  ],
  [
    /^the resolved details value should be "(.*)"$/,
    (w, m) => {
      expect(w.details?.value).toEqual(typed(w.type as FlagType, m[1] as string));
    },
  ],
  [
    /^the reason should be "(.*)"$/,
    (w, m) => {
      expect(w.details?.reason).toBe(m[1]);
    },
  ],
  [
    /^the error-code should be "(.*)"$/,
    (w, m) => {
      expect(w.details?.errorCode ?? '').toBe(m[1]);
    },
  ],
  [
    /^the error message should be empty$/,
    (w) => {
      expect(w.details?.errorMessage ?? '').toBe('');
    },
  ],
  [
    /^no exception should have been thrown$/,
    (w) => {
      expect(w.thrown).toBeUndefined();
    },
  ],
  [
    /^the variant should be "(.*)"$/,
    (w, m) => {
      expect(w.details?.variant).toBe(m[1]);
    },
  ],
  [
    /^the resolved object value should contain$/,
    (w, _m, table) => {
      const [, ...rows] = table ?? [];
      const value = w.details?.value as Record<string, JsonValue>;
      for (const [key = '', type = '', raw = ''] of rows) {
        expect(value[key], key).toEqual(typed(type as FlagType, raw));
      }
    },
  ],
  [
    /^the provider metadata name should not be empty$/,
    (w) => {
      expect(w.provider?.metadata.name).toBeTruthy();
    },
  ],
];

async function run(scenario: Scenario): Promise<void> {
  const world: World = { domain: `tck-${++domains}`, context: {} };
  for (const step of scenario.steps) {
    const found = STEPS.map(([re, fn]) => [re.exec(step.text), fn] as const).find(([m]) => m);
    if (!found) throw new Error(`no step definition for "${step.keyword} ${step.text}"`);
    const [match, fn] = found;
    await fn(world, match as RegExpExecArray, step.table);
  }
}

afterEach(async () => {
  await OpenFeature.close();
});

for (const source of [evaluation, errors, reason, metadata]) {
  const feature = parseFeature(source);
  describe(`OpenFeature conformance: ${feature.name}`, () => {
    for (const scenario of feature.scenarios) {
      const missing = scenario.tags.filter((t) => !CAPABILITIES.has(t));
      if (missing.length > 0) {
        const why = missing.map((t) => `@${t}: ${NOT_DECLARED[t] ?? 'not declared'}`).join('; ');
        it.skip(`${scenario.name} (skipped: ${why})`, () => {});
        continue;
      }
      it(scenario.name, () => run(scenario));
    }
  });
}

it('reads the features: every scenario of each file, outlines expanded', () => {
  const counts = [evaluation, errors, reason, metadata].map(
    (s) => parseFeature(s).scenarios.length,
  );
  expect(counts).toEqual([28, 17, 9, 1]);
});
