/**
 * The RPC contract of a customer's entitlements object (durable-objects/customer-entitlements.ts):
 * one per tenant, storefront, mode and customer (named by {@link entitlementsObjectName}). It
 * folds the state of the customer's subscriptions there into their entitlements and holds the
 * quota counters, so answers and consumes never touch Postgres.
 */
import type { EntitlementType } from '../domain/entitlements';
import type { SourceState } from '../entitlements/fold';

/**
 * A subscription's state as of its event `upToSeq` (and record `version`), handed over by the
 * subscription object after each change. Applied once per (subscriptionId, upToSeq, version):
 * an older or equal delivery is ignored, so redeliveries and reordering are harmless.
 */
export interface EntitlementsDelivery {
  /** Whom the object is for (the subscription's tenant, storefront, mode and customer). */
  owner?: EntitlementsOwner;
  subscriptionId: string;
  upToSeq: number;
  version: number;
  state: SourceState;
}

/** The customer an entitlements object is for (what its name says). */
export interface EntitlementsOwner {
  tenantId: string;
  storefrontId: string;
  mode: string;
  customerId: string;
}

/** What made the customer's entitlements change. */
export type EntitlementsCause =
  | { kind: 'subscription'; subscriptionId: string; status: string }
  | { kind: 'grant'; grantId: string }
  | { kind: 'time' };

/**
 * A change of a customer's entitlements, in order per customer (`version`), carrying the
 * resolved entitlements after it (for outbound webhooks).
 */
export interface EntitlementsEvent {
  id: string;
  type: 'customer.entitlements.updated';
  version: number;
  customerId: string | null;
  storefrontId: string | null;
  mode: string | null;
  createdAt: string;
  cause: EntitlementsCause;
  /** Keys that became active, stopped being active, or changed value. */
  added: string[];
  removed: string[];
  changed: string[];
  /** The customer lost something: entitlement tokens of earlier versions are revoked. */
  revokesEarlierTokens: boolean;
  entitlements: EntitlementView[];
}

/** What `GET /v1/entitlements` answers, from the object. */
export interface EntitlementsRead {
  version: number;
  entitlements: EntitlementView[];
  /** The current entitlements token (null while the tenant has no signing key at the edge). */
  token: string | null;
  tokenExpiresAt: string | null;
  /** The token's `iat` (unix seconds) and `ver`, so the caller can check it against the edge's
   * revocations (and ask for a new one with `renew`). */
  tokenIssuedAt: number | null;
  tokenVersion: number | null;
}

/** One entitlement as `GET /v1/entitlements` shows it. */
export interface EntitlementView {
  key: string;
  type: EntitlementType;
  active: boolean;
  billingIssue: boolean;
  source: string[];
  quota?: { limit: number; used: number; remaining: number; resetsAt: string };
  slots?: { count: number; used: number; available: number };
  tier?: { level: string; detail: string | null };
  enabled?: boolean;
}

export type ConsumeResult =
  | { ok: true; remaining: number; resetsAt: string; used: number; limit: number }
  | {
      ok: false;
      /**
       * quota_exhausted (a 429), why the key meters nothing for this customer, or an
       * Idempotency-Key already used for another consume (`idempotency_key_reused`).
       */
      reason:
        | 'quota_exhausted'
        | 'not_granted'
        | 'inactive'
        | 'not_a_quota'
        | 'idempotency_key_reused';
      remaining: number;
      resetsAt: string | null;
    };

/** A slot of a `slots` entitlement: reserved for a lease, or confirmed until released. */
export interface SlotView {
  id: string;
  key: string;
  status: 'reserved' | 'confirmed';
  label: string | null;
  /** When an unconfirmed reservation lapses (null once confirmed). */
  expiresAt: string | null;
  createdAt: string;
}

export type SlotResult =
  | { ok: true; slot: SlotView; slots: { count: number; used: number; available: number } }
  | {
      ok: false;
      /** slots_exhausted: every granted slot is taken (reserved or confirmed). */
      reason: 'slots_exhausted' | 'not_granted' | 'inactive' | 'not_slots' | 'no_such_slot';
      slots: { count: number; used: number; available: number } | null;
    };

/**
 * A complimentary grant by an operator, as Postgres records it (src/services/entitlement-grants):
 * delivered to the customer's object after the row is written, and again on a retry. Applied by
 * id: its terms never change once held, and a revocation, once held, stays (so deliveries that
 * repeat or cross never bring a revoked grant back).
 */
export interface CompGrant {
  /** comp_…: the grant's id, shown in `source` of what it grants. */
  id: string;
  key: string;
  type: EntitlementType;
  value: Record<string, unknown>;
  levels: readonly string[] | null;
  levelsVersion: number | null;
  /** Unix seconds. */
  createdAt: number;
  /** Unix seconds: it grants until then (judged at each read). */
  expiresAt: number;
  /** Unix seconds, or null while it stands. */
  revokedAt: number | null;
}

/**
 * Units of a quota set aside for one edge isolate to spend without asking the object, until
 * `expiresAt` (epoch ms; never past the quota window's end). Counted as used until handed back.
 */
export interface QuotaLease {
  id: string;
  units: number;
  expiresAt: number;
}

/** A lease handed back: how many of its units were spent. */
export interface LeaseSettlement {
  leaseId: string;
  spent: number;
}

/** A consume's Idempotency-Key and the hash of what it asked (entitlement key, quantity). */
export interface ConsumeClaim {
  key: string;
  requestHash: string;
}

export interface CustomerEntitlementsContract extends Rpc.DurableObjectBranded {
  /** Applies a subscription's newer state (see {@link EntitlementsDelivery}). */
  apply(delivery: EntitlementsDelivery): Promise<{ applied: boolean; seq: number }>;
  /** The customer's entitlements now, sorted by key. */
  list(): Promise<EntitlementView[]>;
  /** The entitlements with the version and a current signed token (see EntitlementsRead). */
  read(owner: EntitlementsOwner, o?: { renew?: boolean }): Promise<EntitlementsRead>;
  /** The entitlements and their version, for the edge's held views (src/edge/entitlement-views.ts). */
  snapshot(): Promise<{
    version: number;
    entitlements: EntitlementView[];
    /** unix seconds: the earliest end of an active entitlement, or null. */
    until: number | null;
  }>;
  /** Change events after `version` `after`, oldest first, at most `limit` (≤ 100). */
  events(after: number, limit: number): Promise<EntitlementsEvent[]>;
  /**
   * Spends `quantity` of the quota `key`, all or nothing (consumes are serialized). With a
   * claim, a consume that succeeded answers the same again for 24 hours without spending
   * (`replayed`); a refused one is not kept (nothing was spent: a retry asks anew).
   */
  consume(
    key: string,
    quantity: number,
    claim?: ConsumeClaim | null,
  ): Promise<ConsumeResult & { replayed?: boolean }>;
  /**
   * A consume for an edge isolate (src/edge/quota-leases.ts): hands back its previous lease
   * (`settle`), spends `quantity` exactly like {@link consume}, and sets aside up to `want`
   * more units as a new lease (at most an eighth of what is left, never past the window).
   */
  leaseConsume(
    key: string,
    quantity: number,
    o: { want: number; settle: LeaseSettlement | null },
  ): Promise<ConsumeResult & { lease?: QuotaLease }>;
  /** Hands back leases (their unspent units return). */
  settleLeases(settlements: readonly LeaseSettlement[]): Promise<void>;
  /**
   * Reserves one slot of `key` for `leaseSeconds` (confirmed at once with `confirm`): never
   * more reserved and confirmed slots than granted; a lapsed reservation frees its slot.
   */
  reserveSlot(
    key: string,
    o: { leaseSeconds: number; label: string | null; confirm: boolean },
  ): Promise<SlotResult>;
  /** Confirms a reservation (it no longer lapses). */
  confirmSlot(key: string, slotId: string): Promise<SlotResult>;
  /** Releases a slot (reserved or confirmed). */
  releaseSlot(key: string, slotId: string): Promise<SlotResult>;
  /**
   * Holds these complimentary grants (see {@link CompGrant}): idempotent by id, a revocation is
   * kept once held. Answers how many it holds now.
   */
  putComps(comps: readonly CompGrant[], owner?: EntitlementsOwner): Promise<{ held: number }>;
}

/** The name of a customer's entitlements object in `CUSTOMER_ENTITLEMENTS`. */
export function entitlementsObjectName(o: {
  tenantId: string;
  storefrontId: string;
  mode: string;
  customerId: string;
}): string {
  return `${o.tenantId}:${o.storefrontId}:${o.mode}:${o.customerId}`;
}
