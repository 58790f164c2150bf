/**
 * The edge's view of each tenant's entitlement-token revocations, kept the way the hot config
 * is (src/edge/hot-config.ts): an isolate checks the tenant's config object in the background at
 * most every 250 ms, and every check goes first to the per-location Cache API, which holds the
 * list for 1 s. So a revocation is refused at the edge within about 1.25 s of the entitlements
 * object recording it, and the object sees about one read per location per second.
 *
 * A cold isolate waits for its first check of a tenant. When checks fail (the object or the cache
 * unreachable), the last list stays in use: a token is short-lived (5 minutes), so an outage of
 * this path lets a revoked token live at most that long — the same bound as a verifier that never
 * looks anything up.
 */

import type { TenantConfigContract } from '../contracts/tenant-config';
import { type RevocationsRead, revocationSubject } from '../contracts/tenant-config';
import { putInLocation } from './location-cache';

interface Waiter {
  waitUntil(p: Promise<unknown>): void;
}

/** A tenant's revocations as this isolate holds them. */
export interface Revocations {
  rev: number;
  /** unix seconds: tokens issued before it are refused. */
  cutoff: number;
  /** subject (storefront:mode:customer) → the lowest version still good. */
  minVersion: ReadonlyMap<string, number>;
}

interface Entry {
  list: Revocations;
  checkedAt: number;
  refreshing: boolean;
  ok: boolean;
}

const NONE: Revocations = { rev: -1, cutoff: 0, minVersion: new Map() };
const CACHE_ORIGIN = 'https://tenant-config.azotte.internal/revocations/';

export class RevocationStore {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly options: {
      pollMs: number;
      locationTtlSeconds: number;
      now: () => number;
      cache?: () => Cache | undefined;
    },
  ) {}

  /** The tenant's revocations now; a promise only for a tenant this isolate never checked. */
  get(
    ns: DurableObjectNamespace<TenantConfigContract>,
    tenantId: string,
    ctx: Waiter,
  ): Revocations | Promise<Revocations> {
    const entry = this.entries.get(tenantId);
    if (entry?.ok) {
      if (this.options.now() - entry.checkedAt >= this.options.pollMs && !entry.refreshing) {
        ctx.waitUntil(this.refresh(ns, tenantId, entry));
      }
      return entry.list;
    }
    const fresh: Entry = entry ?? { list: NONE, checkedAt: 0, refreshing: false, ok: false };
    this.entries.set(tenantId, fresh);
    return this.refresh(ns, tenantId, fresh).then(() => fresh.list);
  }

  private async refresh(
    ns: DurableObjectNamespace<TenantConfigContract>,
    tenantId: string,
    entry: Entry,
  ): Promise<void> {
    entry.checkedAt = this.options.now();
    entry.refreshing = true;
    try {
      const read = await this.load(ns, tenantId, entry.list.rev);
      if (read.entries && read.rev > entry.list.rev) {
        entry.list = {
          rev: read.rev,
          cutoff: read.cutoff ?? 0,
          minVersion: new Map(read.entries),
        };
      }
      entry.ok = true;
    } catch {
      // Keep the last list (see the module comment); a first check that fails serves none.
      entry.ok = entry.list !== NONE;
    } finally {
      entry.refreshing = false;
    }
  }

  private async load(
    ns: DurableObjectNamespace<TenantConfigContract>,
    tenantId: string,
    knownRev: number,
  ): Promise<RevocationsRead> {
    const cache = this.options.cache ? this.options.cache() : caches.default;
    const key = new Request(CACHE_ORIGIN + encodeURIComponent(tenantId));
    const hit = await cache?.match(key);
    if (hit) {
      const cached = (await hit.json()) as RevocationsRead;
      if (cached.rev <= knownRev) return { rev: cached.rev };
      if (Array.isArray(cached.entries)) return cached;
    }
    const read = (await ns.get(ns.idFromName(tenantId)).revocations(-1)) as RevocationsRead;
    await putInLocation(cache, key, read, this.options.locationTtlSeconds);
    return read;
  }

  /** Forget everything (tests: a cold isolate). */
  reset(): void {
    this.entries.clear();
  }
}

/** Whether a token of `ver`, issued at `iat`, for this customer is revoked. */
export function isRevoked(
  list: Revocations,
  who: { storefrontId: string; mode: string; customerId: string },
  token: { ver: number; iat: number },
): boolean {
  if (token.iat < list.cutoff) return true;
  const min = list.minVersion.get(revocationSubject(who));
  return min !== undefined && token.ver < min;
}

export const revocations = new RevocationStore({
  pollMs: 250,
  locationTtlSeconds: 1,
  now: () => Date.now(),
});
