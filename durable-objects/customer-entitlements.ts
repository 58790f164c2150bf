import type {
  CompGrant,
  ConsumeClaim,
  ConsumeResult,
  CustomerEntitlementsContract,
  EntitlementsDelivery,
  EntitlementView,
  SlotResult,
  SlotView,
} from '../src/contracts/customer-entitlements';
import {
  foldEntitlements,
  type ResolvedEntitlement,
  type SourceState,
} from '../src/entitlements/fold';
import { newId } from '../src/lib/ids';
import { apiTime } from '../src/services/subscriptions/record';
import type { UnixSeconds } from '../src/subscriptions/time';
import { type SqlMigration, StatefulDurableObject } from './base';

type SlotRow = {
  id: string;
  key: string;
  label: string | null;
  confirmed: number;
  expires_at: number | null;
  created_at: number;
};

function slotView(r: SlotRow): SlotView {
  return {
    id: r.id,
    key: r.key,
    status: r.confirmed ? 'confirmed' : 'reserved',
    label: r.label,
    expiresAt: r.expires_at === null ? null : new Date(r.expires_at).toISOString(),
    createdAt: new Date(r.created_at).toISOString(),
  };
}

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
  {
    id: 3,
    name: 'slot leases',
    up: [
      `create table slots (id text primary key, key text not null, label text,
        confirmed integer not null, expires_at integer, created_at integer not null)`,
      'create index slots_key on slots (key)',
    ],
  },
  {
    id: 4,
    name: 'complimentary grants',
    up: [
      `create table comps (id text primary key, key text not null, type text not null,
        value text not null, levels text, levels_version integer, created_at integer not null,
        expires_at integer not null, revoked_at integer)`,
    ],
  },
];

/** A complimentary grant expired or revoked this long ago is dropped (it no longer shows). */
const COMP_KEEP_SECONDS = 30 * 86_400;

type CompRow = {
  id: string;
  key: string;
  type: string;
  value: string;
  levels: string | null;
  levels_version: number | null;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
};

/**
 * A complimentary grant as one more source of the fold: active from its creation until it
 * expires (cancel-at-period-end with its expiry as the period's end, so the fold judges the
 * expiry at each read, on the wall clock), granting nothing once revoked.
 */
function compSource(r: CompRow): SourceState {
  return {
    subscriptionId: r.id,
    status: r.revoked_at === null ? 'active' : 'cancelled',
    billingIssue: false,
    cancelAtPeriodEnd: true,
    periodStart: r.created_at,
    periodEnd: r.expires_at,
    graceEndsAt: null,
    clockNow: null,
    grants: [
      {
        key: r.key,
        type: r.type as CompGrant['type'],
        value: JSON.parse(r.value) as Record<string, unknown>,
        ...(r.levels
          ? { levels: JSON.parse(r.levels) as string[], levelsVersion: r.levels_version ?? 0 }
          : {}),
      },
    ],
  };
}

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

  async reserveSlot(
    key: string,
    o: { leaseSeconds: number; label: string | null; confirm: boolean },
  ): Promise<SlotResult> {
    await this.ready();
    // No await from here on: counting and taking a slot are one step (never over the count).
    const granted = this.slotGrant(key);
    if ('reason' in granted) return { ok: false, reason: granted.reason, slots: null };
    const now = Date.now();
    const used = this.slotsUsed(key, now);
    const count = granted.count;
    if (used >= count) {
      return { ok: false, reason: 'slots_exhausted', slots: { count, used, available: 0 } };
    }
    const id = newId('slot');
    const expiresAt = o.confirm ? null : now + o.leaseSeconds * 1000;
    this.ctx.storage.sql.exec(
      'insert into slots (id, key, label, confirmed, expires_at, created_at) values (?, ?, ?, ?, ?, ?)',
      id,
      key,
      o.label,
      o.confirm ? 1 : 0,
      expiresAt,
      now,
    );
    return {
      ok: true,
      slot: slotView({
        id,
        key,
        label: o.label,
        confirmed: o.confirm ? 1 : 0,
        expires_at: expiresAt,
        created_at: now,
      }),
      slots: { count, used: used + 1, available: count - used - 1 },
    };
  }

  async confirmSlot(key: string, slotId: string): Promise<SlotResult> {
    await this.ready();
    const now = Date.now();
    const row = this.slotRow(key, slotId, now);
    if (!row) return { ok: false, reason: 'no_such_slot', slots: this.slotCounts(key, now) };
    this.ctx.storage.sql.exec(
      'update slots set confirmed = 1, expires_at = null where id = ?',
      slotId,
    );
    return {
      ok: true,
      slot: slotView({ ...row, confirmed: 1, expires_at: null }),
      slots: this.slotCounts(key, now) ?? { count: 0, used: 0, available: 0 },
    };
  }

  async releaseSlot(key: string, slotId: string): Promise<SlotResult> {
    await this.ready();
    const now = Date.now();
    const row = this.slotRow(key, slotId, now);
    if (!row) return { ok: false, reason: 'no_such_slot', slots: this.slotCounts(key, now) };
    this.ctx.storage.sql.exec('delete from slots where id = ?', slotId);
    return {
      ok: true,
      slot: slotView(row),
      slots: this.slotCounts(key, now) ?? { count: 0, used: 0, available: 0 },
    };
  }

  /** The slots granted of `key`, or why none may be taken. */
  private slotGrant(
    key: string,
  ): { count: number } | { reason: 'not_granted' | 'inactive' | 'not_slots' } {
    const e = this.resolve().find((x) => x.key === key);
    if (!e) return { reason: 'not_granted' };
    if (e.type !== 'slots' || !e.slots) return { reason: e.active ? 'not_slots' : 'inactive' };
    if (!e.active) return { reason: 'inactive' };
    return { count: e.slots.count };
  }

  /** Slots of `key` taken now: confirmed ones and reservations not lapsed (lapsed are dropped). */
  private slotsUsed(key: string, now: number): number {
    const sql = this.ctx.storage.sql;
    sql.exec('delete from slots where key = ? and confirmed = 0 and expires_at <= ?', key, now);
    return (
      sql.exec<{ n: number }>('select count(*) as n from slots where key = ?', key).toArray()[0]
        ?.n ?? 0
    );
  }

  private slotCounts(key: string, now: number) {
    const granted = this.slotGrant(key);
    const used = this.slotsUsed(key, now);
    const count = 'count' in granted ? granted.count : 0;
    return { count, used, available: Math.max(0, count - used) };
  }

  private slotRow(key: string, slotId: string, now: number): SlotRow | undefined {
    this.slotsUsed(key, now);
    return this.ctx.storage.sql
      .exec<SlotRow>(
        'select id, key, label, confirmed, expires_at, created_at from slots where id = ? and key = ?',
        slotId,
        key,
      )
      .toArray()[0];
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

  async putComps(comps: readonly CompGrant[]): Promise<{ held: number }> {
    await this.ready();
    const sql = this.ctx.storage.sql;
    for (const g of comps) {
      // The terms of a held grant never change; a revocation, once held, stays.
      sql.exec(
        `insert into comps (id, key, type, value, levels, levels_version, created_at, expires_at,
           revoked_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)
         on conflict (id) do update set revoked_at = coalesce(comps.revoked_at, excluded.revoked_at)`,
        g.id,
        g.key,
        g.type,
        JSON.stringify(g.value),
        g.levels ? JSON.stringify(g.levels) : null,
        g.levelsVersion,
        g.createdAt,
        g.expiresAt,
        g.revokedAt,
      );
    }
    sql.exec(
      'delete from comps where min(expires_at, coalesce(revoked_at, expires_at)) < ?',
      Math.floor(Date.now() / 1000) - COMP_KEEP_SECONDS,
    );
    return {
      held: sql.exec<{ n: number }>('select count(*) as n from comps').toArray()[0]?.n ?? 0,
    };
  }

  /** The complimentary grants held, as sources of the fold. */
  private compSources(): SourceState[] {
    return this.ctx.storage.sql
      .exec<CompRow>(
        `select id, key, type, value, levels, levels_version, created_at, expires_at, revoked_at
         from comps`,
      )
      .toArray()
      .map(compSource);
  }

  private resolve(): ResolvedEntitlement[] {
    const states = [...this.sources.values()].map((s) => s.state);
    return foldEntitlements([...states, ...this.compSources()], Math.floor(Date.now() / 1000));
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
    if (e.slots) {
      const used = this.slotsUsed(e.key, Date.now());
      v.slots = { count: e.slots.count, used, available: Math.max(0, e.slots.count - used) };
    }
    if (e.tier) v.tier = e.tier;
    if (e.enabled !== undefined) v.enabled = e.enabled;
    return v;
  }
}
