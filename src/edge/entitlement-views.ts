/**
 * The server path of an entitlement check (`POST /v1/entitlements/check` with a secret key),
 * answered at the edge: each isolate keeps the customer's entitlements as their object last
 * answered (for at most a second, at most 10,000 customers), so a backend checking one customer
 * on every request of its own reaches the object about once a second, not every time.
 *
 * Only a yes is served from memory, and not after a write of this isolate to the tenant (any
 * storefront write: a cancel, a refund, a consume, an operator's grant), so an isolate's own
 * writes are seen at once. A no (not granted, inactive, a quota used up) always asks
 * the object, so a checkout's new grant is allowed at once (read-your-writes). A yes can only
 * turn wrong by the customer losing something, which revokes (src/edge/revocations.ts): a held
 * view older than the customer's revocation is asked again, so a cancel or a refund is refused
 * within the revocation list's ~1.25 s; a quota's `remaining` is as of at most a second ago (a
 * consume is the exact gate).
 */
import { type EntitlementView, entitlementsObjectName } from '../contracts/customer-entitlements';
import { allows } from '../entitlements/fold';
import type { Env } from '../env';
import { Lru } from './lru';
import { handBackLeases } from './quota-leases';
import { isRevoked, revocations } from './revocations';

/** How long an isolate answers a yes from the view it holds. */
export const VIEW_TTL_MS = 1_000;

interface Held {
  at: number;
  /** The tenant's generation when it was read (see {@link forgetTenantViews}). */
  gen: number;
  version: number;
  entitlements: EntitlementView[];
  /** Epoch ms: an active entitlement ends on its own then; the view is not used past it. */
  until: number;
}

const held = new Lru<string, Held>(10_000);
/** Per tenant: bumped by a write in this isolate, which makes every held view of it a miss. */
const generations = new Map<string, number>();
const genOf = (tenantId: string) => generations.get(tenantId) ?? 0;

/**
 * A write of this isolate may have changed what the tenant's customers hold: their held views
 * are not answered from again (the next check asks the object). Cheap: one counter.
 */
export function forgetTenantViews(tenantId: string): void {
  if (generations.size >= 10_000 && !generations.has(tenantId)) generations.clear();
  generations.set(tenantId, genOf(tenantId) + 1);
}

export interface ServerCheck {
  allowed: boolean;
  reason: string;
  entitlement: EntitlementView | null;
}

/** The check's answer from a list of the customer's entitlements. */
export function decide(entitlements: readonly EntitlementView[], key: string): ServerCheck {
  const e = entitlements.find((x) => x.key === key) ?? null;
  const quotaLeft = !e?.quota || e.quota.remaining > 0;
  const decision = allows(e);
  return {
    allowed: decision.allowed && quotaLeft,
    reason: decision.allowed && !quotaLeft ? 'quota_exhausted' : decision.reason,
    entitlement: e,
  };
}

export interface CheckSubject {
  tenantId: string;
  storefrontId: string;
  mode: string;
  customerId: string;
}

/**
 * Whether `who` may use `key`: from the held view when it is young, not revoked and says yes;
 * else from the customer's object (and held for the next ones).
 */
export function serverCheck(
  env: Env,
  ctx: ExecutionContext,
  who: CheckSubject,
  key: string,
  now = Date.now(),
): ServerCheck | Promise<ServerCheck> {
  const name = entitlementsObjectName(who);
  const hit = held.get(name);
  if (hit && now - hit.at < VIEW_TTL_MS && now < hit.until && hit.gen === genOf(who.tenantId)) {
    const fromMemory = (list: Parameters<typeof isRevoked>[0]) => {
      if (isRevoked(list, who, { ver: hit.version, iat: Math.floor(hit.at / 1000) })) return null;
      const answer = decide(hit.entitlements, key);
      return answer.allowed ? answer : null;
    };
    const list = revocations.get(env.TENANT_CONFIG, who.tenantId, ctx);
    if (!(list instanceof Promise)) {
      const answer = fromMemory(list);
      if (answer) return answer;
    } else {
      return list.then((l) => fromMemory(l) ?? ask(env, who, name, key, now));
    }
  }
  return ask(env, who, name, key, now);
}

async function ask(
  env: Env,
  who: CheckSubject,
  name: string,
  key: string,
  now: number,
): Promise<ServerCheck> {
  const gen = genOf(who.tenantId);
  await handBackLeases(env, who);
  const ns = env.CUSTOMER_ENTITLEMENTS;
  const view = await ns.get(ns.idFromName(name)).snapshot();
  held.set(name, {
    at: now,
    gen,
    version: view.version,
    entitlements: view.entitlements,
    until: view.until === null ? Number.POSITIVE_INFINITY : view.until * 1000,
  });
  return decide(view.entitlements, key);
}

/** A consume of this isolate changed what a customer (their object's name) has left. */
export function forgetHeldView(objectName: string): void {
  held.delete(objectName);
}

/** Forget every held view (tests: a cold isolate). */
export function forgetViews(): void {
  held.clear();
  generations.clear();
}
