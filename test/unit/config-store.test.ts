import { describe, expect, it } from 'vitest';
import { EdgeConfigStore } from '../../src/edge/config-store';

/** A KV that counts reads and serves one routing table. */
function countingKv() {
  const kv = {
    reads: 0,
    table: { schemaVersion: 1, generatedAt: '2026-12-01T00:00:00.000Z', hosts: {}, tenants: {} },
    async get() {
      kv.reads += 1;
      return JSON.stringify(kv.table);
    },
  };
  return kv;
}

const ctx = { waitUntil: (p: Promise<unknown>) => void p.catch(() => {}) };

describe('EdgeConfigStore.recheckRouting', () => {
  it('re-reads a stale copy for a miss, at most once per revalidation interval', async () => {
    let now = 0;
    const store = new EdgeConfigStore({ revalidateMs: 1000, now: () => now });
    const kv = countingKv();
    const ns = kv as unknown as KVNamespace;
    await store.routingTable(ns, ctx);
    expect(kv.reads).toBe(1);
    // A fresh copy is trusted: no re-read for a miss.
    now = 500;
    expect(store.mayRecheck()).toBe(false);
    expect(await store.recheckRouting(ns)).toBe(false);
    expect(kv.reads).toBe(1);
    // Stale: the first miss re-reads; a flood of further misses in the same second does not.
    now = 1_500;
    expect(await store.recheckRouting(ns)).toBe(true);
    expect(kv.reads).toBe(2);
    now = 2_600; // the copy read at 1,500 is stale again, but the last re-read was 1.1 s ago
    for (let i = 0; i < 1000; i++) await store.recheckRouting(ns);
    expect(kv.reads).toBe(3);
  });

  it('an unreachable KV keeps the copy and is not asked again within the interval', async () => {
    let now = 0;
    const store = new EdgeConfigStore({ revalidateMs: 1000, now: () => now });
    const kv = countingKv();
    const ns = kv as unknown as KVNamespace;
    await store.routingTable(ns, ctx);
    kv.get = async () => {
      kv.reads += 1;
      throw new Error('KV down');
    };
    now = 5_000;
    expect(await store.recheckRouting(ns)).toBe(false);
    for (let i = 0; i < 100; i++) await store.recheckRouting(ns);
    expect(kv.reads).toBe(2);
    expect(store.cachedRoutingTable(ns, ctx)).toBeDefined();
  });
});
