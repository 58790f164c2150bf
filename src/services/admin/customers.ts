/**
 * The console's customer views, read from the Postgres copies: find a customer by email or id,
 * their subscriptions with bundle and price, and a subscription's payments with every attempt
 * and the routing decision that chose its providers. Reads only: the subscription and payment
 * objects stay the authority (a copy may lag them by a moment, or longer in a Postgres outage).
 */
import { and, asc, desc, eq, inArray, type SQL, sql } from 'drizzle-orm';
import {
  bundlePrices,
  bundles,
  customers,
  paymentAttempts,
  payments,
  storefronts,
  subscriptions,
} from '../../db/schema';
import type { Db } from '../../db/types';

/** The most customers one search answers. */
export const MAX_SEARCH_RESULTS = 50;
/** The most subscriptions a customer view lists (newest first). */
export const MAX_CUSTOMER_SUBSCRIPTIONS = 100;
/** The most payments a subscription's history lists (newest first). */
export const MAX_SUBSCRIPTION_PAYMENTS = 100;

const ID_RE = /^(cus|sub|pay)_[0-9A-Z]{26}$/;

/** What a search query names: an id (of the customer, or of one of their subscriptions or
 * payments) or the start of an email address. */
export type CustomerQuery =
  | { kind: 'customer' | 'subscription' | 'payment'; id: string }
  | { kind: 'email'; prefix: string };

/** Parses a search box's text. Ids are matched exactly, anything else as an email prefix. */
export function parseCustomerQuery(query: string): CustomerQuery {
  const q = query.trim();
  if (ID_RE.test(q)) {
    const kind = q.startsWith('cus_')
      ? 'customer'
      : q.startsWith('sub_')
        ? 'subscription'
        : 'payment';
    return { kind, id: q };
  }
  return { kind: 'email', prefix: q.toLowerCase() };
}

/** `LIKE` with the pattern's own wildcards escaped: the prefix is matched literally. */
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

export interface CustomerSearchInput {
  tenantId: string;
  query: string;
  /** The storefronts the operator may read customers of; null: every storefront. */
  storefrontIds: readonly string[] | null;
  limit: number;
}

/**
 * Customers of the tenant matching the query, in email order, at most `limit`. An email prefix
 * uses `customers_tenant_email_prefix_idx` (tenant_id, lower(email) text_pattern_ops) for both
 * the match and the order, so a search reads `limit` index entries whatever the prefix (over
 * 1,000,000 customers: 0.4 ms for a one-letter prefix matching 100,000, 0.1 ms for a rare one).
 */
export async function searchCustomers(db: Db, input: CustomerSearchInput) {
  const q = parseCustomerQuery(input.query);
  const conditions: SQL[] = [eq(customers.tenantId, input.tenantId)];
  if (input.storefrontIds !== null) {
    if (input.storefrontIds.length === 0) return [];
    conditions.push(inArray(customers.storefrontId, [...input.storefrontIds]));
  }
  if (q.kind === 'email') {
    conditions.push(sql`lower(${customers.email}) like ${likePrefix(q.prefix)}`);
  } else if (q.kind === 'customer') {
    conditions.push(eq(customers.id, q.id));
  } else if (q.kind === 'subscription') {
    conditions.push(
      sql`${customers.id} = (select ${subscriptions.customerId} from ${subscriptions}
        where ${subscriptions.id} = ${q.id} and ${subscriptions.tenantId} = ${input.tenantId})`,
    );
  } else {
    conditions.push(
      sql`${customers.id} = (select ${payments.customerId} from ${payments}
        where ${payments.id} = ${q.id} and ${payments.tenantId} = ${input.tenantId})`,
    );
  }
  const rows = await db
    .select({
      id: customers.id,
      email: customers.email,
      name: customers.name,
      externalId: customers.externalId,
      createdAt: customers.createdAt,
      storefrontId: storefronts.id,
      storefrontSlug: storefronts.slug,
      storefrontName: storefronts.name,
      subscriptionCount: sql<number>`(select count(*)::int from ${subscriptions}
        where ${subscriptions.customerId} = ${customers.id})`,
    })
    .from(customers)
    .innerJoin(storefronts, eq(storefronts.id, customers.storefrontId))
    .where(and(...conditions))
    // In the pattern index's own order (byte order, `~<~`), so the first `limit` matches are read
    // straight off the index: a one-letter prefix over 100,000 customers costs what a rare one does.
    .orderBy(sql`lower(${customers.email}) using ~<~`, asc(customers.id))
    .limit(input.limit);
  return rows.map(customerSummary);
}

function customerSummary(r: {
  id: string;
  email: string;
  name: string | null;
  externalId: string | null;
  createdAt: Date;
  storefrontId: string;
  storefrontSlug: string;
  storefrontName: string;
  subscriptionCount?: number;
}) {
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    externalId: r.externalId,
    storefront: { id: r.storefrontId, slug: r.storefrontSlug, name: r.storefrontName },
    subscriptionCount: Number(r.subscriptionCount ?? 0),
    createdAt: r.createdAt.toISOString(),
  };
}

/** The customer (any storefront of the tenant), or null: the caller checks the storefront. */
export async function findTenantCustomer(db: Db, tenantId: string, customerId: string) {
  const [row] = await db
    .select({
      id: customers.id,
      email: customers.email,
      name: customers.name,
      externalId: customers.externalId,
      createdAt: customers.createdAt,
      storefrontId: storefronts.id,
      storefrontSlug: storefronts.slug,
      storefrontName: storefronts.name,
    })
    .from(customers)
    .innerJoin(storefronts, eq(storefronts.id, customers.storefrontId))
    .where(and(eq(customers.tenantId, tenantId), eq(customers.id, customerId)))
    .limit(1);
  return row ?? null;
}

const ISO = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * When the subscription next bills on its own: the period end of an active subscription that
 * renews, the trial end of a trialing one; null when nothing is due by itself (cancelling at the
 * period end, past due — the dunning retry decides —, paused, terminal, or a fixed term's end).
 */
export function nextRenewalAt(s: {
  status: string;
  currentPeriodEnd: Date | null;
  trialEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  termEnd: Date | null;
}): Date | null {
  const due =
    s.status === 'active' ? s.currentPeriodEnd : s.status === 'trialing' ? s.trialEnd : null;
  if (!due || s.cancelAtPeriodEnd) return null;
  if (s.termEnd && s.termEnd.getTime() <= due.getTime()) return null;
  return due;
}

/** A customer's subscriptions, newest first, with bundle, price and next renewal. */
export async function customerSubscriptions(db: Db, tenantId: string, customerId: string) {
  const rows = await db
    .select({
      s: subscriptions,
      bundleSlug: bundles.slug,
      bundleName: bundles.name,
      amount: bundlePrices.amount,
      currency: bundlePrices.currency,
      interval: bundlePrices.interval,
      intervalCount: bundlePrices.intervalCount,
    })
    .from(subscriptions)
    .innerJoin(bundles, eq(bundles.id, subscriptions.bundleId))
    .innerJoin(bundlePrices, eq(bundlePrices.id, subscriptions.priceId))
    .where(and(eq(subscriptions.tenantId, tenantId), eq(subscriptions.customerId, customerId)))
    .orderBy(desc(subscriptions.createdAt), asc(subscriptions.id))
    .limit(MAX_CUSTOMER_SUBSCRIPTIONS);
  return rows.map(({ s, ...r }) => ({
    id: s.id,
    status: s.status,
    mode: s.mode,
    bundle: { id: s.bundleId, slug: r.bundleSlug, name: r.bundleName },
    price: {
      id: s.priceId,
      amount: r.amount,
      currency: r.currency,
      interval: r.interval,
      intervalCount: r.intervalCount,
    },
    currentPeriodStart: ISO(s.currentPeriodStart),
    currentPeriodEnd: ISO(s.currentPeriodEnd),
    nextRenewalAt: ISO(nextRenewalAt(s)),
    trialEnd: ISO(s.trialEnd),
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
    cancelledAt: ISO(s.cancelledAt),
    endedAt: ISO(s.endedAt),
    pausedAt: ISO(s.pausedAt),
    billingIssue: s.billingIssue,
    creditBalance: s.creditBalance,
    testClockId: s.testClockId,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  }));
}

/** The subscription's tenant-scoped header (its storefront and customer), or null. */
export async function findTenantSubscription(db: Db, tenantId: string, subscriptionId: string) {
  const [row] = await db
    .select({
      id: subscriptions.id,
      storefrontId: subscriptions.storefrontId,
      customerId: subscriptions.customerId,
      status: subscriptions.status,
    })
    .from(subscriptions)
    .where(and(eq(subscriptions.tenantId, tenantId), eq(subscriptions.id, subscriptionId)))
    .limit(1);
  return row ?? null;
}

/**
 * A subscription's payments, newest first, each with its attempts in order and the routing
 * decision saved before the first provider was called: the rule that matched, the bucket, the
 * providers to try in order and those passed over with why (killswitch, breaker_open,
 * ineligible). "Why did this payment go to PayPal?" is answered by `decision` and `attempts`.
 */
export async function subscriptionPayments(
  db: Db,
  tenantId: string,
  subscriptionId: string,
  limit: number,
) {
  const rows = await db
    .select()
    .from(payments)
    .where(and(eq(payments.tenantId, tenantId), eq(payments.subscriptionId, subscriptionId)))
    .orderBy(desc(payments.createdAt), desc(payments.id))
    .limit(limit);
  if (rows.length === 0) return [];
  const attempts = await db
    .select()
    .from(paymentAttempts)
    .where(
      and(
        eq(paymentAttempts.tenantId, tenantId),
        inArray(
          paymentAttempts.paymentId,
          rows.map((r) => r.id),
        ),
      ),
    )
    .orderBy(asc(paymentAttempts.paymentId), asc(paymentAttempts.seq));
  const byPayment = new Map<string, (typeof attempts)[number][]>();
  for (const a of attempts) {
    const list = byPayment.get(a.paymentId) ?? [];
    list.push(a);
    byPayment.set(a.paymentId, list);
  }
  return rows.map((p) => ({
    id: p.id,
    status: p.status,
    mode: p.mode,
    amount: p.amount,
    currency: p.currency,
    amountRefunded: p.refundedAmount,
    provider: p.provider,
    declineCode: p.declineCode,
    declineClass: p.declineClass,
    /** The natural key the subscription charged under (`attempt:renewal:<start>:0`…). */
    idempotencyKey: p.idempotencyKey,
    decision: p.decision
      ? {
          configVersion: p.decision.configVersion,
          rule: p.decision.rule,
          bucket: p.decision.bucket,
          order: p.decision.order,
          skipped: p.decision.skipped,
        }
      : null,
    attempts: (byPayment.get(p.id) ?? []).map((a) => ({
      seq: a.seq,
      provider: a.provider,
      status: a.status,
      declineCode: a.declineCode,
      declineClass: a.declineClass,
      latencyMs: a.latencyMs,
      lookedUp: a.lookedUp,
      createdAt: a.createdAt.toISOString(),
    })),
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  }));
}
