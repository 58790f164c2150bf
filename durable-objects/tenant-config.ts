import type {
  RevocationsRead,
  TenantConfigContract,
  TenantConfigRead,
  TokenRevocation,
} from '../src/contracts/tenant-config';
import { revocationSubject } from '../src/contracts/tenant-config';
import type { HotConfig } from '../src/edge/snapshot';
import { type SqlMigration, StatefulDurableObject } from './base';

/**
 * How long a revocation is kept: past it, every token it refuses has expired anyway (an
 * entitlements token lives 5 minutes; 30 s of clock tolerance; a margin).
 */
export const REVOCATION_KEEP_MS = 10 * 60_000;
/**
 * At most this many revocations are held per tenant. Past it the object refuses every token
 * issued before now instead (`cutoff`: each customer fetches a new one), and starts afresh, so
 * what every location reads stays small whatever the churn.
 */
export const MAX_REVOCATIONS = 20_000;

const MIGRATIONS: readonly SqlMigration[] = [
  {
    id: 1,
    name: 'entitlement token revocations',
    up: [
      `create table revocations (subject text primary key, min_version integer not null,
        at integer not null)`,
      'create index revocations_at on revocations (at)',
      'create table revocation_meta (id integer primary key, rev integer not null, cutoff integer not null)',
    ],
  },
];

/**
 * One object per tenant: the tenant's latest published config version and its hot config
 * (flags and killswitches per storefront). The publisher writes it right after KV; edge
 * isolates read it (through a per-location cache, see src/edge/hot-config.ts) so a flip takes
 * effect in about a second instead of KV's up-to-60 s propagation.
 *
 * It also holds the tenant's recent entitlement-token revocations (written by the customers'
 * entitlements objects when a customer loses something), read by the edge the same way
 * (src/edge/revocations.ts), so a revoked token is refused within about a second.
 */
export class TenantConfigDurableObject
  extends StatefulDurableObject
  implements TenantConfigContract
{
  protected override readonly migrations = MIGRATIONS;
  private current: HotConfig | undefined;
  private revoked = new Map<string, { minVersion: number; at: number }>();
  private rev = 0;
  private cutoff = 0;
  /** The last list handed out, reused until the next revocation. */
  private listed: RevocationsRead | undefined;

  protected override async onStart(): Promise<void> {
    this.current = await this.ctx.storage.get<HotConfig>('hot');
    const sql = this.ctx.storage.sql;
    const meta = sql
      .exec<{ rev: number; cutoff: number }>('select rev, cutoff from revocation_meta where id = 1')
      .toArray()[0];
    this.rev = meta?.rev ?? 0;
    this.cutoff = meta?.cutoff ?? 0;
    for (const r of sql
      .exec<{ subject: string; min_version: number; at: number }>(
        'select subject, min_version, at from revocations',
      )
      .toArray()) {
      this.revoked.set(r.subject, { minVersion: r.min_version, at: r.at });
    }
  }

  /** Stores `config` unless a newer version is already here (publishes may race). */
  async publish(config: HotConfig): Promise<{ version: number; applied: boolean }> {
    await this.ready();
    if (this.current && this.current.version > config.version) {
      return { version: this.current.version, applied: false };
    }
    await this.ctx.storage.put('hot', config);
    this.current = config;
    return { version: config.version, applied: true };
  }

  /** The hot config, or only the version when the caller already has it. */
  async read(knownVersion = -1): Promise<TenantConfigRead> {
    await this.ready();
    const cur = this.current;
    if (!cur) return { version: -1 };
    return cur.version > knownVersion
      ? { version: cur.version, config: cur }
      : { version: cur.version };
  }

  async revoke(r: TokenRevocation): Promise<{ rev: number }> {
    await this.ready();
    const subject = revocationSubject(r);
    const held = this.revoked.get(subject);
    if (held && held.minVersion >= r.minVersion) return { rev: this.rev };
    const now = Date.now();
    const sql = this.ctx.storage.sql;
    // Drop what no longer refuses a live token, then the new one.
    sql.exec('delete from revocations where at <= ?', now - REVOCATION_KEEP_MS);
    for (const [k, v] of this.revoked) if (v.at <= now - REVOCATION_KEEP_MS) this.revoked.delete(k);
    this.rev += 1;
    if (this.revoked.size >= MAX_REVOCATIONS) {
      sql.exec('delete from revocations');
      this.revoked.clear();
      this.cutoff = Math.floor(now / 1000) + 1;
    } else {
      sql.exec(
        `insert into revocations (subject, min_version, at) values (?, ?, ?)
         on conflict (subject) do update set min_version = excluded.min_version, at = excluded.at`,
        subject,
        r.minVersion,
        now,
      );
      this.revoked.set(subject, { minVersion: r.minVersion, at: now });
    }
    sql.exec(
      `insert into revocation_meta (id, rev, cutoff) values (1, ?, ?)
       on conflict (id) do update set rev = excluded.rev, cutoff = excluded.cutoff`,
      this.rev,
      this.cutoff,
    );
    this.listed = undefined;
    return { rev: this.rev };
  }

  async revocations(knownRev = -1): Promise<RevocationsRead> {
    await this.ready();
    if (this.rev <= knownRev) return { rev: this.rev };
    this.listed ??= {
      rev: this.rev,
      cutoff: this.cutoff,
      entries: [...this.revoked].map(([s, v]) => [s, v.minVersion] as [string, number]),
    };
    return this.listed;
  }
}
