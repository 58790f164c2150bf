import { ApiError } from '../errors';
import { KV_KEYS, type StorefrontSnapshot, StorefrontSnapshotSchema } from './snapshot';

/** A snapshot larger than this is refused (treated like a corrupt one). */
export const MAX_CONFIG_BYTES = 2 * 1024 * 1024;

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
 * The in-isolate cache of storefront snapshots. They are immutable per (storefront, version)
 * key, so they are cached until evicted (at most 512). When KV is unreachable or holds
 * something unreadable, the storefront's last good copy keeps serving (fail static).
 */
export class EdgeConfigStore {
  private readonly snapshots = new Map<string, StorefrontSnapshot>();
  /** Per storefront, the highest version loaded (by the version of its KV key). */
  private readonly newest = new Map<string, { version: number; snapshot: StorefrontSnapshot }>();
  /** storefront id → last good snapshot, whatever its version */
  private readonly lastGood = new Map<string, StorefrontSnapshot>();

  /**
   * The snapshot of `storefrontId` at `version` if this isolate holds it. The storefront's
   * newest one is found without building its KV key (this runs on every request).
   */
  cachedSnapshot(storefrontId: string, version: number): StorefrontSnapshot | undefined {
    const newest = this.newest.get(storefrontId);
    if (newest?.version === version) return newest.snapshot;
    return this.snapshots.get(KV_KEYS.snapshot(storefrontId, version));
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
    this.snapshots.clear();
    this.lastGood.clear();
    this.newest.clear();
  }
}

/** The isolate's store. */
export const edgeConfig = new EdgeConfigStore();
