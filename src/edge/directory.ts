/**
 * Host → tenant at the edge, without a global table: each host has its own KV entry
 * (`host/<host>`, written by the host directory object), and an isolate keeps the hosts it has
 * seen, bounded, positive and negative. What tells it an entry it holds is out of date is the
 * directory's view (its change counter and the changes of the last three minutes), read
 * through the per-location cache about once a second: so revalidation costs each isolate the
 * hosts it serves, not the deployment, and a flood of random `Host` headers costs one KV read
 * per distinct host at most (then a negative entry), within a per-isolate read budget.
 */
import type { HostDirectoryContract } from '../contracts/host-directory';
import { ApiError } from '../errors';
import { putInLocation } from './location-cache';
import { Lru } from './lru';
import {
  type DirectoryView,
  DirectoryViewSchema,
  type HostChange,
  type HostEntry,
  HostEntrySchema,
  KV_KEYS,
  RECENT_HOST_SECONDS,
} from './snapshot';

interface Waiter {
  waitUntil(p: Promise<unknown>): void;
}

type DirectoryNs = DurableObjectNamespace<HostDirectoryContract>;

/** The directory's view with its changes by host (the latest per host). */
export interface DirectoryIndex {
  view: DirectoryView;
  byHost: Map<string, HostChange>;
}

const CACHE_KEY = 'https://host-directory.azotte.internal/view';

export interface DirectoryStoreOptions {
  pollMs: number;
  locationTtlSeconds: number;
  now: () => number;
  cache?: () => Cache | undefined;
}

/** The isolate's copy of the host directory's view (like the hot config, src/edge/hot-config.ts). */
export class DirectoryStore {
  private index: DirectoryIndex | undefined;
  private checkedAt = 0;
  private refreshing = false;

  constructor(private readonly options: DirectoryStoreOptions) {}

  /** The view this isolate holds (refreshed in the background when older than `pollMs`). */
  peek(ns: DirectoryNs, ctx: Waiter): DirectoryIndex | undefined {
    if (this.options.now() - this.checkedAt >= this.options.pollMs && !this.refreshing) {
      ctx.waitUntil(this.refresh(ns));
    }
    return this.index;
  }

  /** Whether the view is older than `pollMs` with no check under way. */
  isStale(): boolean {
    return !this.refreshing && this.options.now() - this.checkedAt >= this.options.pollMs;
  }

  /** The view, waiting for a check when this isolate has none or it is older than `pollMs`. */
  async fresh(ns: DirectoryNs, ctx: Waiter): Promise<DirectoryIndex | undefined> {
    if (this.index && this.options.now() - this.checkedAt < this.options.pollMs) return this.index;
    // Our own check (a request never awaits I/O another request started).
    await this.refresh(ns);
    return this.peek(ns, ctx);
  }

  private async refresh(ns: DirectoryNs): Promise<void> {
    this.checkedAt = this.options.now();
    this.refreshing = true;
    try {
      const view = await this.load(ns);
      if (!this.index || view.seq >= this.index.view.seq) {
        const byHost = new Map<string, HostChange>();
        for (const c of view.recent) byHost.set(c.host, c);
        this.index = { view, byHost };
      }
    } catch {
      // Unreachable: keep the last view; entries are then trusted as they are.
    } finally {
      this.refreshing = false;
    }
  }

  private async load(ns: DirectoryNs): Promise<DirectoryView> {
    const cache = this.options.cache ? this.options.cache() : caches.default;
    const key = new Request(CACHE_KEY);
    const hit = await cache?.match(key);
    if (hit) {
      const parsed = DirectoryViewSchema.safeParse(await hit.json());
      if (parsed.success) return parsed.data;
    }
    const view = DirectoryViewSchema.parse(await ns.get(ns.idFromName('global')).read());
    await putInLocation(cache, key, view, this.options.locationTtlSeconds);
    return view;
  }

  /** Drops the view from this location's cache (tests: a location that never read it). */
  async forgetLocation(): Promise<void> {
    const cache = this.options.cache ? this.options.cache() : caches.default;
    await cache?.delete(new Request(CACHE_KEY));
  }

  reset(): void {
    this.index = undefined;
    this.checkedAt = 0;
    this.refreshing = false;
  }
}

/** A host as this isolate knows it. */
interface HostSlot {
  entry: HostEntry | null;
  /** The directory change counter it was last validated against; UNVERIFIED: not yet. */
  seq: number;
  /** When it was read from KV. */
  readAt: number;
  /** A background re-read is under way. */
  rereading?: boolean;
}

const UNVERIFIED = -1;

export interface HostStoreOptions {
  /** Hosts with an entry kept per isolate (LRU). */
  maxKnown: number;
  /** Unknown hosts kept per isolate (LRU). */
  maxUnknown: number;
  /** How long an unknown host is trusted to stay unknown without a KV read, at most. */
  unknownLifeMs: number;
  /** KV reads that find no host, per second per isolate (a token bucket), and its burst. */
  readsPerSecond: number;
  readBurst: number;
  /** How stale a KV read may be (KV's propagation): the directory's recent changes cover it. */
  kvLagMs: number;
  now: () => number;
}

export type HostLookup = HostEntry | null;

/** The isolate's hosts. */
export class HostStore {
  private readonly known: Lru<string, HostSlot>;
  private readonly unknown: Lru<string, HostSlot>;
  private tokens: number;
  private tokensAt: number;
  /** KV reads made (tests, the benchmark). */
  kvReads = 0;

  constructor(
    private readonly options: HostStoreOptions,
    readonly directory: DirectoryStore,
  ) {
    this.known = new Lru(options.maxKnown);
    this.unknown = new Lru(options.maxUnknown);
    this.tokens = options.readBurst;
    this.tokensAt = options.now();
  }

  /**
   * The entry of `host` (null: no storefront is served there): without a promise when this
   * isolate holds a valid answer, else from KV (and, for a miss, the directory's recent
   * changes, so a host added a moment ago is found before its KV entry is visible here).
   */
  lookup(
    host: string,
    kv: KVNamespace,
    ns: DirectoryNs,
    ctx: Waiter,
  ): HostLookup | Promise<HostLookup> {
    const slot = this.known.get(host) ?? this.unknown.get(host);
    if (slot && slot.entry === null && this.directory.isStale()) {
      // An unknown host on a directory copy older than `pollMs`: check the directory before
      // the 404 (one check per `pollMs` per isolate, however many such requests), so a host a
      // publish just added resolves on its first request here.
      return this.directory.fresh(ns, ctx).then((dir) => this.answer(host, slot, dir, kv, ns, ctx));
    }
    const dir = this.directory.peek(ns, ctx);
    if (!slot) return this.read(host, kv, ns, ctx, true);
    return this.answer(host, slot, dir, kv, ns, ctx);
  }

  private answer(
    host: string,
    slot: HostSlot,
    dir: DirectoryIndex | undefined,
    kv: KVNamespace,
    ns: DirectoryNs,
    ctx: Waiter,
  ): HostLookup | Promise<HostLookup> {
    const now = this.options.now();
    const valid = this.validate(host, slot, dir, now);
    if (slot.entry) {
      if (!valid && !slot.rereading && this.mayRead(now)) {
        slot.rereading = true;
        ctx.waitUntil(
          this.read(host, kv, ns, ctx)
            .catch(() => {})
            .finally(() => {
              slot.rereading = false;
            }),
        );
      }
      return slot.entry;
    }
    if (valid && now - slot.readAt < this.options.unknownLifeMs) return null;
    return this.read(host, kv, ns, ctx, true);
  }

  /**
   * Whether `slot` still holds as of the directory's view (applying a listed change to it
   * first). False: it must be read from KV again.
   */
  private validate(
    host: string,
    slot: HostSlot,
    dir: DirectoryIndex | undefined,
    now: number,
  ): boolean {
    if (!dir) return true; // no view (yet, or the directory is unreachable): as read
    const { view } = dir;
    if (slot.seq === view.seq) return true;
    const change = dir.byHost.get(host);
    if (change && change.seq > slot.seq) {
      slot.entry = change.entry;
      slot.seq = view.seq;
      this.store(host, slot);
      return true;
    }
    const covered =
      slot.seq === UNVERIFIED
        ? now - slot.readAt <= RECENT_HOST_SECONDS * 1000 - this.options.kvLagMs
        : slot.seq >= view.recentFrom - 1;
    if (covered) slot.seq = view.seq;
    return covered;
  }

  /**
   * Whether a KV read may be made now. The budget counts misses (reads that found no host), so
   * traffic to real hosts never runs out of it; a flood of made-up hosts does, and then this
   * isolate answers hosts it holds nothing about with a 503 to retry, without KV, until it
   * refills.
   */
  private mayRead(now: number): boolean {
    const { readsPerSecond, readBurst } = this.options;
    this.tokens = Math.min(
      readBurst,
      this.tokens + ((now - this.tokensAt) / 1000) * readsPerSecond,
    );
    this.tokensAt = now;
    return this.tokens >= 1;
  }

  private async read(
    host: string,
    kv: KVNamespace,
    ns: DirectoryNs,
    ctx: Waiter,
    awaited = false,
  ): Promise<HostLookup> {
    if (awaited && !this.mayRead(this.options.now())) {
      throw new ApiError(
        'host_lookup_throttled',
        'This edge is looking up too many unknown hosts right now; retry in a second.',
        { headers: { 'retry-after': '1' } },
      );
    }
    this.kvReads++;
    let raw: string | null;
    try {
      raw = await kv.get(KV_KEYS.host(host), 'text');
    } catch {
      const slot = this.known.get(host);
      if (slot) return slot.entry; // KV unreachable: what we had
      throw new ApiError(
        'config_unavailable',
        'The storefront configuration could not be loaded. Retry shortly.',
        { headers: { 'retry-after': '5' } },
      );
    }
    let entry: HostEntry | null = null;
    if (raw !== null) {
      try {
        const parsed = HostEntrySchema.safeParse(JSON.parse(raw));
        if (parsed.success) entry = parsed.data;
      } catch {
        entry = null;
      }
    }
    const now = this.options.now();
    if (entry === null) this.tokens -= 1;
    const slot: HostSlot = { entry, seq: UNVERIFIED, readAt: now };
    // Not in KV here: the directory may know it already (KV takes up to 60 s everywhere).
    const dir = entry === null ? await this.directory.fresh(ns, ctx) : this.directory.peek(ns, ctx);
    this.validate(host, slot, dir, now);
    this.store(host, slot);
    return slot.entry;
  }

  private store(host: string, slot: HostSlot): void {
    if (slot.entry) {
      this.unknown.delete(host);
      this.known.set(host, slot);
    } else {
      this.known.delete(host);
      this.unknown.set(host, slot);
    }
  }

  /** How many hosts this isolate holds (the benchmark, tests). */
  sizes(): { known: number; unknown: number } {
    return { known: this.known.size, unknown: this.unknown.size };
  }

  reset(): void {
    this.known.clear();
    this.unknown.clear();
    this.tokens = this.options.readBurst;
    this.tokensAt = this.options.now();
    this.kvReads = 0;
    this.directory.reset();
  }
}

export const hostDirectory = new DirectoryStore({
  pollMs: 1000,
  locationTtlSeconds: 1,
  now: () => Date.now(),
});

export const hosts = new HostStore(
  {
    maxKnown: 10_000,
    maxUnknown: 10_000,
    unknownLifeMs: 60_000,
    readsPerSecond: 100,
    readBurst: 200,
    kvLagMs: 60_000,
    now: () => Date.now(),
  },
  hostDirectory,
);
