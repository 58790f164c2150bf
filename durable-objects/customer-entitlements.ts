import type {
  CompGrant,
  ConsumeClaim,
  ConsumeResult,
  CustomerEntitlementsContract,
  EntitlementsCause,
  EntitlementsDelivery,
  EntitlementsEvent,
  EntitlementsOwner,
  EntitlementsRead,
  EntitlementView,
  LeaseSettlement,
  QuotaLease,
  SlotResult,
  SlotView,
} from '../src/contracts/customer-entitlements';
import {
  foldEntitlements,
  type QuotaPart,
  type ResolvedEntitlement,
  type SourceState,
} from '../src/entitlements/fold';
import {
  changedEntitlements,
  type TokenEntitlement,
  tokenEntitlements,
  weakened,
} from '../src/entitlements/token-view';
import { newId } from '../src/lib/ids';
import {
  ENTITLEMENTS_TOKEN_TTL_SECONDS,
  signEntitlementsToken,
} from '../src/security/entitlement-tokens';
import { loadSigner } from '../src/services/customers/signer';
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
    name: 'entitlements versions, change events and the current token',
    up: [
      'create table meta (k text primary key, v text not null)',
      'create table events (seq integer primary key, at integer not null, body text not null)',
    ],
  },
  {
    id: 5,
    name: 'complimentary grants',
    up: [
      `create table comps (id text primary key, key text not null, type text not null,
        value text not null, levels text, levels_version integer, created_at integer not null,
        expires_at integer not null, revoked_at integer)`,
    ],
  },
  {
    id: 6,
    name: 'a quota counter per granting source',
    up: [
      `create table quota_buckets (key text not null, source text not null,
        used integer not null, window_end integer not null, primary key (key, source))`,
    ],
  },
  {
    id: 7,
    name: 'quota leases held by edge isolates',
    up: [
      `create table leases (id text primary key, key text not null, units integer not null,
        expires_at integer not null, alloc text not null)`,
    ],
  },
];

/** How long an edge isolate may spend a lease (never past the quota window's end). */
export const LEASE_MS = 1_000;
/** A lease is at most this share of what is left, so near the end little sits in leases. */
const LEASE_SHARE = 8;

/** Units taken from one source's part of a quota in one window (a lease remembers them). */
interface Allocation {
  source: string;
  windowEnd: number;
  units: number;
}

/** One source's part of a quota in its current window (see `buckets`). */
interface Bucket {
  source: string;
  limit: number;
  used: number;
  windowEnd: UnixSeconds;
}

/** When capacity of a quota first comes back: the earliest end of a part that has been used. */
function resetOf(buckets: readonly Bucket[]): UnixSeconds {
  const used = buckets.filter((b) => b.used > 0);
  return Math.min(...(used.length ? used : buckets).map((b) => b.windowEnd));
}

/** Change events kept per customer (the newest; older ones are dropped). */
const EVENTS_KEPT = 1_000;
/** A token is signed again once less than this part of its life remains. */
const TOKEN_RENEW_FRACTION = 0.5;
/** A failed revocation is sent again after this long. */
const REVOCATION_RETRY_MS = 1_000;

interface HeldToken {
  token: string;
  version: number;
  /** unix seconds (its `iat`). */
  issuedAt?: number;
  /** Epoch ms. */
  expiresAt: number;
}

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
  /** Who this object is for; learnt from the first call that says (every caller does). */
  private owner: EntitlementsOwner | null = null;
  /** The entitlements version: +1 at every change of the active entitlements. */
  private version = 0;
  /** The active entitlements as of {@link version} (what the last event and token carry). */
  private held: TokenEntitlement[] = [];
  private token: HeldToken | null = null;
  /** A revocation not yet recorded by the tenant's config object (its minimum version). */
  private pendingRevocation: number | null = null;

  protected override onStart(): void {
    const meta = new Map(
      this.ctx.storage.sql
        .exec<{ k: string; v: string }>('select k, v from meta')
        .toArray()
        .map((r) => [r.k, JSON.parse(r.v) as unknown]),
    );
    this.owner = (meta.get('owner') as EntitlementsOwner | undefined) ?? null;
    this.version = (meta.get('version') as number | undefined) ?? 0;
    this.held = (meta.get('held') as TokenEntitlement[] | undefined) ?? [];
    this.token = (meta.get('token') as HeldToken | undefined) ?? null;
    this.pendingRevocation = (meta.get('pending_revocation') as number | undefined) ?? null;
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
    if (d.owner) this.learnOwner(d.owner);
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
    await this.settleChange({
      kind: 'subscription',
      subscriptionId: d.subscriptionId,
      status: d.state.status,
    });
    return { applied: true, seq: d.upToSeq };
  }

  async list(): Promise<EntitlementView[]> {
    await this.ready();
    return this.resolve().map((e) => this.view(e));
  }

  async read(owner: EntitlementsOwner, o: { renew?: boolean } = {}): Promise<EntitlementsRead> {
    await this.ready();
    this.learnOwner(owner);
    // A change that only time made (a cancelled period's end, a grace period over) is noticed
    // here too, before a token says otherwise.
    await this.settleChange({ kind: 'time' });
    const token = await this.currentToken(o.renew === true);
    return {
      version: this.version,
      entitlements: this.resolve().map((e) => this.view(e)),
      token: token?.token ?? null,
      tokenExpiresAt: token ? new Date(token.expiresAt).toISOString() : null,
      tokenIssuedAt: token?.issuedAt ?? null,
      tokenVersion: token?.version ?? null,
    };
  }

  async snapshot(): Promise<{
    version: number;
    entitlements: EntitlementView[];
    until: number | null;
  }> {
    await this.ready();
    await this.settleChange({ kind: 'time' });
    // The earliest time an active entitlement ends on its own: a held view is not used past it.
    const ends = this.held.map((e) => e.validUntil).filter((u): u is number => u !== null);
    return {
      version: this.version,
      entitlements: this.resolve().map((e) => this.view(e)),
      until: ends.length ? Math.min(...ends) : null,
    };
  }

  async events(after: number, limit: number): Promise<EntitlementsEvent[]> {
    await this.ready();
    return this.ctx.storage.sql
      .exec<{ body: string }>(
        'select body from events where seq > ? order by seq limit ?',
        after,
        Math.max(1, Math.min(100, limit)),
      )
      .toArray()
      .map((r) => JSON.parse(r.body) as EntitlementsEvent);
  }

  protected override async onAlarm(): Promise<void> {
    await this.settleChange({ kind: 'time' });
    if (this.pendingRevocation !== null) await this.sendRevocation(this.pendingRevocation);
    await this.armNext();
  }

  private learnOwner(owner: EntitlementsOwner): void {
    const o = this.owner;
    if (
      o &&
      o.tenantId === owner.tenantId &&
      o.storefrontId === owner.storefrontId &&
      o.mode === owner.mode &&
      o.customerId === owner.customerId
    ) {
      return;
    }
    const mine = {
      tenantId: owner.tenantId,
      storefrontId: owner.storefrontId,
      mode: owner.mode,
      customerId: owner.customerId,
    };
    this.owner = mine;
    this.putMeta('owner', mine);
  }

  private putMeta(k: string, v: unknown): void {
    this.ctx.storage.sql.exec(
      'insert into meta (k, v) values (?, ?) on conflict (k) do update set v = excluded.v',
      k,
      JSON.stringify(v),
    );
  }

  /**
   * Compares the active entitlements with those of the last version; on a change: the next
   * version, its event (with the resolved entitlements) and, when the customer lost anything,
   * a revocation of the tokens of earlier versions — then a token of the new version. The
   * version and the event are written before any await, so changes are numbered in order.
   */
  private async settleChange(cause: EntitlementsCause): Promise<void> {
    const nowMs = Date.now();
    const resolved = this.resolve();
    const next = tokenEntitlements(resolved, this.allSources(), nowMs);
    const diff = changedEntitlements(this.held, next);
    if (!diff.changed) return;
    const revoke = weakened(this.held, next);
    this.version += 1;
    const version = this.version;
    const o = this.owner;
    const event: EntitlementsEvent = {
      id: newId('entevt'),
      type: 'customer.entitlements.updated',
      version,
      customerId: o?.customerId ?? null,
      storefrontId: o?.storefrontId ?? null,
      mode: o?.mode ?? null,
      createdAt: new Date(nowMs).toISOString(),
      cause,
      added: diff.added,
      removed: diff.removed,
      changed: diff.updated,
      revokesEarlierTokens: revoke,
      entitlements: resolved.map((e) => this.view(e)),
    };
    const sql = this.ctx.storage.sql;
    sql.exec(
      'insert into events (seq, at, body) values (?, ?, ?)',
      version,
      nowMs,
      JSON.stringify(event),
    );
    sql.exec('delete from events where seq <= ?', version - EVENTS_KEPT);
    this.held = next;
    this.putMeta('version', version);
    this.putMeta('held', next);
    if (revoke) {
      this.pendingRevocation = version;
      this.putMeta('pending_revocation', version);
    }
    if (this.pendingRevocation !== null) await this.sendRevocation(this.pendingRevocation);
    if (this.owner) await this.currentToken();
    await this.armNext();
  }

  /** Tells the tenant's config object (the edge's revocation list) to refuse older tokens. */
  private async sendRevocation(minVersion: number): Promise<void> {
    const o = this.owner;
    if (!o) return; // no token was ever issued for an object that does not know its owner
    try {
      const ns = this.env.TENANT_CONFIG;
      await ns.get(ns.idFromName(o.tenantId)).revoke({
        storefrontId: o.storefrontId,
        mode: o.mode,
        customerId: o.customerId,
        minVersion,
      });
    } catch (err) {
      console.error(`entitlements ${o.customerId}: revocation not recorded yet: ${String(err)}`);
      await this.armAlarm(Date.now() + REVOCATION_RETRY_MS);
      return;
    }
    // A newer revocation may have been noted while this one was on its way.
    if (this.pendingRevocation !== null && this.pendingRevocation <= minVersion) {
      this.pendingRevocation = null;
      this.ctx.storage.sql.exec("delete from meta where k = 'pending_revocation'");
    }
  }

  /**
   * The token of the current version, signed anew when it is missing, of an older version or
   * past half its life; null when the tenant has no signing key at the edge yet.
   */
  private async currentToken(renew = false): Promise<HeldToken | null> {
    const o = this.owner;
    if (!o) return null;
    const t = this.token;
    const renewAfter = t
      ? t.expiresAt - ENTITLEMENTS_TOKEN_TTL_SECONDS * 1000 * TOKEN_RENEW_FRACTION
      : 0;
    if (!renew && t && t.version === this.version && Date.now() < renewAfter) return t;
    // A change that lands while signing awaits makes the token stale: sign again (a few times
    // at most; changes of one customer are rare).
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = Date.now();
      const signer = await loadSigner(this.env, o.tenantId, now);
      if (!signer) return null;
      const version = this.version;
      const token = await signEntitlementsToken(signer.key, {
        issuer: signer.issuer,
        storefrontId: o.storefrontId,
        customerId: o.customerId,
        tenantId: o.tenantId,
        mode: o.mode === 'test' ? 'test' : 'live',
        version,
        entitlements: this.held,
        now,
      });
      if (version !== this.version) continue;
      const held = {
        token,
        version,
        issuedAt: Math.floor(now / 1000),
        expiresAt: (Math.floor(now / 1000) + ENTITLEMENTS_TOKEN_TTL_SECONDS) * 1000,
      };
      this.token = held;
      this.putMeta('token', held);
      return held;
    }
    return null;
  }

  /** The alarm at the next time an entitlement's access ends on its own (wall-clock ones). */
  private async armNext(): Promise<void> {
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const e of this.held) {
      if (e.validUntil !== null && e.validUntil * 1000 > now) {
        next = Math.min(next, e.validUntil * 1000);
      }
    }
    if (this.pendingRevocation !== null) next = Math.min(next, now + REVOCATION_RETRY_MS);
    if (Number.isFinite(next)) await this.armAlarm(next);
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
    // The grant may have shrunk or lapsed since the reservation: confirm only within it.
    const granted = this.slotGrant(key);
    if ('reason' in granted) return { ok: false, reason: granted.reason, slots: null };
    const confirmed =
      this.ctx.storage.sql
        .exec<{ n: number }>('select count(*) as n from slots where key = ? and confirmed = 1', key)
        .toArray()[0]?.n ?? 0;
    if (!row.confirmed && confirmed >= granted.count) {
      return { ok: false, reason: 'slots_exhausted', slots: this.slotCounts(key, now) };
    }
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
    return this.take(key, quantity, 0).result;
  }

  /**
   * Spends `quantity` of the quota `key` and sets aside up to `leaseWant` more for an edge lease
   * (at most 1/{@link LEASE_SHARE} of what is left after the spend), all or nothing for the
   * spend. Answers the consume's result (its `remaining` counts the lease's units as left) and
   * what the lease took from which part.
   */
  private take(
    key: string,
    quantity: number,
    leaseWant: number,
  ): {
    result: ConsumeResult;
    lease: { units: number; alloc: Allocation[] } | null;
  } {
    const e = this.resolve().find((x) => x.key === key);
    if (!e)
      return {
        result: { ok: false, reason: 'not_granted', remaining: 0, resetsAt: null },
        lease: null,
      };
    if (e.type !== 'quota' || !e.quota) {
      return {
        result: {
          ok: false,
          reason: e.active ? 'not_a_quota' : 'inactive',
          remaining: 0,
          resetsAt: null,
        },
        lease: null,
      };
    }
    const buckets = this.buckets(key, e.quota.parts);
    const remaining = buckets.reduce((n, b) => n + Math.max(0, b.limit - b.used), 0);
    if (quantity > remaining) {
      return {
        result: {
          ok: false,
          reason: 'quota_exhausted',
          remaining,
          resetsAt: apiTime(resetOf(buckets)),
        },
        lease: null,
      };
    }
    const leaseUnits = Math.max(
      0,
      Math.min(leaseWant, Math.floor((remaining - quantity) / LEASE_SHARE)),
    );
    // Spend from the part whose window ends first (its units would lapse soonest); the lease's
    // units after the consume's.
    let left = quantity + leaseUnits;
    const alloc: Allocation[] = [];
    for (const b of buckets) {
      const take = Math.min(left, Math.max(0, b.limit - b.used));
      if (take === 0) continue;
      b.used += take;
      left -= take;
      this.ctx.storage.sql.exec(
        `insert into quota_buckets (key, source, used, window_end) values (?, ?, ?, ?)
         on conflict (key, source) do update set used = excluded.used,
           window_end = excluded.window_end`,
        key,
        b.source,
        b.used,
        b.windowEnd,
      );
      alloc.push({ source: b.source, windowEnd: b.windowEnd, units: take });
      if (left === 0) break;
    }
    // Which of the taken units are the lease's: the last `leaseUnits` of them.
    let leaseRest = leaseUnits;
    const leaseAlloc: Allocation[] = [];
    for (let i = alloc.length - 1; i >= 0 && leaseRest > 0; i--) {
      const a = alloc[i] as Allocation;
      const u = Math.min(leaseRest, a.units);
      leaseAlloc.push({ ...a, units: u });
      leaseRest -= u;
    }
    const used = buckets.reduce((n, b) => n + b.used, 0);
    return {
      result: {
        ok: true,
        remaining: remaining - quantity,
        resetsAt: apiTime(resetOf(buckets)),
        used: used - leaseUnits,
        limit: e.quota.limit,
      },
      lease: leaseUnits > 0 ? { units: leaseUnits, alloc: leaseAlloc } : null,
    };
  }

  async leaseConsume(
    key: string,
    quantity: number,
    o: { want: number; settle: LeaseSettlement | null },
  ): Promise<ConsumeResult & { lease?: QuotaLease }> {
    await this.ready();
    // No await from here on: settling, deciding and writing are one step of this object.
    if (o.settle) this.settleLease(o.settle);
    this.sweepLeases();
    const { result, lease } = this.take(key, quantity, Math.max(0, Math.floor(o.want)));
    if (!result.ok || !lease) return result;
    const id = newId('lease');
    const windowEnd = Date.parse(result.resetsAt);
    const expiresAt = Math.min(Date.now() + LEASE_MS, windowEnd);
    this.ctx.storage.sql.exec(
      'insert into leases (id, key, units, expires_at, alloc) values (?, ?, ?, ?, ?)',
      id,
      key,
      lease.units,
      expiresAt,
      JSON.stringify(lease.alloc),
    );
    return { ...result, lease: { id, units: lease.units, expiresAt } };
  }

  async settleLeases(settlements: readonly LeaseSettlement[]): Promise<void> {
    await this.ready();
    for (const st of settlements) this.settleLease(st);
  }

  /**
   * An edge isolate hands a lease back: what it did not spend returns to the parts it came
   * from, unless their window moved on meanwhile (then it was never spendable there again).
   */
  private settleLease(st: LeaseSettlement): void {
    const sql = this.ctx.storage.sql;
    const row = sql
      .exec<{ key: string; units: number; alloc: string }>(
        'select key, units, alloc from leases where id = ?',
        st.leaseId,
      )
      .toArray()[0];
    if (!row) return;
    sql.exec('delete from leases where id = ?', st.leaseId);
    let unspent = Math.max(0, row.units - Math.max(0, Math.floor(st.spent)));
    for (const a of JSON.parse(row.alloc) as {
      source: string;
      windowEnd: number;
      units: number;
    }[]) {
      if (unspent === 0) break;
      const back = Math.min(unspent, a.units);
      sql.exec(
        'update quota_buckets set used = max(0, used - ?) where key = ? and source = ? and window_end = ?',
        back,
        row.key,
        a.source,
        a.windowEnd,
      );
      unspent -= back;
    }
  }

  /** Leases not handed back in time stay spent (never a unit granted twice). */
  private sweepLeases(): void {
    this.ctx.storage.sql.exec('delete from leases where expires_at <= ?', Date.now() - LEASE_MS);
  }

  async putComps(
    comps: readonly CompGrant[],
    owner?: EntitlementsOwner,
  ): Promise<{ held: number }> {
    await this.ready();
    if (owner) this.learnOwner(owner);
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
    const last = comps[comps.length - 1];
    if (last) await this.settleChange({ kind: 'grant', grantId: comps[0]?.id ?? last.id });
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

  /** Every source of the fold: the subscriptions' states and the complimentary grants. */
  private allSources(): SourceState[] {
    return [...[...this.sources.values()].map((s) => s.state), ...this.compSources()];
  }

  private resolve(): ResolvedEntitlement[] {
    return foldEntitlements(this.allSources(), Math.floor(Date.now() / 1000));
  }

  /**
   * Each granting source's part of the quota `key` in its current window, earliest-ending first.
   * A part counts from zero once its window has moved on (a renewal, the next calendar period);
   * a window that ended without moving on (a period over, its renewal not delivered yet) keeps
   * counting, so the gap never grants anew; a window that shrank (a plan change to a shorter
   * cycle) keeps what was used until its new end.
   */
  private buckets(key: string, parts: readonly QuotaPart[]): Bucket[] {
    const sql = this.ctx.storage.sql;
    const rows = new Map(
      sql
        .exec<{ source: string; used: number; window_end: number }>(
          'select source, used, window_end from quota_buckets where key = ?',
          key,
        )
        .toArray()
        .map((r) => [r.source, r]),
    );
    if (rows.size === 0) this.adoptCounter(key, parts, rows);
    return parts
      .map((p) => {
        const r = rows.get(p.source);
        const fresh = !r || p.windowEnd > r.window_end;
        return {
          source: p.source,
          limit: p.limit,
          used: fresh ? 0 : r.used,
          windowEnd: p.windowEnd,
        };
      })
      .sort((a, b) => a.windowEnd - b.windowEnd || (a.source < b.source ? -1 : 1));
  }

  /**
   * A counter kept before quotas were counted per source (one per key, table `counters`) becomes
   * the part whose window it counted (else the earliest-ending part's), so no count is lost.
   */
  private adoptCounter(
    key: string,
    parts: readonly QuotaPart[],
    rows: Map<string, { source: string; used: number; window_end: number }>,
  ): void {
    const sql = this.ctx.storage.sql;
    const old = sql
      .exec<{ used: number; window_end: number }>(
        'select used, window_end from counters where key = ?',
        key,
      )
      .toArray()[0];
    if (!old || parts.length === 0) return;
    const first = [...parts].sort((a, b) => a.windowEnd - b.windowEnd)[0] as QuotaPart;
    const part = parts.find((p) => p.windowEnd === old.window_end) ?? first;
    const row = { source: part.source, used: old.used, window_end: old.window_end };
    sql.exec(
      'insert into quota_buckets (key, source, used, window_end) values (?, ?, ?, ?)',
      key,
      row.source,
      row.used,
      row.window_end,
    );
    sql.exec('delete from counters where key = ?', key);
    rows.set(row.source, row);
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
      const buckets = this.buckets(e.key, e.quota.parts);
      v.quota = {
        limit: e.quota.limit,
        used: buckets.reduce((n, b) => n + b.used, 0),
        remaining: buckets.reduce((n, b) => n + Math.max(0, b.limit - b.used), 0),
        resetsAt: apiTime(resetOf(buckets)),
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
