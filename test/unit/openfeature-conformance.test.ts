/**
 * OpenFeature provider conformance of src/sdk/openfeature-provider.ts, written as our own table
 * of the behaviours the specification's provider requirements and its conformance suite
 * (Appendix F) ask of a provider: typed resolution with variant and reason, falsy values as
 * values, disabled flags resolving to the caller's default (or to the off variation when one is
 * configured), targeting, and every error returning the caller's default with its error code.
 * The upstream feature files themselves are not vendored here.
 */
import {
  type EvaluationContext,
  type EvaluationDetails,
  type JsonValue,
  OpenFeature,
} from '@openfeature/server-sdk';
import { beforeAll, describe, expect, it } from 'vitest';
import { AzotteFlagsProvider } from '../../src/sdk/openfeature-provider';

type ValueType = 'boolean' | 'string' | 'number' | 'json';

function flag(
  key: string,
  valueType: ValueType,
  variations: Record<string, JsonValue>,
  served: string,
  more: Record<string, unknown> = {},
) {
  const names = Object.keys(variations);
  return {
    key,
    valueType,
    enabled: true,
    version: 1,
    variations: Object.values(variations),
    variationNames: names,
    fallthrough: { variation: names.indexOf(served) },
    ...more,
  };
}

const FLAGS = [
  flag('dark-mode', 'boolean', { enabled: true, disabled: false }, 'enabled'),
  flag('banner-text', 'string', { welcome: 'hello', farewell: 'goodbye' }, 'welcome'),
  flag('page-size', 'number', { small: 5, large: 50 }, 'large'),
  flag('discount-rate', 'number', { none: 0.0, some: 0.25 }, 'some'),
  flag('max-safe', 'number', { one: 1, max: Number.MAX_SAFE_INTEGER }, 'max'),
  flag('no-ads', 'boolean', { off: false, on: true }, 'off'),
  flag('retries', 'number', { zero: 0, three: 3 }, 'zero'),
  flag('suffix', 'string', { empty: '', dot: '.' }, 'empty'),
  flag('layout', 'json', { grid: { columns: 4, dense: true }, list: {} }, 'grid'),
  flag('paused-boolean', 'boolean', { on: true, off: false }, 'on', { enabled: false }),
  flag('paused-string', 'string', { a: 'alpha', b: 'beta' }, 'a', { enabled: false }),
  flag('paused-with-off', 'string', { a: 'alpha', b: 'beta' }, 'a', {
    enabled: false,
    offVariation: 1,
  }),
  flag('beta-users', 'string', { outside: 'stable', inside: 'beta' }, 'outside', {
    rules: [
      {
        clauses: [{ attribute: 'targetingKey', operator: 'in', values: ['cus_tester'] }],
        variation: 1,
      },
    ],
  }),
];

interface Case {
  name: string;
  key: string;
  type: 'boolean' | 'string' | 'number' | 'object';
  defaultValue: JsonValue;
  context?: EvaluationContext;
  value: JsonValue;
  reason: string;
  variant?: string;
  errorCode?: string;
}

const CASES: Case[] = [
  // Typed resolution: value, variant and a static reason, no error.
  ...(
    [
      ['dark-mode', 'boolean', false, true, 'enabled'],
      ['banner-text', 'string', 'fallback', 'hello', 'welcome'],
      ['page-size', 'number', 1, 50, 'large'],
      ['discount-rate', 'number', 0.5, 0.25, 'some'],
      ['max-safe', 'number', 0, Number.MAX_SAFE_INTEGER, 'max'],
      ['layout', 'object', {}, { columns: 4, dense: true }, 'grid'],
    ] as const
  ).map(([key, type, defaultValue, value, variant]) => ({
    name: `resolves ${key} (${type}) with its variant`,
    key,
    type,
    defaultValue: defaultValue as JsonValue,
    value: value as JsonValue,
    variant,
    reason: 'STATIC',
  })),
  // A falsy value is a value, not a missing one.
  ...(
    [
      ['no-ads', 'boolean', true, false, 'off'],
      ['retries', 'number', 7, 0, 'zero'],
      ['suffix', 'string', 'x', '', 'empty'],
    ] as const
  ).map(([key, type, defaultValue, value, variant]) => ({
    name: `serves the falsy ${type} of ${key}`,
    key,
    type,
    defaultValue: defaultValue as JsonValue,
    value: value as JsonValue,
    variant,
    reason: 'STATIC',
  })),
  // Disabled flags.
  {
    name: 'a disabled flag without an off variation resolves to the caller’s default',
    key: 'paused-boolean',
    type: 'boolean',
    defaultValue: false,
    value: false,
    reason: 'DISABLED',
  },
  {
    name: 'the same for a string flag',
    key: 'paused-string',
    type: 'string',
    defaultValue: 'caller',
    value: 'caller',
    reason: 'DISABLED',
  },
  {
    name: 'a disabled flag with an off variation serves it',
    key: 'paused-with-off',
    type: 'string',
    defaultValue: 'caller',
    value: 'beta',
    variant: 'b',
    reason: 'DISABLED',
  },
  // Targeting.
  {
    name: 'a matching targeting key gets the rule’s variation',
    key: 'beta-users',
    type: 'string',
    defaultValue: 'x',
    context: { targetingKey: 'cus_tester' },
    value: 'beta',
    variant: 'inside',
    reason: 'TARGETING_MATCH',
  },
  {
    name: 'another targeting key falls through',
    key: 'beta-users',
    type: 'string',
    defaultValue: 'x',
    context: { targetingKey: 'cus_other' },
    value: 'stable',
    variant: 'outside',
    reason: 'DEFAULT',
  },
  // Errors: the caller's default, reason ERROR, a code, and no exception.
  {
    name: 'an unknown flag is FLAG_NOT_FOUND',
    key: 'no-such-flag',
    type: 'string',
    defaultValue: 'caller',
    value: 'caller',
    reason: 'ERROR',
    errorCode: 'FLAG_NOT_FOUND',
  },
  ...(
    [
      ['banner-text', 'boolean', true],
      ['banner-text', 'number', 3],
      ['dark-mode', 'string', 'caller'],
      ['page-size', 'boolean', false],
      ['layout', 'string', 'caller'],
      ['dark-mode', 'object', { fallback: true }],
    ] as const
  ).map(([key, type, defaultValue]) => ({
    name: `${key} asked as ${type} is TYPE_MISMATCH`,
    key,
    type,
    defaultValue: defaultValue as JsonValue,
    value: defaultValue as JsonValue,
    reason: 'ERROR',
    errorCode: 'TYPE_MISMATCH',
  })),
];

const DOMAIN = 'azotte-conformance';

beforeAll(async () => {
  await OpenFeature.setProviderAndWait(
    DOMAIN,
    new AzotteFlagsProvider({ fetchFlags: async () => FLAGS }),
  );
});

async function evaluate(c: Case): Promise<EvaluationDetails<JsonValue>> {
  const client = OpenFeature.getClient(DOMAIN);
  switch (c.type) {
    case 'boolean':
      return client.getBooleanDetails(c.key, c.defaultValue as boolean, c.context);
    case 'string':
      return client.getStringDetails(c.key, c.defaultValue as string, c.context);
    case 'number':
      return client.getNumberDetails(c.key, c.defaultValue as number, c.context);
    case 'object':
      return client.getObjectDetails(c.key, c.defaultValue, c.context);
  }
}

describe('OpenFeature provider conformance', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const details = await evaluate(c);
      expect(details.value).toEqual(c.value);
      expect(details.reason).toBe(c.reason);
      expect(details.flagKey).toBe(c.key);
      if (c.variant !== undefined) expect(details.variant).toBe(c.variant);
      if (c.errorCode) {
        expect(details.errorCode).toBe(c.errorCode);
        expect(details.errorMessage ?? '').not.toBe('');
      } else {
        expect(details.errorCode).toBeUndefined();
      }
    });
  }

  it('names itself in its metadata', () => {
    const client = OpenFeature.getClient(DOMAIN);
    expect(client.metadata.providerMetadata.name).toMatch(/\S/);
  });
});
