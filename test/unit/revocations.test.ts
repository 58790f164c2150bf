/**
 * The edge's revocation list (src/edge/revocations.ts) with a stand-in config object and clock:
 * a cold isolate checks first; under traffic the checks run in the background; an isolate that
 * sat idle checks before deciding (so a revocation made while it was quiet is seen on its first
 * request), unless a check failed just now (an outage: the last list stays in use).
 */
import { describe, expect, it } from 'vitest';
import type { RevocationsRead, TenantConfigContract } from '../../src/contracts/tenant-config';
import { isRevoked, RevocationStore, type Revocations } from '../../src/edge/revocations';

function fakeNamespace(state: { read: RevocationsRead; down: boolean; reads: number }) {
  return {
    idFromName: (n: string) => n,
    get: () => ({
      revocations: async (known: number) => {
        state.reads += 1;
        if (state.down) throw new Error('unreachable');
        return state.read.rev > known ? state.read : { rev: state.read.rev };
      },
    }),
  } as unknown as DurableObjectNamespace<TenantConfigContract>;
}

const who = { storefrontId: 'sf', mode: 'live', customerId: 'cus_1' };
const background: Promise<unknown>[] = [];
const ctx = { waitUntil: (p: Promise<unknown>) => background.push(p) };

describe('RevocationStore', () => {
  it('cold: waits; busy: background; idle: checks first; outage: keeps the last list', async () => {
    let now = 10_000;
    const state = {
      read: { rev: 1, cutoff: 0, entries: [] } as RevocationsRead,
      down: false,
      reads: 0,
    };
    const ns = fakeNamespace(state);
    const store = new RevocationStore({
      pollMs: 250,
      locationTtlSeconds: 1,
      now: () => now,
      cache: () => undefined, // no location tier: every check reaches the object
    });
    const first = store.get(ns, 'ten', ctx);
    expect(first).toBeInstanceOf(Promise);
    expect(isRevoked(await first, who, { ver: 1, iat: 1 })).toBe(false);
    // Within a poll: from memory, no check.
    now += 100;
    expect(store.get(ns, 'ten', ctx)).not.toBeInstanceOf(Promise);
    expect(state.reads).toBe(1);
    // Past a poll: from memory, and a check in the background.
    now += 200;
    expect(store.get(ns, 'ten', ctx)).not.toBeInstanceOf(Promise);
    await Promise.all(background);
    expect(state.reads).toBe(2);
    // Quiet for a minute, then the customer is revoked: the first request checks first.
    state.read = { rev: 2, cutoff: 0, entries: [['sf:live:cus_1', 3]] };
    now += 60_000;
    const idle = store.get(ns, 'ten', ctx);
    expect(idle).toBeInstanceOf(Promise);
    expect(isRevoked((await idle) as Revocations, who, { ver: 2, iat: 1 })).toBe(true);
    // An outage: the check fails; for the next 10 s requests go on with the last list.
    state.down = true;
    now += 60_000;
    expect(
      isRevoked((await store.get(ns, 'ten', ctx)) as Revocations, who, { ver: 2, iat: 1 }),
    ).toBe(true);
    now += 2_000;
    const during = store.get(ns, 'ten', ctx);
    expect(during).not.toBeInstanceOf(Promise);
    expect(isRevoked(during as Revocations, who, { ver: 2, iat: 1 })).toBe(true);
    await Promise.allSettled(background);
  });
});
