/**
 * Generated history for the demo's analytics: six months of GlobalCorp sales in each of its
 * storefronts — checkouts (some declined, some trials, some under a campaign code), upgrades,
 * renewals, failed renewals and their recoveries, churn, payments with their attempts by
 * provider, and the exposures of the demo's experiments (`new-checkout` everywhere, `hero-copy`
 * in eu-store) — written straight into Postgres in live mode (the demo's keys are test keys, so
 * live mode holds only this history), a few thousand rows.
 *
 * The rows have no Durable Object behind them: their ids carry `hist_` (src/demo/history.ts)
 * and their customers are customers of their own (`…@history.demo.invalid`), so no demo
 * customer's subscription list ever names one. A seeded pseudo-random generator makes every
 * run the same; a run that finds the history already there writes nothing, and every insert
 * skips rows that exist, so a second `npm start` adds no duplicates.
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { PgInsertValue, PgTable } from 'drizzle-orm/pg-core';
import {
  bundlePrices,
  bundles,
  customers,
  flagExposures,
  paymentAttempts,
  payments,
  storefronts,
  subscriptionEvents,
  subscriptions,
  tenants,
} from '../../src/db/schema';
import type { Db } from '../../src/db/types';
import { HISTORY_EMAIL_DOMAIN } from '../../src/demo/history';

/** Bump to regenerate (new ids); the old rows stay until the database is reset. */
const VERSION = 'v1';
const DAYS = 182;
const DAY = 86_400_000;
const BATCH = 400;

/** mulberry32: a small seeded generator, so the history is the same on every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Per storefront: checkouts a day at the start and at the end (sales grow), experiment. */
const PLAN: Record<string, { from: number; to: number; flag: string; variants: [string, string] }> =
  {
    'us-store': { from: 0.8, to: 2.2, flag: 'new-checkout', variants: ['false', 'true'] },
    'eu-store': { from: 0.5, to: 1.4, flag: 'hero-copy', variants: ['control', 'treatment'] },
    'apac-store': { from: 0.3, to: 0.9, flag: 'new-checkout', variants: ['false', 'true'] },
    'tv-store': { from: 0.3, to: 0.6, flag: 'new-checkout', variants: ['false', 'true'] },
  };

const DECLINES = [
  { code: 'insufficient_funds', cls: 'issuer' },
  { code: 'do_not_honor', cls: 'issuer' },
  { code: 'expired_card', cls: 'issuer' },
  { code: 'processing_error', cls: 'provider' },
] as const;

type Rows<T extends PgTable> = T['$inferInsert'][];

async function insertAll<T extends PgTable>(db: Db, table: T, rows: Rows<T>) {
  for (let i = 0; i < rows.length; i += BATCH) {
    await db
      .insert(table)
      .values(rows.slice(i, i + BATCH) as PgInsertValue<T>[])
      .onConflictDoNothing();
  }
}

export interface HistoryResult {
  written: boolean;
  subscriptions: number;
  payments: number;
  exposures: number;
}

/**
 * Writes the history of the tenant (GlobalCorp unless told) once: a run that finds it writes
 * nothing. `now` anchors it (the six months before).
 */
export async function seedDemoHistory(
  db: Db,
  { tenantSlug = 'globalcorp', now = new Date() }: { tenantSlug?: string; now?: Date } = {},
): Promise<HistoryResult> {
  const [tenant] = await db.select().from(tenants).where(eq(tenants.slug, tenantSlug));
  if (!tenant) return { written: false, subscriptions: 0, payments: 0, exposures: 0 };
  // Ids are unique per tenant (a test tenant beside the demo's has its own history).
  const tag = tenantSlug === 'globalcorp' ? VERSION : `${VERSION}_${tenant.id.slice(-8)}`;
  const marker = `sub_hist_${tag}_us-store_0`;
  const [done] = await db
    .select({ id: subscriptions.id })
    .from(subscriptions)
    .where(eq(subscriptions.id, marker));
  if (done) return { written: false, subscriptions: 0, payments: 0, exposures: 0 };

  const sfs = await db.select().from(storefronts).where(eq(storefronts.tenantId, tenant.id));
  const plans = await db
    .select({
      id: bundlePrices.id,
      bundleId: bundlePrices.bundleId,
      storefrontId: bundlePrices.storefrontId,
      amount: bundlePrices.amount,
      currency: bundlePrices.currency,
      slug: bundles.slug,
    })
    .from(bundlePrices)
    .innerJoin(bundles, eq(bundles.id, bundlePrices.bundleId))
    .where(
      and(
        eq(bundlePrices.tenantId, tenant.id),
        eq(bundlePrices.interval, 'month'),
        inArray(bundles.slug, ['pro-plan', 'enterprise']),
      ),
    );

  type Price = (typeof plans)[number];
  const subs: Rows<typeof subscriptions> = [];
  const custs: Rows<typeof customers> = [];
  const events: Rows<typeof subscriptionEvents> = [];
  const pays: Rows<typeof payments> = [];
  const atts: Rows<typeof paymentAttempts> = [];
  const exps: Rows<typeof flagExposures> = [];
  const end = now.getTime();
  const start = end - DAYS * DAY;

  for (const [k, sf] of sfs.entries()) {
    const plan = PLAN[sf.slug];
    if (!plan) continue;
    const pro = plans.find((p) => p.storefrontId === sf.id && p.slug === 'pro-plan');
    if (!pro) continue;
    const ent = plans.find((p) => p.storefrontId === sf.id && p.slug === 'enterprise') ?? null;
    const providers = sf.paymentProviders.map((p) => p.provider);
    const primary = providers[0] ?? 'stripe';
    const fallback = providers[1] ?? null;
    const r = rng(0x5eed + k * 7919);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
    let n = 0;
    let visitors = 0;
    for (let day = 0; day < DAYS; day++) {
      const lambda = plan.from + ((plan.to - plan.from) * day) / DAYS;
      // Poisson by inversion: the day's checkouts.
      let count = 0;
      for (let p = Math.exp(-lambda), s = p, u = r(); u > s; count++) {
        p *= lambda / (count + 1);
        s += p;
      }
      // Visitors exposed to the experiment who did not check out (two per checkout).
      for (let v = 0; v < count * 2 + (r() < 0.5 ? 1 : 0); v++) {
        const at = new Date(start + (day + r()) * DAY);
        const variant = r() < 0.5 ? plan.variants[0] : plan.variants[1];
        exps.push({
          id: `exp_hist_${tag}_${sf.slug}_v${visitors}`,
          tenantId: tenant.id,
          storefrontId: sf.id,
          flagKey: plan.flag,
          variant,
          reason: 'FALLTHROUGH',
          inExperiment: true,
          targetingKey: `visitor-hist-${sf.slug}-${visitors}`,
          channel: sf.channel,
          occurredAt: at,
        });
        visitors += 1;
      }
      for (let c = 0; c < count; c++, n++) {
        const id = `sub_hist_${tag}_${sf.slug}_${n}`;
        const cus = `cus_hist_${tag}_${sf.slug}_${n}`;
        const key = `hist-${sf.slug}-${n}`;
        const created = new Date(start + (day + r()) * DAY);
        const t0 = created.getTime();
        // The experiment: the treatment converts better (the story the chart tells).
        const variant = r() < 0.5 ? plan.variants[0] : plan.variants[1];
        const treated = variant === plan.variants[1];
        exps.push({
          id: `exp_hist_${tag}_${sf.slug}_c${n}`,
          tenantId: tenant.id,
          storefrontId: sf.id,
          flagKey: plan.flag,
          variant,
          reason: 'FALLTHROUGH',
          inExperiment: true,
          targetingKey: key,
          channel: sf.channel,
          occurredAt: new Date(t0 - r() * 3_600_000),
        });
        const price: Price = ent && r() < 0.2 ? ent : pro;
        const declined = r() < (treated ? 0.1 : 0.18);
        const trial = !declined && r() < 0.25;
        const month = new Date(created);
        const campaign =
          r() < 0.2
            ? month.getUTCMonth() === 10
              ? 'BLACKFRIDAY'
              : pick(['SPRING26', 'PARTNER10', 'NEWSLETTER'])
            : null;
        custs.push({
          id: cus,
          tenantId: tenant.id,
          storefrontId: sf.id,
          email: `${n}.${sf.slug}@${HISTORY_EMAIL_DOMAIN}`,
          name: 'Generated history',
          createdAt: created,
        });
        let seq = 0;
        const ev = (type: string, at: number, data: Record<string, unknown> = {}) => {
          seq += 1;
          events.push({
            id: `sevt_hist_${tag}_${sf.slug}_${n}_${seq}`,
            tenantId: tenant.id,
            subscriptionId: id,
            storefrontId: sf.id,
            mode: 'live',
            seq,
            type,
            data,
            occurredAt: new Date(at),
          });
        };
        let pn = 0;
        const pay = (at: number, amount: number, outcome: 'ok' | 'declined' | 'failover') => {
          const pid = `pay_hist_${tag}_${sf.slug}_${n}_${pn++}`;
          const decline = pick(DECLINES);
          const tries: { provider: string; status: string; d: (typeof DECLINES)[number] | null }[] =
            outcome === 'ok'
              ? [{ provider: primary, status: 'captured', d: null }]
              : outcome === 'failover' && fallback
                ? [
                    { provider: primary, status: r() < 0.5 ? 'error' : 'declined', d: decline },
                    { provider: fallback, status: 'captured', d: null },
                  ]
                : [{ provider: primary, status: 'declined', d: decline }];
          const last = tries[tries.length - 1] as (typeof tries)[number];
          const ok = last.status === 'captured';
          pays.push({
            id: pid,
            tenantId: tenant.id,
            storefrontId: sf.id,
            subscriptionId: id,
            customerId: cus,
            mode: 'live',
            amount,
            currency: price.currency,
            status: ok ? 'succeeded' : 'declined',
            provider: last.provider,
            declineCode: ok ? null : (last.d?.code ?? null),
            declineClass: ok ? null : (last.d?.cls ?? null),
            idempotencyKey: `hist:${pid}`,
            createdAt: new Date(at),
          });
          for (const [i, a] of tries.entries()) {
            atts.push({
              id: `patt_hist_${tag}_${sf.slug}_${n}_${pn - 1}_${i}`,
              tenantId: tenant.id,
              paymentId: pid,
              storefrontId: sf.id,
              mode: 'live',
              seq: i,
              provider: a.provider,
              status: a.status,
              idempotencyKey: `${pid}:${a.provider}`,
              declineCode: a.status === 'captured' ? null : (a.d?.code ?? null),
              declineClass: a.status === 'declined' ? (a.d?.cls ?? null) : null,
              latencyMs: 150 + Math.floor(r() * 700),
              createdAt: new Date(at),
            });
          }
          return ok;
        };
        ev('created', t0, { bundleId: price.bundleId, priceId: price.id });
        const base = {
          id,
          tenantId: tenant.id,
          storefrontId: sf.id,
          customerId: cus,
          bundleId: price.bundleId,
          priceId: price.id,
          mode: 'live' as const,
          targetingKey: key,
          campaign,
          createdAt: created,
        };
        if (declined) {
          pay(t0, price.amount, 'declined');
          ev('payment_failed', t0);
          const expired = end - t0 > DAY;
          if (expired) ev('incomplete_expired', t0 + 23 * 3_600_000);
          subs.push({ ...base, status: expired ? 'incomplete_expired' : 'incomplete' });
          continue;
        }
        let paidAt: number | null = null;
        let churnAt: number | null = null;
        let current: Price = price;
        let firstPaidPrice: string | null = null;
        const trialEnd = trial ? t0 + 14 * DAY : null;
        if (trialEnd !== null) {
          ev('trial_started', t0, { trialEnd: new Date(trialEnd).toISOString() });
          if (trialEnd <= end) {
            if (r() < 0.68) {
              pay(trialEnd, price.amount, r() < 0.1 ? 'failover' : 'ok');
              paidAt = trialEnd;
              ev('activated', trialEnd);
            } else {
              churnAt = trialEnd;
              ev('trial_ended', trialEnd, { paymentMethod: false });
              ev('cancelled', trialEnd, { reason: 'trial_ended_without_payment_method' });
            }
          }
        } else {
          pay(t0, price.amount, r() < 0.08 ? 'failover' : 'ok');
          paidAt = t0;
          ev('activated', t0);
        }
        if (paidAt !== null) firstPaidPrice = price.id;
        // Monthly renewals until churn (≈ 6 % a month), an upgrade now and then, failed
        // renewals dunned: 60 % recovered two days later, the others ended a week later.
        let periodStart = paidAt;
        let status: 'active' | 'trialing' | 'past_due' | 'cancelled' | 'ended' =
          paidAt !== null ? 'active' : churnAt !== null ? 'cancelled' : 'trialing';
        let endedAt: number | null = null;
        while (paidAt !== null && churnAt === null && periodStart !== null) {
          const next = periodStart + 30 * DAY;
          if (ent && current === pro && r() < 0.06) {
            const at = periodStart + r() * 30 * DAY;
            if (at < end) {
              ev('plan_changed', at, {
                from: { bundleId: pro.bundleId, priceId: pro.id },
                to: { bundleId: ent.bundleId, priceId: ent.id },
                direction: 'upgrade',
              });
              current = ent;
            }
          }
          if (r() < 0.06) {
            const at = periodStart + r() * 30 * DAY;
            if (at < end) {
              churnAt = at;
              status = 'cancelled';
              ev('cancelled', at, { atPeriodEnd: false });
              break;
            }
          }
          if (next > end) break;
          if (r() < 0.05) {
            pay(next, current.amount, 'declined');
            ev('payment_failed', next);
            ev('past_due', next, { billingIssue: true });
            if (r() < 0.6) {
              if (next + 2 * DAY > end) {
                status = 'past_due';
                break;
              }
              pay(next + 2 * DAY, current.amount, 'ok');
              ev('recovered', next + 2 * DAY);
            } else {
              if (next + 7 * DAY > end) {
                status = 'past_due';
                break;
              }
              churnAt = next + 7 * DAY;
              endedAt = churnAt;
              status = 'ended';
              ev('ended', churnAt, { reason: 'dunning_exhausted' });
              break;
            }
          } else {
            pay(next, current.amount, r() < 0.04 ? 'failover' : 'ok');
            ev('renewed', next);
          }
          periodStart = next;
        }
        const periodEnd = periodStart !== null ? periodStart + 30 * DAY : trialEnd;
        subs.push({
          ...base,
          bundleId: current.bundleId,
          priceId: current.id,
          status,
          billingAnchor: new Date(paidAt ?? t0),
          currentPeriodStart: new Date(periodStart ?? t0),
          currentPeriodEnd: periodEnd !== null ? new Date(periodEnd) : null,
          trialEnd: trialEnd !== null ? new Date(trialEnd) : null,
          cancelledAt: status === 'cancelled' && churnAt !== null ? new Date(churnAt) : null,
          endedAt: endedAt !== null ? new Date(endedAt) : null,
          billingIssue: status === 'past_due',
          convertedAt: created,
          firstPaidAt: paidAt !== null ? new Date(paidAt) : null,
          firstPaidPriceId: firstPaidPrice,
          churnedAt: churnAt !== null ? new Date(churnAt) : null,
        });
      }
    }
  }
  await db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    await insertAll(t, customers, custs);
    await insertAll(t, subscriptions, subs);
    await insertAll(t, subscriptionEvents, events);
    await insertAll(t, payments, pays);
    await insertAll(t, paymentAttempts, atts);
    await insertAll(t, flagExposures, exps);
  });
  return {
    written: true,
    subscriptions: subs.length,
    payments: pays.length,
    exposures: exps.length,
  };
}
