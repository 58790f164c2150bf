import type { Db } from '../../db/types';
import { MAX_CONFIG_BYTES } from '../../edge/config-store';
import {
  type HotConfig,
  KV_KEYS,
  type RoutingTable,
  RoutingTableSchema,
  type TenantRouting,
} from '../../edge/snapshot';
import type { Env } from '../../env';
import { buildTenantPublication, buildTenantRouting } from './build';
import { describeViolation, HARD_LIMITS, type SizeViolation, sizeViolation } from './limits';
import { listTenantIds, loadTenantConfig } from './load';

/** A tenant the publisher could not (fully) publish. */
export interface PublishFailure {
  tenantId: string;
  slug: string;
  /** The config version that could not be published. */
  version: number;
  /**
   * `snapshot`: nothing of this version was published; the routing table keeps pointing at
   * `servingVersion` (null: the tenant was never published by this publisher, so it has no
   * routing entry). `signal`: the snapshots and routing are published, but the tenant's config
   * object was not updated, so the edge sees the change through KV (up to 60 s), not in ~1 s.
   */
  stage: 'snapshot' | 'signal';
  servingVersion: number | null;
  /** Set when a size limit is the reason; deterministic, so retrying does not help. */
  size?: SizeViolation;
  detail: string;
}

export interface PublishResult {
  tenants: { id: string; slug: string; version: number; storefronts: number }[];
  /** Tenants not (fully) published. Every other tenant was, whatever happened to these. */
  failed: PublishFailure[];
  routingBytes: number;
  snapshotsWritten: number;
}

/** A tenant's part of the routing table. */
export interface TenantRoutingEntry {
  routing: TenantRouting;
  hosts: RoutingTable['hosts'];
}

export interface PublishTargets {
  kv: KVNamespace;
  /** The fast signal: hands each tenant's hot config to its TenantConfigDurableObject. */
  signal?: (tenantId: string, hot: HotConfig) => Promise<unknown>;
  /**
   * The routing entries this publisher last wrote, by tenant id. A tenant that cannot be
   * published keeps its entry (which points at snapshots that exist: they are immutable); one
   * not in it is taken from the routing table in KV. Updated in place with every tenant
   * published and cleared of tenants no longer active.
   */
  lastPublished?: Map<string, TenantRoutingEntry>;
}

/** A `signal` that writes to the tenant config Durable Objects. */
export function durableObjectSignal(
  ns: Env['TENANT_CONFIG'],
): NonNullable<PublishTargets['signal']> {
  return (tenantId, hot) => ns.get(ns.idFromName(tenantId)).publish(hot);
}

/** `tenantId`'s entry in a routing table. */
export function tenantEntry(
  table: RoutingTable | undefined,
  tenantId: string,
): TenantRoutingEntry | undefined {
  const routing = table?.tenants[tenantId];
  if (!table || !routing) return undefined;
  const hosts = Object.entries(table.hosts).filter(([, h]) => h.tenantId === tenantId);
  return { routing, hosts: Object.fromEntries(hosts) };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Publishes the read model: every storefront's snapshot under a versioned key, then the routing
 * table that points at those versions, then each tenant's hot config (flags, killswitches) to
 * its Durable Object so flips reach the edge in about a second. Snapshots are written first, so
 * a reader never sees a pointer to a snapshot that is not there yet. Postgres is the source;
 * KV is only read to keep a failing tenant's entry (below).
 *
 * Tenants fail alone: one whose config exceeds a hard limit (the edge's snapshot limit, the
 * config object's value limit) or whose writes fail is not published, keeps its last routing
 * entry, and is reported in `failed`; the others are published. A later publish retries it
 * from Postgres, so the tenant's next publishable state goes out.
 */
export async function publishConfig(
  db: Db,
  targets: PublishTargets,
  options: { now?: Date } = {},
): Promise<PublishResult> {
  const now = options.now ?? new Date();
  const { kv } = targets;
  const last = targets.lastPublished ?? new Map<string, TenantRoutingEntry>();
  const table: RoutingTable = {
    schemaVersion: 1,
    generatedAt: now.toISOString(),
    hosts: {},
    tenants: {},
  };
  const result: PublishResult = { tenants: [], failed: [], routingBytes: 0, snapshotsWritten: 0 };
  const hots: { tenantId: string; slug: string; hot: HotConfig }[] = [];
  const active = new Set<string>();
  let published: Promise<RoutingTable | undefined> | undefined;
  /** Entries of tenants that could not be published, merged after every published one. */
  const kept = new Map<string, TenantRoutingEntry>();
  const keepLast = async (tenantId: string, failure: Omit<PublishFailure, 'servingVersion'>) => {
    // The tenant's entry as published: ours, or the table's in KV if newer (another path may
    // have published since), read once and only for this. Either points at snapshots that
    // exist (their keys are versioned and never deleted), and nothing else is copied.
    published ??= kv.get(KV_KEYS.routing, 'json').then((raw) => {
      if (raw === null) return undefined; // never published: no entry to keep
      const parsed = RoutingTableSchema.safeParse(raw);
      if (!parsed.success) throw new Error('the published routing table could not be read');
      return parsed.data;
    });
    const ours = last.get(tenantId);
    let theirs: TenantRoutingEntry | undefined;
    try {
      theirs = tenantEntry(await published, tenantId);
    } catch (err) {
      // Without the table in KV (unreachable, unreadable) only our own copy can stand in; with
      // neither, publishing now would drop the tenant from routing: fail, and the table in KV
      // stays as it was.
      if (!ours) throw err;
    }
    const entry =
      ours && (!theirs || ours.routing.version >= theirs.routing.version) ? ours : theirs;
    if (entry) kept.set(tenantId, entry);
    result.failed.push({ ...failure, servingVersion: entry?.routing.version ?? null });
  };
  for (const tenantId of await listTenantIds(db)) {
    active.add(tenantId);
    const rows = await db.transaction(async (tx) => loadTenantConfig(tx, tenantId), {
      isolationLevel: 'repeatable read',
      accessMode: 'read only',
    });
    if (!rows) continue;
    const { slug, configVersion: version } = rows.tenant;
    let publication: ReturnType<typeof buildTenantPublication>;
    try {
      publication = buildTenantPublication(rows, now);
    } catch (err) {
      await keepLast(tenantId, {
        tenantId,
        slug,
        version,
        stage: 'snapshot',
        detail: message(err),
      });
      continue;
    }
    const size = sizeViolation(publication, HARD_LIMITS);
    if (size) {
      const detail = describeViolation(size);
      await keepLast(tenantId, { tenantId, slug, version, stage: 'snapshot', size, detail });
      continue;
    }
    try {
      await Promise.all(
        publication.snapshots.map((s) => kv.put(KV_KEYS.snapshot(s.storefrontId, version), s.body)),
      );
    } catch (err) {
      // Some snapshots of this version may exist now: harmless, nothing points at them.
      const detail = `writing its snapshots failed: ${message(err)}`;
      await keepLast(tenantId, { tenantId, slug, version, stage: 'snapshot', detail });
      continue;
    }
    hots.push({ tenantId, slug, hot: publication.hot });
    result.snapshotsWritten += publication.snapshots.length;
    const entry = buildTenantRouting(rows);
    last.set(tenantId, entry);
    table.tenants[tenantId] = entry.routing;
    Object.assign(table.hosts, entry.hosts);
    result.tenants.push({ id: tenantId, slug, version, storefronts: rows.storefronts.length });
  }
  for (const tenantId of last.keys()) if (!active.has(tenantId)) last.delete(tenantId);
  // A kept entry is an older state: it never takes a host that a published tenant holds now.
  for (const [tenantId, entry] of kept) {
    table.tenants[tenantId] = entry.routing;
    for (const [host, target] of Object.entries(entry.hosts)) {
      if (!(host in table.hosts)) table.hosts[host] = target;
    }
  }
  const body = JSON.stringify(table);
  result.routingBytes = new TextEncoder().encode(body).length;
  if (result.routingBytes > MAX_CONFIG_BYTES) {
    // The edge would refuse it and keep its old copy everywhere: refuse it here, loudly.
    throw new Error(
      `the routing table would be ${result.routingBytes} bytes, over the edge's limit of ${MAX_CONFIG_BYTES}`,
    );
  }
  await kv.put(KV_KEYS.routing, body);
  const { signal } = targets;
  if (signal) {
    const outcomes = await Promise.allSettled(
      hots.map(({ tenantId, hot }) => signal(tenantId, hot)),
    );
    outcomes.forEach((outcome, i) => {
      const { tenantId, slug, hot } = hots[i] as (typeof hots)[number];
      if (outcome.status === 'fulfilled') return;
      result.failed.push({
        tenantId,
        slug,
        version: hot.version,
        stage: 'signal',
        servingVersion: hot.version,
        detail: `the tenant config object did not take it: ${message(outcome.reason)}`,
      });
    });
  }
  return result;
}
