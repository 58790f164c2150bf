import type { DirectoryHost, HostDirectoryContract } from '../src/contracts/host-directory';
import {
  type DirectoryView,
  type HostEntry,
  KV_KEYS,
  MAX_RECENT_HOST_CHANGES,
  RECENT_HOST_SECONDS,
} from '../src/edge/snapshot';
import type { HostApplyResult } from '../src/services/publish/publish';
import { type SqlMigration, StatefulDurableObject } from './base';

/** Changes older than this are dropped from storage (the view lists RECENT_HOST_SECONDS). */
const KEEP_CHANGES_MS = 3_600_000;

/**
 * The directory's schema. Step 1 is what the object created in its constructor before it had
 * migrations, hence `if not exists`: the deployed directory has these tables already.
 */
export const HOST_DIRECTORY_MIGRATIONS: readonly SqlMigration[] = [
  {
    id: 1,
    name: 'hosts and changes',
    up: [
      `create table if not exists hosts (
        host text primary key, tenant_id text not null, storefront_id text, since integer not null)`,
      'create index if not exists hosts_tenant on hosts (tenant_id)',
      `create table if not exists changes (
        seq integer primary key autoincrement, host text not null, entry text, at integer not null)`,
    ],
  },
];

/**
 * The deployment's host directory: which tenant holds each host. Host changes are rare (a
 * tenant adds a domain), so one object takes them all, serialized, and writes each host's KV
 * entry (`host/<host>`): a tenant's publish touches only the hosts it adds, moves or removes,
 * and never another tenant's. Postgres keeps a host unique at any moment; publishes of two
 * tenants may still arrive out of order when a host moves between them, so a claim carries its
 * route's creation time and the newer claim wins, and a tenant removes only hosts it holds.
 *
 * It numbers every change and lists the recent ones for the edge ({@link read}, through the
 * per-location cache once a second): that is how an isolate learns, without a KV read, that a
 * host it cached (or negatively cached) changed, and how a new host resolves within a second
 * though KV takes up to 60 s to show it everywhere.
 */
export class HostDirectoryDurableObject
  extends StatefulDurableObject
  implements HostDirectoryContract
{
  protected override readonly migrations = HOST_DIRECTORY_MIGRATIONS;

  private readonly sql: SqlStorage = this.ctx.storage.sql;

  /**
   * Makes `hosts` the tenant's whole host set; writes the KV entries that change. Applies run
   * one at a time ({@link serialized}), KV writes included, so two tenants' writes of a moving
   * host land in the order the rows changed.
   */
  async apply(tenantId: string, hosts: DirectoryHost[]): Promise<HostApplyResult> {
    await this.ready();
    return this.serialized(() => this.applyNow(tenantId, hosts));
  }

  private async applyNow(tenantId: string, hosts: DirectoryHost[]): Promise<HostApplyResult> {
    const result: HostApplyResult = { written: 0, removed: 0, refused: [] };
    const held = new Map<string, { storefrontId: string | null; since: number }>();
    for (const row of this.sql.exec<{ host: string; storefront_id: string | null; since: number }>(
      'select host, storefront_id, since from hosts where tenant_id = ?',
      tenantId,
    )) {
      held.set(row.host, { storefrontId: row.storefront_id, since: row.since });
    }
    const kvWrites: Promise<unknown>[] = [];
    const now = Date.now();
    const change = (host: string, entry: HostEntry | null) => {
      this.sql.exec(
        'insert into changes (host, entry, at) values (?, ?, ?)',
        host,
        entry ? JSON.stringify(entry) : null,
        now,
      );
      const key = KV_KEYS.host(host);
      kvWrites.push(
        entry ? this.env.CONFIG_KV.put(key, JSON.stringify(entry)) : this.env.CONFIG_KV.delete(key),
      );
    };
    const wanted = new Set<string>();
    for (const h of hosts) {
      wanted.add(h.host);
      const mine = held.get(h.host);
      if (mine) {
        if (mine.storefrontId === h.storefrontId) continue;
      } else {
        const other = this.sql
          .exec<{ tenant_id: string; since: number }>(
            'select tenant_id, since from hosts where host = ?',
            h.host,
          )
          .toArray()[0];
        if (other && other.since >= h.since) {
          result.refused.push(h.host);
          continue;
        }
      }
      this.sql.exec(
        `insert into hosts (host, tenant_id, storefront_id, since) values (?, ?, ?, ?)
         on conflict (host) do update set tenant_id = excluded.tenant_id,
           storefront_id = excluded.storefront_id, since = excluded.since`,
        h.host,
        tenantId,
        h.storefrontId,
        h.since,
      );
      change(h.host, { tenantId, storefrontId: h.storefrontId });
      result.written++;
    }
    for (const host of held.keys()) {
      if (wanted.has(host)) continue;
      this.sql.exec('delete from hosts where host = ? and tenant_id = ?', host, tenantId);
      change(host, null);
      result.removed++;
    }
    this.sql.exec('delete from changes where at < ?', now - KEEP_CHANGES_MS);
    // The rows are committed with this call; KV follows. A failed KV write fails the call, and
    // the tenant's next publish sends its hosts again (its digest was not updated), but the
    // rows already say they are applied: write the tenant's entries again in that case.
    try {
      await Promise.all(kvWrites);
    } catch (err) {
      await this.rewrite(tenantId);
      throw err;
    }
    return result;
  }

  /** Writes every KV entry of the tenant's hosts again (after a failed KV write). */
  private async rewrite(tenantId: string): Promise<void> {
    const rows = this.sql
      .exec<{ host: string; storefront_id: string | null }>(
        'select host, storefront_id from hosts where tenant_id = ?',
        tenantId,
      )
      .toArray();
    await Promise.allSettled(
      rows.map((r) =>
        this.env.CONFIG_KV.put(
          KV_KEYS.host(r.host),
          JSON.stringify({ tenantId, storefrontId: r.storefront_id }),
        ),
      ),
    );
  }

  /** The change counter and the changes of the last RECENT_HOST_SECONDS (at most 2,000). */
  async read(): Promise<DirectoryView> {
    await this.ready();
    const last = this.sql
      .exec<{ seq: number | null }>('select max(seq) as seq from changes')
      .toArray()[0];
    const counter = this.sql
      .exec<{ seq: number }>("select seq from sqlite_sequence where name = 'changes'")
      .toArray()[0];
    const seq = counter?.seq ?? last?.seq ?? 0;
    const since = Date.now() - RECENT_HOST_SECONDS * 1000;
    const rows = this.sql
      .exec<{ seq: number; host: string; entry: string | null }>(
        'select seq, host, entry from changes where at >= ? order by seq desc limit ?',
        since,
        MAX_RECENT_HOST_CHANGES,
      )
      .toArray()
      .reverse();
    const recent = rows.map((r) => ({
      seq: r.seq,
      host: r.host,
      entry: r.entry === null ? null : (JSON.parse(r.entry) as HostEntry),
    }));
    return { seq, recentFrom: recent[0]?.seq ?? seq + 1, recent };
  }

  /** Which tenant holds `host` (operations, tests). */
  async owner(host: string): Promise<HostEntry | null> {
    await this.ready();
    const row = this.sql
      .exec<{ tenant_id: string; storefront_id: string | null }>(
        'select tenant_id, storefront_id from hosts where host = ?',
        host,
      )
      .toArray()[0];
    return row ? { tenantId: row.tenant_id, storefrontId: row.storefront_id } : null;
  }
}
