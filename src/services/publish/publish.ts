import type { Db } from '../../db/types';
import { type HotConfig, KV_KEYS, type RoutingTable } from '../../edge/snapshot';
import type { Env } from '../../env';
import { buildSnapshot, buildTenantRouting } from './build';
import { listTenantIds, loadTenantConfig } from './load';

export interface PublishResult {
  tenants: { id: string; slug: string; version: number; storefronts: number }[];
  routingBytes: number;
  snapshotsWritten: number;
}

export interface PublishTargets {
  kv: KVNamespace;
  /** The fast signal: hands each tenant's hot config to its TenantConfigDurableObject. */
  signal?: (tenantId: string, hot: HotConfig) => Promise<unknown>;
}

/** A `signal` that writes to the tenant config Durable Objects. */
export function durableObjectSignal(
  ns: Env['TENANT_CONFIG'],
): NonNullable<PublishTargets['signal']> {
  return (tenantId, hot) => ns.get(ns.idFromName(tenantId)).publish(hot);
}

/**
 * Publishes the read model: every storefront's snapshot under a versioned key, then the routing
 * table that points at those versions, then each tenant's hot config (flags, killswitches) to
 * its Durable Object so flips reach the edge in about a second. Snapshots are written first, so
 * a reader never sees a pointer to a snapshot that is not there yet. Postgres is the source;
 * KV is never read here.
 */
export async function publishConfig(
  db: Db,
  targets: PublishTargets,
  options: { now?: Date } = {},
): Promise<PublishResult> {
  const now = options.now ?? new Date();
  const { kv } = targets;
  const table: RoutingTable = {
    schemaVersion: 1,
    generatedAt: now.toISOString(),
    hosts: {},
    tenants: {},
  };
  const result: PublishResult = { tenants: [], routingBytes: 0, snapshotsWritten: 0 };
  const hots: [string, HotConfig][] = [];
  for (const tenantId of await listTenantIds(db)) {
    const rows = await db.transaction(async (tx) => loadTenantConfig(tx, tenantId), {
      isolationLevel: 'repeatable read',
      accessMode: 'read only',
    });
    if (!rows) continue;
    const hot: HotConfig = {
      version: rows.tenant.configVersion,
      publishedAt: now.toISOString(),
      storefronts: {},
    };
    const writes = rows.storefronts.map((sf) => {
      const snap = buildSnapshot(rows, sf.id, now);
      hot.storefronts[sf.id] = {
        flags: snap.flags,
        killswitches: snap.killswitches,
        segments: snap.segments,
        apiKeys: snap.apiKeys,
      };
      return kv.put(KV_KEYS.snapshot(sf.id, rows.tenant.configVersion), JSON.stringify(snap));
    });
    await Promise.all(writes);
    hots.push([tenantId, hot]);
    result.snapshotsWritten += writes.length;
    const { routing, hosts } = buildTenantRouting(rows);
    table.tenants[tenantId] = routing;
    Object.assign(table.hosts, hosts);
    result.tenants.push({
      id: tenantId,
      slug: rows.tenant.slug,
      version: rows.tenant.configVersion,
      storefronts: rows.storefronts.length,
    });
  }
  const body = JSON.stringify(table);
  result.routingBytes = body.length;
  await kv.put(KV_KEYS.routing, body);
  const { signal } = targets;
  if (signal) await Promise.all(hots.map(([tenantId, hot]) => signal(tenantId, hot)));
  return result;
}
