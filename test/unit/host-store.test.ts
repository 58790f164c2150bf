import { describe, expect, it } from 'vitest';
import { DirectoryStore, HostStore } from '../../src/edge/directory';
import { KeyStore } from '../../src/edge/key-store';
import { Lru } from '../../src/edge/lru';
import type { DirectoryView, EdgeKeyEntry, HostEntry } from '../../src/edge/snapshot';

const ctx = {
  pending: [] as Promise<unknown>[],
  waitUntil(p: Promise<unknown>) {
    this.pending.push(p.catch(() => {}));
  },
  async settle() {
    while (this.pending.length) await this.pending.shift();
  },
};

/** A KV of host entries that counts its reads. */
function hostKv(entries: Record<string, HostEntry> = {}) {
  const kv = {
    reads: 0,
    entries,
    down: false,
    async get(key: string) {
      kv.reads++;
      if (kv.down) throw new Error('KV down');
      const e = kv.entries[key.replace(/^host\//, '')];
      return e ? JSON.stringify(e) : null;
    },
  };
  return kv;
}

/** A directory object stand-in answering `view`. */
function directory(view: DirectoryView) {
  const d = {
    view,
    reads: 0,
    ns: {
      idFromName: () => 'global',
      get: () => ({
        read: async () => {
          d.reads++;
          return d.view;
        },
      }),
    } as unknown as DurableObjectNamespace<never>,
  };
  return d;
}

function stores(
  now: { t: number },
  overrides: Partial<ConstructorParameters<typeof HostStore>[0]> = {},
) {
  const dir = new DirectoryStore({
    pollMs: 1000,
    locationTtlSeconds: 1,
    now: () => now.t,
    cache: () => undefined,
  });
  const hosts = new HostStore(
    {
      maxKnown: 100,
      maxUnknown: 100,
      unknownLifeMs: 60_000,
      readsPerSecond: 100,
      readBurst: 200,
      kvLagMs: 60_000,
      now: () => now.t,
      ...overrides,
    },
    dir,
  );
  return hosts;
}

const A: HostEntry = { tenantId: 'ten_a', storefrontId: 'sf_a' };

describe('HostStore', () => {
  it('answers an unknown host from its negative cache without reading KV again', async () => {
    const now = { t: 1_000_000 };
    const hosts = stores(now);
    const kv = hostKv();
    const d = directory({ seq: 5, recentFrom: 6, recent: [] });
    const look = (h: string) => hosts.lookup(h, kv as unknown as KVNamespace, d.ns as never, ctx);
    expect(await look('nope.test')).toBeNull();
    expect(kv.reads).toBe(1);
    for (let i = 0; i < 1000; i++) expect(look('nope.test')).toBeNull(); // synchronous: no read
    expect(kv.reads).toBe(1);
    // Bounded in life: after a minute it is read again.
    now.t += 61_000;
    expect(await look('nope.test')).toBeNull();
    expect(kv.reads).toBe(2);
  });

  it('a negatively cached host that a publish adds resolves on its next request, from the directory', async () => {
    const now = { t: 1_000_000 };
    const hosts = stores(now);
    const kv = hostKv();
    const d = directory({ seq: 5, recentFrom: 6, recent: [] });
    const look = (h: string) => hosts.lookup(h, kv as unknown as KVNamespace, d.ns as never, ctx);
    expect(await look('new.test')).toBeNull();
    // The publish: the directory lists the change; KV here does not show it yet (propagation).
    d.view = { seq: 6, recentFrom: 6, recent: [{ seq: 6, host: 'new.test', entry: A }] };
    now.t += 1_001; // the isolate's directory copy is due a check
    look('other.test'); // any request starts it
    await ctx.settle();
    expect(look('new.test')).toEqual(A);
    expect(kv.reads).toBe(2); // new.test once, other.test once: never new.test again
  });

  it('a flood of distinct unknown hosts stays within its memory bound and its KV read budget', async () => {
    const now = { t: 1_000_000 };
    const hosts = stores(now, { maxUnknown: 50, readBurst: 20, readsPerSecond: 10 });
    const kv = hostKv({ 'known.test': A });
    const d = directory({ seq: 1, recentFrom: 2, recent: [] });
    const look = (h: string) => hosts.lookup(h, kv as unknown as KVNamespace, d.ns as never, ctx);
    expect(await look('known.test')).toEqual(A);
    let throttled = 0;
    for (let i = 0; i < 500; i++) {
      try {
        await look(`random-${i}.test`);
      } catch (err) {
        expect((err as { code?: string }).code).toBe('host_lookup_throttled');
        throttled++;
      }
    }
    expect(kv.reads).toBeLessThanOrEqual(21); // the burst: time did not move
    expect(throttled).toBeGreaterThanOrEqual(479);
    expect(hosts.sizes().unknown).toBeLessThanOrEqual(100); // two generations of 50
    // The known host is untouched by the flood: answered from memory.
    expect(look('known.test')).toEqual(A);
  });

  it('a cached host moved or removed by a publish follows the directory without a KV read', async () => {
    const now = { t: 1_000_000 };
    const hosts = stores(now);
    const kv = hostKv({ 'shop.test': A });
    const d = directory({ seq: 1, recentFrom: 2, recent: [] });
    const look = (h: string) => hosts.lookup(h, kv as unknown as KVNamespace, d.ns as never, ctx);
    await look('warm.test');
    await ctx.settle();
    expect(await look('shop.test')).toEqual(A);
    const B: HostEntry = { tenantId: 'ten_b', storefrontId: null };
    d.view = { seq: 2, recentFrom: 2, recent: [{ seq: 2, host: 'shop.test', entry: B }] };
    now.t += 1_001;
    await look('warm.test'); // an unknown host on an old view checks the directory first
    const reads = kv.reads;
    expect(look('shop.test')).toEqual(B);
    d.view = {
      seq: 3,
      recentFrom: 2,
      recent: [...d.view.recent, { seq: 3, host: 'shop.test', entry: null }],
    };
    now.t += 1_001;
    await look('warm.test');
    expect(look('shop.test')).toBeNull();
    expect(kv.reads).toBe(reads);
  });

  it('re-reads a cached host whose changes are older than the directory lists (in the background)', async () => {
    const now = { t: 1_000_000 };
    const hosts = stores(now);
    const kv = hostKv({ 'shop.test': A });
    const d = directory({ seq: 1, recentFrom: 2, recent: [] });
    const look = (h: string) => hosts.lookup(h, kv as unknown as KVNamespace, d.ns as never, ctx);
    await look('shop.test');
    await ctx.settle();
    // Many changes later, none listed any more (older than three minutes).
    d.view = { seq: 900, recentFrom: 901, recent: [] };
    now.t += 1_001;
    expect(look('shop.test')).toEqual(A); // answered at once; the directory is checked behind it
    await ctx.settle();
    const reads = kv.reads;
    expect(look('shop.test')).toEqual(A); // served as held, re-read in the background…
    await ctx.settle();
    expect(kv.reads).toBe(reads + 1);
    expect(look('shop.test')).toEqual(A); // …then valid again: no further read
    await ctx.settle();
    expect(kv.reads).toBe(reads + 1);
  });
});

describe('KeyStore', () => {
  const entry: EdgeKeyEntry = {
    id: 'key_1',
    hash: 'h1',
    kind: 'publishable',
    mode: 'test',
    channels: [],
    expiresAt: null,
    rateLimit: null,
    tenantId: 'ten_a',
    storefrontId: 'sf_a',
  };

  it('reads a key once, negative or positive, and re-reads a held one in the background', async () => {
    const now = { t: 0 };
    const store = new KeyStore({
      maxKnown: 10,
      maxUnknown: 10,
      revalidateMs: 60_000,
      unknownLifeMs: 10_000,
      now: () => now.t,
    });
    let reads = 0;
    const kv = {
      async get(key: string) {
        reads++;
        return key === 'key/h1' ? JSON.stringify(entry) : null;
      },
    } as unknown as KVNamespace;
    expect(await store.lookup('h1', kv, ctx)).toEqual(entry);
    expect(store.lookup('h1', kv, ctx)).toEqual(entry);
    expect(await store.lookup('nope', kv, ctx)).toBeNull();
    expect(store.lookup('nope', kv, ctx)).toBeNull();
    expect(reads).toBe(2);
    now.t = 61_000;
    expect(store.lookup('h1', kv, ctx)).toEqual(entry); // served while re-read
    await ctx.settle();
    expect(reads).toBe(3); // h1 re-read in the background
  });

  it('reads an entry published before keys had a mode as a live key', async () => {
    const store = new KeyStore({
      maxKnown: 10,
      maxUnknown: 10,
      revalidateMs: 60_000,
      unknownLifeMs: 10_000,
      now: () => 0,
    });
    const { mode: _, ...older } = { ...entry, hash: 'h2' };
    const kv = {
      async get(key: string) {
        return key === 'key/h2' ? JSON.stringify(older) : null;
      },
    } as unknown as KVNamespace;
    expect(await store.lookup('h2', kv, ctx)).toEqual({ ...older, mode: 'live' });
  });
});

describe('Lru', () => {
  it('holds at most twice its size and keeps what is used', () => {
    const lru = new Lru<number, number>(10);
    for (let i = 0; i < 1000; i++) {
      lru.set(i, i);
      expect(lru.get(0)).toBe(i === 0 ? 0 : lru.get(0));
      lru.get(0);
      expect(lru.size).toBeLessThanOrEqual(20);
    }
    expect(lru.get(0)).toBe(0);
    expect(lru.get(1)).toBeUndefined();
  });
});
