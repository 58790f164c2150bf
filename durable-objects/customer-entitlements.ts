import type {
  ConsumeClaim,
  ConsumeResult,
  CustomerEntitlementsContract,
  EntitlementsDelivery,
  EntitlementView,
} from '../src/contracts/customer-entitlements';
import {
  foldEntitlements,
  type ResolvedEntitlement,
  type SourceState,
} from '../src/entitlements/fold';
import { apiTime } from '../src/services/subscriptions/record';
import type { UnixSeconds } from '../src/subscriptions/time';
import { type SqlMigration, StatefulDurableObject } from './base';

const MIGRATIONS: readonly SqlMigration[] = [
  {
    id: 1,
    name: 'subscription states and quota counters',
    up: [
      `create table sources (subscription_id text primary key, seq integer not null,
        version integer not null, state text not null)`,
      `create table counters (key text primary key, used integer not null,
        window_end integer not null)`,
    ],
  },
  {
    id: 2,
    name: 'consume idempotency keys',
    up: [
      `create table consumed (idem text primary key, request_hash text not null,
        response text not null, at integer not null)`,
      'create index consumed_at on consumed (at)',
    ],
  },
];

/** A consume's Idempotency-Key is kept this long. */
const CONSUME_KEY_KEEP_MS = 24 * 3_600_000;

/**
 * One customer's entitlements in one storefront and mode (named by `entitlementsObjectName`):
 * the latest state of each of their subscriptions there, as the subscription objects deliver it
 * (src/contracts/customer-entitlements.ts), folded by src/entitlements/fold.ts on every read, and
 * the quota counters.
 *
 * Load: one object per customer, so a hot customer's meters are one object's (every consume is
 * a few SQLite statements, no await between the decision and the write, hence exact); the
 * subscriptions a customer holds in a storefront are few, and each delivers once per change.
 *
 * A quota's counter is reset when the window it was counted in has ended (the earliest-ending
 * window among the subscriptions granting it: the billing period, or a calendar period).
 */
export class CustomerEntitlementsDurableObject
  extends StatefulDurableObject
  implements CustomerEntitlementsContract
{
  protected override readonly migrations = MIGRATIONS;
  private sources = new Map<string, { seq: number; version: number; state: SourceState }>();

  protected override onStart(): void {
    const rows = this.ctx.storage.sql
      .exec<{ subscription_id: string; seq: number; version: number; state: string }>(
        'select subscription_id, seq, version, state from sources',
      )
      .toArray();
    for (const r of rows) {
      this.sources.set(r.subscription_id, {
        seq: r.seq,
        version: r.version,
        state: JSON.parse(r.state) as SourceState,
      });
    }
  }

  async apply(d: EntitlementsDelivery): Promise<{ applied: boolean; seq: number }> {
    await this.ready();
    const held = this.sources.get(d.subscriptionId);
    // Never an older state over a newer one: an equal or earlier delivery is a replay.
    if (held && (d.upToSeq < held.seq || (d.upToSeq === held.seq && d.version <= held.version))) {
      return { applied: false, seq: held.seq };
    }
    const state = { ...d.state, subscriptionId: d.subscriptionId };
    this.ctx.storage.sql.exec(
      `insert into sources (subscription_id, seq, version, state) values (?, ?, ?, ?)
       on conflict (subscription_id) do update set seq = excluded.seq,
         version = excluded.version, state = excluded.state`,
      d.subscriptionId,
      d.upToSeq,
      d.version,
      JSON.stringify(state),
    );
    this.sources.set(d.subscriptionId, { seq: d.upToSeq, version: d.version, state });
    return { applied: true, seq: d.upToSeq };
  }

  async list(): Promise<EntitlementView[]> {
    await this.ready();
    return this.resolve().map((e) => this.view(e));
  }

  async consume(
    key: string,
    quantity: number,
    claim: ConsumeClaim | null = null,
  ): Promise<ConsumeResult & { replayed?: boolean }> {
    await this.ready();
    // No await from here on: the decision and the write are one step of this object.
    const sql = this.ctx.storage.sql;
    if (claim) {
      const first = sql
        .exec<{ request_hash: string; response: string }>(
          'select request_hash, response from consumed where idem = ? and at > ?',
          claim.key,
          Date.now() - CONSUME_KEY_KEEP_MS,
        )
        .toArray()[0];
      if (first && first.request_hash !== claim.requestHash) {
        return { ok: false, reason: 'idempotency_key_reused', remaining: 0, resetsAt: null };
      }
      if (first) return { ...(JSON.parse(first.response) as ConsumeResult), replayed: true };
    }
    const result = this.spend(key, quantity);
    if (claim && result.ok) {
      const now = Date.now();
      sql.exec(
        `insert into consumed (idem, request_hash, response, at) values (?, ?, ?, ?)
         on conflict (idem) do update set request_hash = excluded.request_hash,
           response = excluded.response, at = excluded.at`,
        claim.key,
        claim.requestHash,
        JSON.stringify(result),
        now,
      );
      sql.exec('delete from consumed where at <= ?', now - CONSUME_KEY_KEEP_MS);
    }
    return result;
  }

  private spend(key: string, quantity: number): ConsumeResult {
    const e = this.resolve().find((x) => x.key === key);
    if (!e) return { ok: false, reason: 'not_granted', remaining: 0, resetsAt: null };
    if (e.type !== 'quota' || !e.quota) {
      return {
        ok: false,
        reason: e.active ? 'not_a_quota' : 'inactive',
        remaining: 0,
        resetsAt: null,
      };
    }
    const c = this.counter(key, e.quota);
    const remaining = Math.max(0, e.quota.limit - c.used);
    if (quantity > remaining) {
      return { ok: false, reason: 'quota_exhausted', remaining, resetsAt: apiTime(c.windowEnd) };
    }
    const used = c.used + quantity;
    this.ctx.storage.sql.exec(
      `insert into counters (key, used, window_end) values (?, ?, ?)
       on conflict (key) do update set used = excluded.used, window_end = excluded.window_end`,
      key,
      used,
      c.windowEnd,
    );
    return {
      ok: true,
      remaining: e.quota.limit - used,
      resetsAt: apiTime(c.windowEnd),
      used,
      limit: e.quota.limit,
    };
  }

  private resolve(): ResolvedEntitlement[] {
    const states = [...this.sources.values()].map((s) => s.state);
    return foldEntitlements(states, Math.floor(Date.now() / 1000));
  }

  /** The counter of `key` in the current window (a window that has ended counts from zero). */
  private counter(
    key: string,
    quota: { windowEnd: UnixSeconds; now: UnixSeconds },
  ): { used: number; windowEnd: UnixSeconds } {
    const row = this.ctx.storage.sql
      .exec<{ used: number; window_end: number }>(
        'select used, window_end from counters where key = ?',
        key,
      )
      .toArray()[0];
    if (!row || quota.now >= row.window_end) return { used: 0, windowEnd: quota.windowEnd };
    return { used: row.used, windowEnd: row.window_end };
  }

  private view(e: ResolvedEntitlement): EntitlementView {
    const v: EntitlementView = {
      key: e.key,
      type: e.type,
      active: e.active,
      billingIssue: e.billingIssue,
      source: e.source,
    };
    if (e.quota) {
      const c = this.counter(e.key, e.quota);
      v.quota = {
        limit: e.quota.limit,
        used: c.used,
        remaining: Math.max(0, e.quota.limit - c.used),
        resetsAt: apiTime(c.windowEnd),
      };
    }
    // Slot leases come with the slots API; until then nothing is used.
    if (e.slots) v.slots = { count: e.slots.count, used: 0, available: e.slots.count };
    if (e.tier) v.tier = e.tier;
    if (e.enabled !== undefined) v.enabled = e.enabled;
    return v;
  }
}
