import { ApiError } from '../errors';
import {
  KV_KEYS,
  type RoutingTable,
  RoutingTableSchema,
  type StorefrontSnapshot,
  StorefrontSnapshotSchema,
} from './snapshot';

/** A snapshot or routing table larger than this is refused (treated like a corrupt one). */
export const MAX_CONFIG_BYTES = 2 * 1024 * 1024;

export interface ConfigStoreOptions {
  /** How old the cached routing table may be before a background refresh. */
  revalidateMs: number;
  now: () => number;
}

interface Waiter {
  waitUntil(p: Promise<unknown>): void;
}

function parseConfig<T>(
  raw: string | null,
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
): T | undefined {
  if (raw === null || raw.length > MAX_CONFIG_BYTES) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The in-isolate cache of the published read model. The routing table is served from memory
 * and revalidated in the background; snapshots are immutable per (storefront, version) key, so
 * they are cached until evicted. When KV is unreachable or holds something unreadable, the last
 * good copy keeps serving (fail static).
 */
export class EdgeConfigStore {
  private routing?: { table: RoutingTable; fetchedAt: number };
  /** A background refresh is under way (a flag, not its promise: see routingTable). */
  private refreshing = false;
  /** When a miss last made this isolate re-read the routing table (see recheckRouting). */
  private recheckedAt = Number.NEGATIVE_INFINITY;
  private readonly snapshots = new Map<string, StorefrontSnapshot>();
  /** Per storefront, the highest version loaded (by the version of its KV key). */
  private readonly newest = new Map<string, { version: number; snapshot: StorefrontSnapshot }>();
  /** storefront id → last good snapshot, whatever its version */
  private readonly lastGood = new Map<string, StorefrontSnapshot>();

  constructor(private readonly options: ConfigStoreOptions) {}

  /**
   * The routing table from memory, refreshed in the background when older than
   * `revalidateMs`. A request never awaits another request's KV read: Workers forbid using one
   * request's I/O from another, so a cold isolate's concurrent first requests each read KV.
   */
  async routingTable(kv: KVNamespace, ctx: Waiter): Promise<RoutingTable> {
    const cached = this.cachedRoutingTable(kv, ctx);
    if (cached) return cached;
    await this.refreshRouting(kv);
    if (!this.routing) {
      throw new ApiError(
        'config_unavailable',
        'The storefront configuration could not be loaded. Retry shortly.',
        { headers: { 'retry-after': '5' } },
      );
    }
    return this.routing.table;
  }

  /** The routing table if this isolate holds one (refreshing it in the background when old). */
  cachedRoutingTable(kv: KVNamespace, ctx: Waiter): RoutingTable | undefined {
    const cached = this.routing;
    if (!cached) return undefined;
    if (this.options.now() - cached.fetchedAt > this.options.revalidateMs && !this.refreshing) {
      this.refreshing = true;
      ctx.waitUntil(
        this.refreshRouting(kv).finally(() => {
          this.refreshing = false;
        }),
      );
    }
    return cached.table;
  }

  /**
   * For a request the routing table in hand does not know (an unknown host, storefront or
   * prefix): when that copy is older than `revalidateMs`, re-reads it and answers true, so the
   * caller resolves again before answering 404. A host a publish just added thus resolves on its
   * first request. At most one such read per `revalidateMs` per isolate, however many unknown
   * hosts arrive (a flood of random `Host` headers costs one KV read a second).
   */
  /** Whether {@link recheckRouting} would re-read the table now (no I/O). */
  mayRecheck(): boolean {
    const now = this.options.now();
    const cached = this.routing;
    return (
      cached !== undefined &&
      now - cached.fetchedAt > this.options.revalidateMs &&
      now - this.recheckedAt > this.options.revalidateMs
    );
  }

  async recheckRouting(kv: KVNamespace): Promise<boolean> {
    const cached = this.routing;
    if (!cached || !this.mayRecheck()) return false;
    this.recheckedAt = this.options.now();
    await this.refreshRouting(kv);
    return this.routing !== undefined && this.routing.table !== cached.table;
  }

  /**
   * The snapshot of `storefrontId` at `version` if this isolate holds it. The storefront's
   * newest one is found without building its KV key (this runs on every request).
   */
  cachedSnapshot(storefrontId: string, version: number): StorefrontSnapshot | undefined {
    const newest = this.newest.get(storefrontId);
    if (newest?.version === version) return newest.snapshot;
    return this.snapshots.get(KV_KEYS.snapshot(storefrontId, version));
  }

  /** Reads the routing table from KV; keeps the last good copy on any failure. */
  async refreshRouting(kv: KVNamespace): Promise<void> {
    let raw: string | null;
    try {
      raw = await kv.get(KV_KEYS.routing, 'text');
    } catch {
      return; // KV unreachable: keep serving what we have
    }
    const table = parseConfig(raw, RoutingTableSchema);
    if (table) this.routing = { table, fetchedAt: this.options.now() };
    else if (this.routing) this.routing = { ...this.routing, fetchedAt: this.options.now() };
  }

  /**
   * The snapshot of `storefrontId` at `version`; the last good one of that storefront if that
   * version cannot be read (the boolean says so).
   */
  async snapshot(
    kv: KVNamespace,
    storefrontId: string,
    version: number,
  ): Promise<{ snapshot: StorefrontSnapshot; stale: boolean }> {
    const key = KV_KEYS.snapshot(storefrontId, version);
    const hit = this.snapshots.get(key);
    if (hit) return { snapshot: hit, stale: false };
    let raw: string | null = null;
    try {
      raw = await kv.get(key, 'text');
    } catch {
      raw = null;
    }
    const snap = parseConfig(raw, StorefrontSnapshotSchema);
    if (snap && snap.storefront.id === storefrontId) {
      if (this.snapshots.size >= 512) {
        const oldest = this.snapshots.keys().next().value;
        if (oldest !== undefined) this.snapshots.delete(oldest);
      }
      this.snapshots.set(key, snap);
      this.lastGood.set(storefrontId, snap);
      const newest = this.newest.get(storefrontId);
      if (!newest || newest.version <= version)
        this.newest.set(storefrontId, { version, snapshot: snap });
      return { snapshot: snap, stale: false };
    }
    const good = this.lastGood.get(storefrontId);
    if (good) return { snapshot: good, stale: true };
    throw new ApiError(
      'config_unavailable',
      'This storefront’s configuration could not be loaded. Retry shortly.',
      { headers: { 'retry-after': '5' } },
    );
  }

  /** Forget everything (tests: a cold isolate). */
  reset(): void {
    this.routing = undefined;
    this.refreshing = false;
    this.recheckedAt = Number.NEGATIVE_INFINITY;
    this.snapshots.clear();
    this.lastGood.clear();
    this.newest.clear();
  }
}

/** The isolate's store. */
export const edgeConfig = new EdgeConfigStore({ revalidateMs: 1000, now: () => Date.now() });
