import { describe, expect, it } from 'vitest';
import type { TenantConfigContract } from '../../src/contracts/tenant-config';
import { HotConfigStore } from '../../src/edge/hot-config';
import type { HotConfig } from '../../src/edge/snapshot';

function fakeNamespace(state: { config?: HotConfig; down: boolean; reads: number }) {
  return {
    idFromName: (n: string) => n,
    get: () => ({
      read: async () => {
        state.reads += 1;
        if (state.down) throw new Error('unreachable');
        return state.config
          ? { version: state.config.version, config: state.config }
          : { version: -1 };
      },
    }),
  } as unknown as DurableObjectNamespace<TenantConfigContract>;
}

const hot = (version: number): HotConfig => ({
  version,
  publishedAt: 'x',
  routing: {
    tenantId: 'ten_1',
    slug: 't',
    version,
    defaultStorefrontId: null,
    pathPrefixes: {},
    countries: {},
    continents: {},
    storefronts: {},
  },
  storefronts: {},
  keys: { recent: [], revoked: [] },
});

describe('HotConfigStore', () => {
  it('waits once on a cold tenant, then polls in the background at most every pollMs', async () => {
    let now = 1000;
    const state = { config: hot(3), down: false, reads: 0 };
    const store = new HotConfigStore({
      pollMs: 250,
      locationTtlSeconds: 1,
      staleAfterMs: 10_000,
      now: () => now,
      cache: () => undefined,
    });
    const waits: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => waits.push(p) };
    const ns = fakeNamespace(state);
    expect((await store.get(ns, 'ten_a', ctx)).config?.version).toBe(3);
    state.config = hot(4);
    for (let i = 0; i < 10; i++) await store.get(ns, 'ten_a', ctx);
    expect(waits.length).toBe(0); // within pollMs: no extra work per request
    now += 300;
    expect((await store.get(ns, 'ten_a', ctx)).config?.version).toBe(3); // served at once…
    await Promise.all(waits);
    expect((await store.get(ns, 'ten_a', ctx)).config?.version).toBe(4); // …refreshed behind it
  });

  it('keeps the last config when the object is unreachable, and stops counting it fresh', async () => {
    let now = 0;
    const state = { config: hot(7), down: false, reads: 0 };
    const store = new HotConfigStore({
      pollMs: 100,
      locationTtlSeconds: 1,
      staleAfterMs: 1000,
      now: () => now,
      cache: () => undefined,
    });
    const ctx = { waitUntil: (p: Promise<unknown>) => p };
    const ns = fakeNamespace(state);
    expect(await store.get(ns, 'ten_b', ctx)).toMatchObject({
      fresh: true,
      config: { version: 7 },
    });
    state.down = true;
    now = 500;
    await store.get(ns, 'ten_b', ctx);
    await new Promise((r) => setTimeout(r, 0));
    expect(await store.get(ns, 'ten_b', ctx)).toMatchObject({
      fresh: true,
      config: { version: 7 },
    });
    now = 1600;
    await store.get(ns, 'ten_b', ctx);
    await new Promise((r) => setTimeout(r, 0));
    expect(await store.get(ns, 'ten_b', ctx)).toMatchObject({
      fresh: false,
      config: { version: 7 },
    });
    state.down = false;
    now = 1800;
    await store.get(ns, 'ten_b', ctx);
    await new Promise((r) => setTimeout(r, 0));
    expect((await store.get(ns, 'ten_b', ctx)).fresh).toBe(true);
  });

  it('an isolate idle past the stale limit checks before serving: never "not fresh" for lack of traffic', async () => {
    let now = 0;
    const state = { config: hot(5), down: false, reads: 0 };
    const store = new HotConfigStore({
      pollMs: 100,
      locationTtlSeconds: 1,
      staleAfterMs: 1000,
      now: () => now,
      cache: () => undefined,
    });
    const ns = fakeNamespace(state);
    const ctx = { waitUntil: (p: Promise<unknown>) => p };
    await store.get(ns, 'ten_d', ctx);
    now = 20_000; // nobody asked for 20 s
    expect(store.peek(ns, 'ten_d', ctx)).toBeUndefined(); // the caller must check first…
    expect(await store.get(ns, 'ten_d', ctx)).toMatchObject({ fresh: true }); // …and is fresh
    // A burst after a quiet spell: requests that arrive while the first check runs make their
    // own, never answering "not fresh".
    now = 40_000 - 15_000;
    const burst = [store.get(ns, 'ten_d', ctx), store.get(ns, 'ten_d', ctx)];
    expect(store.peek(ns, 'ten_d', ctx)).toBeUndefined();
    for (const s of await Promise.all(burst)) expect(s.fresh).toBe(true);
    // An outage is different: checks keep failing, and requests are not held up by them.
    state.down = true;
    now = 40_000;
    expect((await store.get(ns, 'ten_d', ctx)).fresh).toBe(false); // one request checks…
    now = 40_050;
    expect(store.peek(ns, 'ten_d', ctx)).toMatchObject({ fresh: false }); // …the rest do not wait
  });

  it('never goes back to an older version', async () => {
    let now = 0;
    const state = { config: hot(9), down: false, reads: 0 };
    const store = new HotConfigStore({
      pollMs: 10,
      locationTtlSeconds: 1,
      staleAfterMs: 1000,
      now: () => now,
      cache: () => undefined,
    });
    const ns = fakeNamespace(state);
    const ctx = { waitUntil: (p: Promise<unknown>) => p };
    await store.get(ns, 'ten_c', ctx);
    state.config = hot(8);
    now = 100;
    await store.get(ns, 'ten_c', ctx);
    await new Promise((r) => setTimeout(r, 0));
    expect((await store.get(ns, 'ten_c', ctx)).config?.version).toBe(9);
  });
});
