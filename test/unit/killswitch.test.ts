import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectClient } from '../../src/edge/channel';
import { blockingKillswitch, isEngaged, killedProviders } from '../../src/edge/killswitch';
import type { KillswitchView } from '../../src/edge/snapshot';

const ks = (over: Partial<KillswitchView>): KillswitchView => ({
  id: 'ks_1',
  scope: 'feature',
  target: 'checkout',
  storefrontId: null,
  engaged: false,
  failMode: 'closed',
  retryAfterSeconds: 60,
  reason: null,
  ...over,
});
const q = { storefrontId: 'sf_a', channel: 'web', feature: 'checkout' };

describe('killswitch evaluation', () => {
  it('fail modes only matter when config is not fresh', () => {
    expect(isEngaged(ks({ engaged: false, failMode: 'closed' }), true)).toBe(false);
    expect(isEngaged(ks({ engaged: false, failMode: 'closed' }), false)).toBe(true);
    expect(isEngaged(ks({ engaged: false, failMode: 'open' }), false)).toBe(false);
    expect(isEngaged(ks({ engaged: true, failMode: 'open' }), false)).toBe(true);
  });

  it('matches scopes and storefront narrowing', () => {
    expect(blockingKillswitch([ks({ engaged: true })], q, true)?.target).toBe('checkout');
    expect(
      blockingKillswitch([ks({ engaged: true, storefrontId: 'sf_b' })], q, true),
    ).toBeUndefined();
    expect(blockingKillswitch([ks({ engaged: true, target: 'signup' })], q, true)).toBeUndefined();
    expect(
      blockingKillswitch([ks({ engaged: true, scope: 'channel', target: 'ott' })], q, true),
    ).toBeUndefined();
    expect(
      blockingKillswitch([ks({ engaged: true, scope: 'channel', target: 'web' })], q, true)?.scope,
    ).toBe('channel');
    expect(
      blockingKillswitch(
        [ks({ engaged: true, scope: 'storefront', storefrontId: 'sf_a', target: '' })],
        q,
        true,
      )?.scope,
    ).toBe('storefront');
    expect(
      blockingKillswitch([ks({ engaged: true, scope: 'provider', target: 'stripe' })], q, true),
    ).toBeUndefined();
  });

  it('the broadest engaged switch wins, whatever the order', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(['tenant', 'channel', 'feature'] as const, { minLength: 1 }),
        (scopes) => {
          const list = scopes.map((scope, i) =>
            ks({
              id: `ks_${i}`,
              scope,
              target: scope === 'channel' ? 'web' : scope === 'feature' ? 'checkout' : '',
              engaged: true,
            }),
          );
          const order = ['tenant', 'storefront', 'channel', 'feature'];
          const broadest = [...scopes].sort((a, b) => order.indexOf(a) - order.indexOf(b))[0];
          expect(blockingKillswitch(list, q, true)?.scope).toBe(broadest);
        },
      ),
    );
  });

  it('killed providers', () => {
    const list = [
      ks({ scope: 'provider', target: 'stripe', engaged: true }),
      ks({ scope: 'provider', target: 'adyen', engaged: false, failMode: 'closed' }),
      ks({ scope: 'provider', target: 'paypal', engaged: true, storefrontId: 'sf_b' }),
    ];
    expect([...killedProviders(list, 'sf_a', true)]).toEqual(['stripe']);
    expect([...killedProviders(list, 'sf_a', false)].sort()).toEqual(['adyen', 'stripe']);
  });
});

describe('client detection', () => {
  const h = (o: Record<string, string>) => new Headers(o);
  it('TV user agents are OTT and compact', () => {
    for (const ua of [
      'Roku/DVP-12.5',
      'Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0)',
      'AppleTV11,1/11.1',
      'Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7233)',
      'Mozilla/5.0 (Web0S; Linux/SmartTV)',
    ]) {
      expect(detectClient(h({ 'user-agent': ua }), 'web')).toMatchObject({
        channel: 'ott',
        shape: 'compact',
      });
    }
  });
  it('explicit channel header wins; the storefront channel is the default', () => {
    expect(
      detectClient(h({ 'x-client-channel': 'partner', 'user-agent': 'Roku' }), 'web'),
    ).toMatchObject({ channel: 'partner', shape: 'full' });
    expect(detectClient(h({}), 'ott')).toMatchObject({ channel: 'ott', shape: 'compact' });
    expect(
      detectClient(h({ 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)' }), 'web').channel,
    ).toBe('mobile');
    expect(detectClient(h({ 'x-response-shape': 'full' }), 'ott').shape).toBe('full');
  });
});
