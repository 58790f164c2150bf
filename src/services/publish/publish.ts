import type { Db } from '../../db/types';
import { KV_KEYS, type RoutingTable } from '../../edge/snapshot';
import { buildSnapshot, buildTenantRouting } from './build';
import { listTenantIds, loadTenantConfig } from './load';

export interface PublishResult {
  tenants: { id: string; slug: string; version: number; storefronts: number }[];
  routingBytes: number;
  snapshotsWritten: number;
}

/**
 * Publishes the read model: every storefront's snapshot under a versioned key, then the routing
 * table that points at those versions. Snapshots are written first, so a reader never sees a
 * pointer to a snapshot that is not there yet. Postgres is the source; KV is never read here.
 */
export async function publishConfig(
  db: Db,
  kv: KVNamespace,
  now = new Date(),
): Promise<PublishResult> {
  const table: RoutingTable = {
    schemaVersion: 1,
    generatedAt: now.toISOString(),
    hosts: {},
    tenants: {},
  };
  const result: PublishResult = { tenants: [], routingBytes: 0, snapshotsWritten: 0 };
  for (const tenantId of await listTenantIds(db)) {
    const rows = await db.transaction(async (tx) => loadTenantConfig(tx, tenantId), {
      isolationLevel: 'repeatable read',
      accessMode: 'read only',
    });
    if (!rows) continue;
    const writes = rows.storefronts.map((sf) =>
      kv.put(
        KV_KEYS.snapshot(sf.id, rows.tenant.configVersion),
        JSON.stringify(buildSnapshot(rows, sf.id, now)),
      ),
    );
    await Promise.all(writes);
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
  return result;
}
