import { OpenFeature, ProviderEvents, ProviderStatus } from '@openfeature/server-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { bucketFor } from '../../src/flags';
import { type AzotteFlagsPayload, AzotteFlagsProvider } from '../../src/sdk/openfeature-provider';

type Json = Record<string, unknown>;

function flag(key: string, valueType: string, variations: unknown[], overrides: Json = {}): Json {
  return {
    key,
    valueType,
    enabled: true,
    version: 1,
    salt: 'pepper',
    variations,
    offVariation: 0,
    rules: [],
    fallthrough: { variation: 1 },
    ...overrides,
  };
}

const FLAGS = [
  flag('new-checkout', 'boolean', [false, true], {
    rules: [
      {
        id: 'de',
        clauses: [{ attribute: 'country', operator: 'in', values: ['DE'] }],
        variation: 0,
      },
    ],
  }),
  flag('checkout-layout', 'string', ['classic', 'compact']),
  flag('max-trial-days', 'number', [14, 30]),
  flag('paywall', 'json', [{ plans: ['monthly'] }, { plans: ['annual', 'monthly'] }], {
    experiment: true,
    variationNames: ['control', 'annual-first'],
    fallthrough: {
      rollout: {
        variations: [
          { variation: 0, weight: 50_000 },
          { variation: 1, weight: 50_000 },
        ],
      },
    },
  }),
  flag('broken', 'boolean', ['yes', 'no']),
  flag('beta-only', 'boolean', [false, true], {
    rules: [{ clauses: [{ operator: 'segmentMatch', values: ['beta'] }], variation: 1 }],
    fallthrough: { variation: 0 },
  }),
];
const SEGMENTS = [{ key: 'beta', included: ['cus_beta'] }];

let domains = 0;
/** A provider in its own OpenFeature domain, so tests do not share state. */
async function setUp(
  fetchFlags: () => Promise<AzotteFlagsPayload | readonly unknown[]>,
  refreshIntervalMs = 0,
) {
  const domain = `azotte-test-${++domains}`;
  const provider = new AzotteFlagsProvider({ fetchFlags, refreshIntervalMs });
  return { domain, provider, client: () => OpenFeature.getClient(domain) };
}

/** Resolves with the details of the next `event` the domain's client sees. */
function nextEvent(domain: string, event: ProviderEvents): Promise<unknown> {
  return new Promise((resolve) => {
    const client = OpenFeature.getClient(domain);
    const handler = (details: unknown) => {
      client.removeHandler(event, handler);
      resolve(details);
    };
    client.addHandler(event, handler);
  });
}

afterEach(async () => {
  await OpenFeature.close();
});

describe('AzotteFlagsProvider', () => {
  it('resolves every type through the OpenFeature client', async () => {
    const { domain, provider, client } = await setUp(async () => ({
      flags: FLAGS,
      segments: SEGMENTS,
    }));
    await OpenFeature.setProviderAndWait(domain, provider);
    const c = client();
    expect(c.providerStatus).toBe(ProviderStatus.READY);

    const bool = await c.getBooleanDetails('new-checkout', false, {
      targetingKey: 'cus_1',
      country: 'US',
    });
    expect(bool).toMatchObject({
      flagKey: 'new-checkout',
      value: true,
      variant: '1',
      reason: 'DEFAULT',
      flagMetadata: { version: 1, variationIndex: 1, inExperiment: false },
    });
    expect(await c.getBooleanDetails('new-checkout', true, { country: 'DE' })).toMatchObject({
      value: false,
      reason: 'TARGETING_MATCH',
      flagMetadata: { ruleIndex: 0, ruleId: 'de' },
    });
    expect(await c.getStringValue('checkout-layout', 'x')).toBe('compact');
    expect(await c.getNumberDetails('max-trial-days', 0)).toMatchObject({
      value: 30,
      reason: 'STATIC',
    });
    expect(await c.getBooleanValue('beta-only', false, { targetingKey: 'cus_beta' })).toBe(true);
    expect(await c.getBooleanValue('beta-only', false, { targetingKey: 'cus_1' })).toBe(false);

    const paywall = await c.getObjectDetails('paywall', { plans: [] }, { targetingKey: 'cus_42' });
    const expectedIndex = bucketFor('paywall', 'pepper', 'cus_42') < 50_000 ? 0 : 1;
    expect(paywall).toMatchObject({
      value: expectedIndex === 0 ? { plans: ['monthly'] } : { plans: ['annual', 'monthly'] },
      variant: expectedIndex === 0 ? 'control' : 'annual-first',
      reason: 'SPLIT',
      flagMetadata: { variationIndex: expectedIndex, inExperiment: true, version: 1 },
    });
  });

  it('maps engine errors to OpenFeature error codes and returns the default', async () => {
    const { domain, provider, client } = await setUp(async () => FLAGS);
    await OpenFeature.setProviderAndWait(domain, provider);
    const c = client();
    expect(await c.getBooleanDetails('nope', true)).toMatchObject({
      value: true,
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
    });
    expect(await c.getStringDetails('new-checkout', 'fallback')).toMatchObject({
      value: 'fallback',
      reason: 'ERROR',
      errorCode: 'TYPE_MISMATCH',
    });
    expect(await c.getObjectDetails('max-trial-days', {})).toMatchObject({
      errorCode: 'TYPE_MISMATCH',
    });
    expect(await c.getBooleanDetails('broken', false)).toMatchObject({
      value: false,
      errorCode: 'PARSE_ERROR',
    });
    expect(await c.getObjectDetails('paywall', null)).toMatchObject({
      value: null,
      errorCode: 'TARGETING_KEY_MISSING',
    });
    expect(provider.problems.map((p) => p.key)).toEqual(['broken']);
  });

  it('drops context values the engine cannot compare instead of failing', async () => {
    const { domain, provider, client } = await setUp(async () => FLAGS);
    await OpenFeature.setProviderAndWait(domain, provider);
    const details = await client().getBooleanDetails('new-checkout', false, {
      country: 'DE',
      signedUpAt: new Date(),
      address: { city: 'Berlin' },
    });
    expect(details).toMatchObject({ value: false, reason: 'TARGETING_MATCH' });
  });

  it('refresh() swaps in new flags and reports the changed keys', async () => {
    let flags = FLAGS;
    const { domain, provider, client } = await setUp(async () => ({ flags, segments: SEGMENTS }));
    await OpenFeature.setProviderAndWait(domain, provider);
    expect(await client().getNumberValue('max-trial-days', 0)).toBe(30);

    flags = FLAGS.map((f) =>
      f.key === 'max-trial-days' ? { ...f, version: 2, fallthrough: { variation: 0 } } : f,
    ).filter((f) => f.key !== 'checkout-layout');
    const changed = nextEvent(domain, ProviderEvents.ConfigurationChanged);
    await provider.refresh();
    expect(await changed).toMatchObject({ flagsChanged: ['max-trial-days', 'checkout-layout'] });
    expect(await client().getNumberDetails('max-trial-days', 0)).toMatchObject({
      value: 14,
      flagMetadata: { version: 2 },
    });
    expect((await client().getStringDetails('checkout-layout', 'x')).errorCode).toBe(
      'FLAG_NOT_FOUND',
    );
  });

  it('shares one fetch between concurrent refreshes', async () => {
    let calls = 0;
    const { provider } = await setUp(async () => {
      calls++;
      return FLAGS;
    });
    await Promise.all([provider.refresh(), provider.refresh(), provider.refresh()]);
    expect(calls).toBe(1);
  });

  it('keeps serving the last flags when a refresh fails, as STALE, and recovers', async () => {
    let fail = false;
    const { domain, provider, client } = await setUp(async () => {
      if (fail) throw new Error('api down');
      return FLAGS;
    });
    await OpenFeature.setProviderAndWait(domain, provider);
    fail = true;
    const stale = nextEvent(domain, ProviderEvents.Stale);
    await expect(provider.refresh()).rejects.toThrow('api down');
    await stale;
    expect(client().providerStatus).toBe(ProviderStatus.STALE);
    expect(await client().getNumberValue('max-trial-days', 0)).toBe(30);

    fail = false;
    const ready = nextEvent(domain, ProviderEvents.Ready);
    await provider.refresh();
    await ready;
    expect(client().providerStatus).toBe(ProviderStatus.READY);
  });

  it('a failed first load leaves the provider in ERROR until a refresh succeeds', async () => {
    let fail = true;
    const { domain, provider, client } = await setUp(async () => {
      if (fail) throw new Error('api down');
      return FLAGS;
    });
    await expect(OpenFeature.setProviderAndWait(domain, provider)).rejects.toThrow('api down');
    expect(client().providerStatus).toBe(ProviderStatus.ERROR);
    expect(await client().getNumberDetails('max-trial-days', 7)).toMatchObject({
      value: 7,
      errorCode: 'PROVIDER_NOT_READY',
    });

    fail = false;
    const ready = nextEvent(domain, ProviderEvents.Ready);
    await provider.refresh();
    await ready;
    expect(client().providerStatus).toBe(ProviderStatus.READY);
    expect(await client().getNumberValue('max-trial-days', 7)).toBe(30);
  });

  it('polls on an interval and stops when closed', async () => {
    let version = 1;
    let calls = 0;
    const { domain, provider, client } = await setUp(async () => {
      calls++;
      return [flag('max-trial-days', 'number', [14, 30], { version })];
    }, 10);
    await OpenFeature.setProviderAndWait(domain, provider);
    version = 2;
    const changed = nextEvent(domain, ProviderEvents.ConfigurationChanged);
    expect(await changed).toMatchObject({ flagsChanged: ['max-trial-days'] });
    expect((await client().getNumberDetails('max-trial-days', 0)).flagMetadata).toMatchObject({
      version: 2,
    });

    await OpenFeature.close();
    const after = calls;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toBe(after);
  });

  it('accepts a payload without flags as an error, not a crash', async () => {
    const { domain, provider } = await setUp(async () => ({}) as AzotteFlagsPayload);
    await expect(OpenFeature.setProviderAndWait(domain, provider)).rejects.toThrow(
      'no flags array',
    );
  });
});
