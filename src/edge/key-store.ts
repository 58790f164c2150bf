/**
 * Storefront API keys at the edge by hash lookup: each key has its own KV entry
 * (`key/<sha256>`), read on first use and kept per isolate (bounded, positive and negative),
 * so a storefront with 10,000 keys costs a request what one with two does. What KV may not
 * show everywhere yet rides in the tenant's hot config (about a second behind a publish): keys
 * created or changed in the last three minutes, and the ids of keys revoked in the last ten,
 * which are refused whatever KV or this isolate's copy says.
 *
 * Bounds on a stale answer: a revoked key is refused within the hot config's delay (about a
 * second; `staleAfterMs` of the hot config when its object is unreachable). A key changed in
 * another way (a rotation's new expiry) is seen within the hot config's delay while it is
 * recent, and an isolate re-reads a key it holds every `revalidateMs` (5 minutes), in the
 * background.
 */
import { Lru } from './lru';
import { type EdgeKeyEntry, EdgeKeyEntrySchema, type HotConfig, KV_KEYS } from './snapshot';

interface Waiter {
  waitUntil(p: Promise<unknown>): void;
}

/** A tenant's hot-config keys, indexed (built once per hot config object). */
export interface HotKeyIndex {
  recent: Map<string, EdgeKeyEntry>;
  revoked: Set<string>;
}

const EMPTY: HotKeyIndex = Object.freeze({ recent: new Map(), revoked: new Set() }) as HotKeyIndex;
const indexes = new WeakMap<HotConfig, HotKeyIndex>();

/** The key index of a hot config (none: nothing recent, nothing revoked). */
export function hotKeyIndex(config: HotConfig | undefined): HotKeyIndex {
  if (!config) return EMPTY;
  let index = indexes.get(config);
  if (!index) {
    index = {
      recent: new Map(config.keys.recent.map((k) => [k.hash, k])),
      revoked: new Set(config.keys.revoked),
    };
    indexes.set(config, index);
  }
  return index;
}

interface Slot {
  entry: EdgeKeyEntry | null;
  readAt: number;
  rereading: boolean;
}

export interface KeyStoreOptions {
  maxKnown: number;
  maxUnknown: number;
  /** A held key is re-read (in the background) when older than this. */
  revalidateMs: number;
  /** An unknown hash is re-read (awaited) when older than this. */
  unknownLifeMs: number;
  now: () => number;
}

export class KeyStore {
  private readonly known: Lru<string, Slot>;
  private readonly unknown: Lru<string, Slot>;
  /** KV reads made (tests, the benchmark). */
  kvReads = 0;

  constructor(private readonly options: KeyStoreOptions) {
    this.known = new Lru(options.maxKnown);
    this.unknown = new Lru(options.maxUnknown);
  }

  /**
   * The key with SHA-256 `hash` as the edge knows it (null: no such key), before the hot
   * config's recent and revoked lists are applied (see `authenticateKey`). Without a promise
   * when this isolate holds it.
   */
  lookup(
    hash: string,
    kv: KVNamespace,
    ctx: Waiter,
  ): EdgeKeyEntry | null | Promise<EdgeKeyEntry | null> {
    const now = this.options.now();
    const known = this.known.get(hash);
    if (known) {
      if (!known.rereading && now - known.readAt > this.options.revalidateMs) {
        known.rereading = true;
        ctx.waitUntil(
          this.read(hash, kv)
            .catch(() => {})
            .finally(() => {
              known.rereading = false;
            }),
        );
      }
      return known.entry;
    }
    const unknown = this.unknown.get(hash);
    if (unknown && now - unknown.readAt <= this.options.unknownLifeMs) return null;
    return this.read(hash, kv);
  }

  private async read(hash: string, kv: KVNamespace): Promise<EdgeKeyEntry | null> {
    this.kvReads++;
    let raw: string | null;
    try {
      raw = await kv.get(KV_KEYS.apiKey(hash), 'text');
    } catch {
      // KV unreachable: what this isolate had (the revoked list still applies), else unknown.
      return this.known.get(hash)?.entry ?? null;
    }
    let entry: EdgeKeyEntry | null = null;
    if (raw !== null) {
      try {
        const parsed = EdgeKeyEntrySchema.safeParse(JSON.parse(raw));
        if (parsed.success && parsed.data.hash === hash) entry = parsed.data;
      } catch {
        entry = null;
      }
    }
    const slot: Slot = { entry, readAt: this.options.now(), rereading: false };
    if (entry) {
      this.unknown.delete(hash);
      this.known.set(hash, slot);
    } else {
      this.known.delete(hash);
      this.unknown.set(hash, slot);
    }
    return entry;
  }

  sizes(): { known: number; unknown: number } {
    return { known: this.known.size, unknown: this.unknown.size };
  }

  reset(): void {
    this.known.clear();
    this.unknown.clear();
    this.kvReads = 0;
  }
}

export const apiKeyStore = new KeyStore({
  maxKnown: 10_000,
  maxUnknown: 10_000,
  // Revocations do not wait for this (the hot config's list covers ten minutes, more than this
  // plus KV's 60 s); it bounds how long another change of a key that is no longer recent is
  // seen late.
  revalidateMs: 300_000,
  unknownLifeMs: 10_000,
  now: () => Date.now(),
});
