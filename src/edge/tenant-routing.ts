/**
 * Each tenant's routing (path prefixes, countries, continents, default, the snapshot version
 * of each storefront) at the edge. Two copies: the tenant's hot config (its config object,
 * about a second behind a publish) and its KV entry (`tenant/<id>/routing`, for an isolate the
 * config object has not answered). The newer one wins. An isolate holds the KV copies of the
 * tenants it serves, bounded, and re-reads one only while that tenant's hot config is not
 * fresh: so the revalidation cost is per tenant served, never per deployment.
 */
import { ApiError } from '../errors';
import { Lru } from './lru';
import { KV_KEYS, type TenantRouting, TenantRoutingSchema } from './snapshot';

interface Waiter {
  waitUntil(p: Promise<unknown>): void;
}

interface Slot {
  routing: TenantRouting | undefined;
  readAt: number;
  rereading: boolean;
}

export class TenantRoutingStore {
  private readonly slots: Lru<string, Slot>;

  constructor(private readonly options: { max: number; revalidateMs: number; now: () => number }) {
    this.slots = new Lru(options.max);
  }

  /**
   * The KV copy of the tenant's routing if this isolate holds it (undefined: it must be read;
   * null: read, and there is none). `needed`: the hot config cannot stand in, so an old copy
   * is re-read in the background.
   */
  peek(
    tenantId: string,
    kv: KVNamespace,
    ctx: Waiter,
    needed: boolean,
  ): TenantRouting | null | undefined {
    const slot = this.slots.get(tenantId);
    if (!slot) return undefined;
    if (needed && !slot.rereading && this.options.now() - slot.readAt > this.options.revalidateMs) {
      slot.rereading = true;
      ctx.waitUntil(
        this.read(tenantId, kv).finally(() => {
          slot.rereading = false;
        }),
      );
    }
    return slot.routing ?? null;
  }

  /** Reads the tenant's routing from KV (keeping the last good copy on any failure). */
  async read(tenantId: string, kv: KVNamespace): Promise<TenantRouting | null> {
    const last = this.slots.get(tenantId);
    let routing: TenantRouting | undefined;
    try {
      const raw = await kv.get(KV_KEYS.tenantRouting(tenantId), 'text');
      if (raw !== null) {
        const parsed = TenantRoutingSchema.safeParse(JSON.parse(raw));
        if (parsed.success && parsed.data.tenantId === tenantId) routing = parsed.data;
      }
    } catch {
      routing = undefined;
    }
    if (routing === undefined && last?.routing) routing = last.routing; // fail static
    if (!routing || !last?.routing || routing.version >= last.routing.version) {
      this.slots.set(tenantId, { routing, readAt: this.options.now(), rereading: false });
    }
    return this.slots.get(tenantId)?.routing ?? null;
  }

  reset(): void {
    this.slots.clear();
  }
}

export const tenantRouting = new TenantRoutingStore({
  max: 10_000,
  revalidateMs: 1000,
  now: () => Date.now(),
});

/** The routing to use: the newer of the hot config's and the KV copy; a problem when neither. */
export function newerRouting(
  hot: TenantRouting | undefined,
  kv: TenantRouting | null | undefined,
  host: string,
): TenantRouting {
  const r = hot && (!kv || hot.version >= kv.version) ? hot : (kv ?? undefined);
  if (!r) {
    throw new ApiError(
      'config_unavailable',
      `The configuration of the storefronts on ${host} could not be loaded. Retry shortly.`,
      { headers: { 'retry-after': '5' } },
    );
  }
  return r;
}
