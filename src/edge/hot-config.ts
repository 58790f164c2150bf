import type { TenantConfigContract } from '../contracts/tenant-config';
import { putInLocation } from './location-cache';
import { type HotConfig, HotConfigSchema } from './snapshot';

interface Waiter {
  waitUntil(p: Promise<unknown>): void;
}

export interface HotConfigOptions {
  /** How often an isolate looks for a newer version (in the background). */
  pollMs: number;
  /** How long the per-location cache holds a tenant's hot config. */
  locationTtlSeconds: number;
  /** After this long without a successful check, the config counts as not fresh. */
  staleAfterMs: number;
  now: () => number;
  /** The per-location cache tier (the Cache API); none in unit tests of the isolate logic. */
  cache?: () => Cache | undefined;
}

/** What {@link HotConfigStore.peek} and `get` answer. Never mutated once handed out. */
export interface HotSignal {
  readonly config?: HotConfig;
  readonly fresh: boolean;
}

interface Entry {
  config?: HotConfig;
  /** The last answer handed out, reused while config and freshness are unchanged. */
  signal?: HotSignal;
  checkedAt: number;
  lastOkAt: number;
  /** When a check last failed (the object or the cache unreachable). */
  lastFailAt: number;
  /** A background check is under way. A flag, never a shared promise: a request must not
   * await I/O that another request started (Workers forbid it). */
  refreshing: boolean;
}

const CACHE_ORIGIN = 'https://tenant-config.azotte.internal/';

/**
 * The edge's view of each tenant's hot config (flags and killswitches).
 *
 * Load on the tenant's Durable Object is bounded by locations, not isolates: an isolate polls
 * at most every `pollMs`, in the background, and every poll first asks the per-location Cache
 * API, which holds the tenant's hot config for `locationTtlSeconds`. So the object sees about
 * one read per location per second, whatever the number of isolates.
 */
export class HotConfigStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: HotConfigOptions) {}

  /**
   * The tenant's hot config as this isolate knows it. The first call for a tenant waits for
   * one check (so a cold isolate never serves without recent killswitches); later calls return
   * at once and refresh in the background.
   */
  async get(
    ns: DurableObjectNamespace<TenantConfigContract>,
    tenantId: string,
    ctx: Waiter,
  ): Promise<HotSignal> {
    const known = this.peek(ns, tenantId, ctx);
    if (known) return known;
    let entry = this.entries.get(tenantId);
    if (!entry) {
      entry = {
        checkedAt: 0,
        lastOkAt: 0,
        lastFailAt: Number.NEGATIVE_INFINITY,
        refreshing: false,
      };
      this.entries.set(tenantId, entry);
    }
    // Never checked: wait for our own check (concurrent first requests each make one).
    await this.refresh(ns, tenantId, entry);
    return this.signal(entry, this.options.now());
  }

  /**
   * {@link get} without a promise when this isolate has checked the tenant before (the usual
   * case); undefined for a tenant it has never checked, which must wait for `get`.
   */
  peek(
    ns: DurableObjectNamespace<TenantConfigContract>,
    tenantId: string,
    ctx: Waiter,
  ): HotSignal | undefined {
    const entry = this.entries.get(tenantId);
    // Never checked, or the first check is still under way: the caller makes its own check
    // (rather than serving without the tenant's hot config, or awaiting another request's).
    if (!entry || (entry.lastOkAt === 0 && (entry.checkedAt === 0 || entry.refreshing))) {
      return undefined;
    }
    const now = this.options.now();
    // Idle past the stale limit with no check even tried since (no traffic, not an outage):
    // the caller checks first, so a quiet isolate never serves as "not fresh" (and engages
    // fail-closed switches) merely because nobody asked for a while.
    // Requests arriving while that first check runs make their own (a burst after a quiet spell
    // must not see "not fresh" either). Only a check that failed recently — an outage — lets
    // requests go on with the last config without waiting.
    const { staleAfterMs } = this.options;
    if (now - entry.lastOkAt > staleAfterMs && now - entry.lastFailAt > staleAfterMs) {
      return undefined;
    }
    if (now - entry.checkedAt >= this.options.pollMs && !entry.refreshing) {
      ctx.waitUntil(this.refresh(ns, tenantId, entry));
    }
    return this.signal(entry, now);
  }

  /**
   * Whether a request that the tenant's config in hand does not know (a path prefix or
   * storefront) should check once more before its 404: the last check is older than `pollMs`.
   * So a prefix a publish just added resolves on its first request, and a flood of unknown
   * prefixes costs one check per `pollMs`.
   */
  mayRecheck(tenantId: string): boolean {
    const entry = this.entries.get(tenantId);
    return (
      entry !== undefined &&
      !entry.refreshing &&
      this.options.now() - entry.checkedAt >= this.options.pollMs
    );
  }

  /** Checks the tenant's config object now (see {@link mayRecheck}). */
  async recheck(
    ns: DurableObjectNamespace<TenantConfigContract>,
    tenantId: string,
    ctx: Waiter,
  ): Promise<HotSignal> {
    const entry = this.entries.get(tenantId);
    if (!entry) return this.get(ns, tenantId, ctx);
    await this.refresh(ns, tenantId, entry, true);
    return this.signal(entry, this.options.now());
  }

  /** The entry's answer at `now`; the same object as last time when nothing changed. */
  private signal(entry: Entry, now: number): HotSignal {
    const fresh = now - entry.lastOkAt <= this.options.staleAfterMs;
    const last = entry.signal;
    if (last && last.config === entry.config && last.fresh === fresh) return last;
    const signal: HotSignal = { config: entry.config, fresh };
    entry.signal = signal;
    return signal;
  }

  private async refresh(
    ns: DurableObjectNamespace<TenantConfigContract>,
    tenantId: string,
    entry: Entry,
    skipCache = false,
  ): Promise<void> {
    entry.checkedAt = this.options.now();
    entry.refreshing = true;
    try {
      const config = await this.load(ns, tenantId, entry.config?.version ?? -1, skipCache);
      if (config && (!entry.config || config.version >= entry.config.version))
        entry.config = config;
      entry.lastOkAt = this.options.now();
    } catch {
      // DO or cache unreachable: keep the last known config; freshness decays on its own.
      entry.lastFailAt = this.options.now();
    } finally {
      entry.refreshing = false;
    }
  }

  private async load(
    ns: DurableObjectNamespace<TenantConfigContract>,
    tenantId: string,
    knownVersion: number,
    skipCache = false,
  ): Promise<HotConfig | undefined> {
    const cache = this.options.cache ? this.options.cache() : caches.default;
    const key = new Request(CACHE_ORIGIN + encodeURIComponent(tenantId));
    const hit = skipCache ? undefined : await cache?.match(key);
    if (hit) {
      const cached = (await hit.json()) as { version: number; config?: unknown };
      if (cached.version <= knownVersion) return undefined; // nothing newer than ours
      const parsed = HotConfigSchema.safeParse(cached.config);
      if (parsed.success) return parsed.data;
    }
    const stub = ns.get(ns.idFromName(tenantId));
    const res: { version: number; config?: unknown } = await stub.read(-1);
    let config: HotConfig | undefined;
    if (res.config !== undefined) {
      const parsed = HotConfigSchema.safeParse(res.config);
      if (!parsed.success) throw new Error('the tenant config object holds an unreadable config');
      config = parsed.data;
    }
    await putInLocation(cache, key, res, this.options.locationTtlSeconds);
    return config;
  }

  /** Drops the tenant's copy in this location's cache (tests: a location that never read it). */
  async forgetLocation(tenantId: string): Promise<void> {
    const cache = this.options.cache ? this.options.cache() : caches.default;
    await cache?.delete(new Request(CACHE_ORIGIN + encodeURIComponent(tenantId)));
  }

  /** Forget everything (tests: a cold isolate). */
  reset(): void {
    this.entries.clear();
  }
}

export const hotConfig = new HotConfigStore({
  pollMs: 250,
  locationTtlSeconds: 1,
  staleAfterMs: 10_000,
  now: () => Date.now(),
});
