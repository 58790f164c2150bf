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
  /** When a check last failed (the object or the cache unreachable). */
  lastFailAt: number;
}

/** How long after a failed check requests go on with the last list without checking first. */
const STALE_AFTER_MS = 10_000;

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
    const now = this.options.now();
    if (entry?.ok) {
      const age = now - entry.checkedAt;
      // Under traffic the background checks keep the list within a poll of the location's
      // copy. An isolate that sat idle must not decide on an old list: it checks first —
      // unless a check failed just now (an outage), when it goes on with the last list.
      const stale = age >= this.options.pollMs + this.options.locationTtlSeconds * 1000;
      if (stale && now - entry.lastFailAt > STALE_AFTER_MS) {
        return this.refresh(ns, tenantId, entry).then(() => entry.list);
      }
      if (age >= this.options.pollMs && !entry.refreshing) {
        ctx.waitUntil(this.refresh(ns, tenantId, entry));
      }
      return entry.list;
    }
    const fresh: Entry = entry ?? {
      list: NONE,
      checkedAt: 0,
      refreshing: false,
      ok: false,
      lastFailAt: Number.NEGATIVE_INFINITY,
    };
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
      entry.lastFailAt = this.options.now();
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
