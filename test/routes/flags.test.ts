import { beforeAll, describe, expect, it } from 'vitest';
import { createTenant, publish, type TestTenant } from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import { asOperator, createOperator, type TestOperator } from '../helpers/operators';

interface Evaluations {
  configVersion: number;
  flags: Record<
    string,
    { value: unknown; variant?: string; reason: string; errorCode?: string; inExperiment: boolean }
  >;
}

let t: TestTenant;
let other: TestTenant;
let admin: TestOperator;

const put = (key: string, body: Record<string, unknown>, tenant = t) =>
  asOperator(admin, 'PUT', `/admin/v1/tenants/${tenant.slug}/flags/${key}`, {
    reason: 'set up flags test',
    ...body,
  });

const evaluate = (
  host: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) => call(host, '/v1/flags/evaluate', { method: 'POST', body, headers });

beforeAll(async () => {
  t = await createTenant();
  other = await createTenant();
  await publish();
  admin = await createOperator(t.tenantId, 'admin');
  const ok = await put('new-checkout', {
    valueType: 'boolean',
    definition: {
      variations: [false, true],
      offVariation: 0,
      rules: [
        {
          id: 'jp',
          clauses: [{ attribute: 'country', operator: 'in', values: ['JP'] }],
          variation: 1,
        },
      ],
      fallthrough: {
        rollout: {
          variations: [
            { variation: 0, weight: 50_000 },
            { variation: 1, weight: 50_000 },
          ],
        },
      },
      salt: 's1',
    },
  });
  expect(ok.status, await ok.clone().text()).toBe(200);
  // An experiment only in eu-store (a storefront override; the tenant has no such flag).
  const exp = await put('hero-copy', {
    storefront: 'eu-store',
    valueType: 'string',
    definition: {
      variations: ['Save more', 'Start today'],
      variationNames: ['control', 'treatment'],
      offVariation: 0,
      fallthrough: {
        rollout: {
          variations: [
            { variation: 0, weight: 50_000 },
            { variation: 1, weight: 50_000 },
          ],
        },
      },
      experiment: true,
    },
  });
  expect(exp.status, await exp.clone().text()).toBe(200);
});

describe('POST /v1/flags/evaluate', () => {
  it('targets by rule, splits by bucket, and is deterministic per customer', async () => {
    const host = t.hosts['us-store'] ?? '';
    const jp = await json<Evaluations>(
      await evaluate(host, { context: { targetingKey: 'cus_1', country: 'JP' } }),
    );
    expect(jp.flags['new-checkout']).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    const seen = new Set<unknown>();
    for (let i = 0; i < 40; i++) {
      const r = await json<Evaluations>(
        await evaluate(host, { flags: ['new-checkout'], context: { targetingKey: `cus_${i}` } }),
      );
      const again = await json<Evaluations>(
        await evaluate(t.hosts['eu-store'] ?? '', {
          flags: ['new-checkout'],
          context: { targetingKey: `cus_${i}` },
        }),
      );
      expect(r.flags['new-checkout']?.reason).toBe('SPLIT');
      expect(again.flags['new-checkout']?.value).toBe(r.flags['new-checkout']?.value); // same bucket on every storefront/edge
      seen.add(r.flags['new-checkout']?.value);
    }
    expect(seen).toEqual(new Set([true, false]));
  });

  it('never throws: missing flag, type mismatch and missing targeting key come back as errors with the default', async () => {
    const r = await json<Evaluations>(
      await evaluate(t.hosts['us-store'] ?? '', {
        flags: ['nope', 'new-checkout'],
        defaults: { nope: 'fallback', 'new-checkout': 'not-a-boolean' },
        context: { targetingKey: 'cus_1' },
      }),
    );
    expect(r.flags.nope).toMatchObject({
      value: 'fallback',
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
    });
    expect(r.flags['new-checkout']).toMatchObject({
      value: 'not-a-boolean',
      reason: 'ERROR',
      errorCode: 'TYPE_MISMATCH',
    });
    const noKey = await json<Evaluations>(
      await evaluate(t.hosts['us-store'] ?? '', {
        flags: ['new-checkout'],
        defaults: { 'new-checkout': false },
      }),
    );
    expect(noKey.flags['new-checkout']).toMatchObject({
      value: false,
      reason: 'ERROR',
      errorCode: 'TARGETING_KEY_MISSING',
    });
  });

  it('answers each flag once, with keys JSON-escaped, whatever the caller repeats', async () => {
    const res = await evaluate(t.hosts['us-store'] ?? '', {
      flags: ['new-checkout', 'quote"key\\', 'new-checkout'],
      context: { targetingKey: 'cus_1' },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text) as Evaluations & { storefront: string; configVersion: number };
    expect(Object.keys(body.flags)).toEqual(['new-checkout', 'quote"key\\']);
    expect(text.match(/"new-checkout":/g)).toHaveLength(1);
    expect(body.flags['quote"key\\']).toMatchObject({
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
    });
    expect(body.storefront).toBe(t.storefronts['us-store']);
    expect(Number.isInteger(body.configVersion)).toBe(true);
  });

  it('a storefront experiment is invisible in other storefronts and other tenants', async () => {
    const eu = await json<Evaluations>(
      await evaluate(t.hosts['eu-store'] ?? '', { context: { targetingKey: 'cus_9' } }),
    );
    expect(eu.flags['hero-copy']).toMatchObject({ reason: 'SPLIT', inExperiment: true });
    expect(['control', 'treatment']).toContain(eu.flags['hero-copy']?.variant);
    const us = await json<Evaluations>(
      await evaluate(t.hosts['us-store'] ?? '', { context: { targetingKey: 'cus_9' } }),
    );
    expect(Object.keys(us.flags)).not.toContain('hero-copy');
    const foreign = await json<Evaluations>(
      await evaluate(other.hosts['eu-store'] ?? '', { context: { targetingKey: 'cus_9' } }),
    );
    expect(foreign.flags).toEqual({});
  });

  it('a disabled flag serves its off variation; the flip reaches the edge within 2 s', async () => {
    const host = t.hosts['us-store'] ?? '';
    const off = await asOperator(
      admin,
      'POST',
      `/admin/v1/tenants/${t.slug}/flags/new-checkout/toggle`,
      { enabled: false, reason: 'pause rollout' },
    );
    expect(off.status).toBe(200);
    const start = Date.now();
    let r: Evaluations;
    do {
      r = await json<Evaluations>(
        await evaluate(host, {
          flags: ['new-checkout'],
          context: { targetingKey: 'cus_1', country: 'JP' },
        }),
      );
      if (r.flags['new-checkout']?.reason === 'DISABLED') break;
      await new Promise((res) => setTimeout(res, 25));
    } while (Date.now() - start < 2000);
    expect(r.flags['new-checkout']).toMatchObject({ value: false, reason: 'DISABLED' });
  });

  it('a client cannot pose as another storefront or channel through the context', async () => {
    const res = await put('eu-only-banner', {
      valueType: 'boolean',
      definition: {
        variations: [false, true],
        offVariation: 0,
        rules: [
          {
            clauses: [{ attribute: 'storefront', operator: 'in', values: ['eu-store'] }],
            variation: 1,
          },
          { clauses: [{ attribute: 'channel', operator: 'in', values: ['ott'] }], variation: 1 },
        ],
        fallthrough: { variation: 0 },
      },
    });
    expect(res.status).toBe(200);
    const ask = (host: string, context: Record<string, string>) =>
      evaluate(host, {
        flags: ['eu-only-banner'],
        context: { targetingKey: 'cus_1', ...context },
      }).then((r) => json<Evaluations>(r));
    const deadline = Date.now() + 2000;
    while ((await ask(t.hosts['eu-store'] ?? '', {})).flags['eu-only-banner']?.value !== true) {
      if (Date.now() > deadline) throw new Error('flag not published in time');
      await new Promise((r) => setTimeout(r, 25));
    }
    const spoofed = await ask(t.hosts['us-store'] ?? '', {
      storefront: 'eu-store',
      channel: 'ott',
    });
    expect(spoofed.flags['eu-only-banner']).toMatchObject({ value: false, reason: 'DEFAULT' });
  });

  it('rejects bad input with problem+json', async () => {
    const host = t.hosts['us-store'] ?? '';
    await expectProblem(await evaluate(host, { flags: 'new-checkout' }), 400, 'validation_failed');
    await expectProblem(
      await evaluate(host, { context: { 'bad key!': 1 } }),
      400,
      'validation_failed',
    );
    await expectProblem(
      await evaluate(host, { flags: Array.from({ length: 101 }, (_, i) => `f${i}`) }),
      400,
      'validation_failed',
    );
    const notJson = await call(host, '/v1/flags/evaluate', {
      method: 'POST',
      body: '{oops',
      headers: { 'content-type': 'application/json' },
    });
    await expectProblem(notJson, 400, 'validation_failed');
  });

  it('a disabled flag without an off variation answers the caller’s default, reason DISABLED', async () => {
    const res = await put('dark-launch', {
      valueType: 'string',
      enabled: false,
      definition: { variations: ['new-home'], fallthrough: { variation: 0 } },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const host = t.hosts['us-store'] ?? '';
    const ask = (body: Record<string, unknown>) =>
      evaluate(host, { flags: ['dark-launch'], ...body }).then((r) => json<Evaluations>(r));
    const deadline = Date.now() + 2000;
    while ((await ask({})).flags['dark-launch']?.reason !== 'DISABLED') {
      if (Date.now() > deadline) throw new Error('flag not published in time');
      await new Promise((r) => setTimeout(r, 25));
    }
    const withDefault = await ask({ defaults: { 'dark-launch': 'classic-home' } });
    expect(withDefault.flags['dark-launch']).toEqual({
      value: 'classic-home',
      reason: 'DISABLED',
      inExperiment: false,
      flagVersion: 1,
    });
    const without = await ask({});
    expect(without.flags['dark-launch']).toMatchObject({ value: null, reason: 'DISABLED' });
    expect(without.flags['dark-launch']?.variant).toBeUndefined();
  });

  it('rejects an invalid flag definition at write time', async () => {
    const bad = await put('broken', {
      valueType: 'boolean',
      definition: { variations: ['yes'], offVariation: 3, fallthrough: { variation: 0 } },
    });
    const p = await expectProblem(bad, 400, 'validation_failed');
    expect(JSON.stringify(p.errors)).toMatch(/definition\.(variations|offVariation)/);
  });
});
