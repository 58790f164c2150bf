/**
 * The analytics answers, assembled from the queries (./queries.ts) with the pure arithmetic of
 * src/analytics/stats.ts: per storefront, and tenant totals per currency plus one converted at
 * the static rate table (src/analytics/rates.ts).
 */
import { convertedTotal } from '../../analytics/rates';
import {
  type Bucket,
  bucketStart,
  buckets,
  type Interval,
  proportion,
  roundMinor,
  runningTotals,
} from '../../analytics/stats';
import {
  activeMovements,
  attempts,
  campaigns,
  checkouts,
  dunning,
  experiments,
  type MovementRow,
  mrrMovements,
  paymentOutcomes,
  type Scope,
  type SqlRunner,
  trials,
} from './queries';

export interface StorefrontRef {
  id: string;
  slug: string;
  name: string;
  channel: string;
  currency: string;
}

export interface ReportScope extends Scope {
  storefronts: readonly StorefrontRef[];
}

const ref = (sf: StorefrontRef) => ({
  id: sf.id,
  slug: sf.slug,
  name: sf.name,
  channel: sf.channel,
  currency: sf.currency,
});

/** Opening (before the range) and closing (end of range) of a stock, per key. */
function stock(rowsIn: readonly MovementRow[], key: (r: MovementRow) => string) {
  const out = new Map<string, { opening: number; closing: number; added: number }>();
  for (const r of rowsIn) {
    const k = key(r);
    const v = Number(r.value);
    const cur = out.get(k) ?? { opening: 0, closing: 0, added: 0 };
    if (r.bucket === null) cur.opening += v;
    else cur.added += v;
    cur.closing += v;
    out.set(k, cur);
  }
  return out;
}

/** The summary of each storefront in scope over the range, and the tenant totals. */
export async function summary(db: SqlRunner, s: ReportScope) {
  if (s.storefronts.length === 0) return emptySummary(s);
  const [co, act, mrr, tr, du, pay] = await Promise.all([
    checkouts(db, s, null),
    activeMovements(db, s, null),
    mrrMovements(db, s, null),
    trials(db, s),
    dunning(db, s),
    paymentOutcomes(db, s),
  ]);
  const mrrBy = stock(mrr, (r) => `${r.storefront_id}|${r.currency}`);
  const items = s.storefronts.map((sf) => {
    const c = co.filter((r) => r.storefront_id === sf.id);
    const started = c.reduce((n, r) => n + r.started, 0);
    const completed = c.reduce((n, r) => n + r.completed, 0);
    const side = (kind: 'converted' | 'churned', inRange: boolean) =>
      act
        .filter(
          (r) => r.storefront_id === sf.id && r.kind === kind && (r.bucket !== null) === inRange,
        )
        .reduce((n, r) => n + r.n, 0);
    const opening = side('converted', false) - side('churned', false);
    const nc = { new: side('converted', true), churned: side('churned', true) };
    const a = { opening, closing: opening + nc.new - nc.churned };
    const t = tr.find((r) => r.storefront_id === sf.id);
    const d = du.find((r) => r.storefront_id === sf.id);
    const p = pay.filter((r) => r.storefront_id === sf.id);
    const payments = p.reduce((n, r) => n + r.payments, 0);
    const succeeded = p
      .filter((r) => r.status === 'succeeded' || r.status === 'refunded')
      .reduce((n, r) => n + r.payments, 0);
    const mrrCurrencies = [...mrrBy.entries()]
      .filter(([k]) => k.startsWith(`${sf.id}|`))
      .map(([k, v]) => ({
        currency: k.slice(sf.id.length + 1),
        opening: roundMinor(v.opening),
        closing: roundMinor(v.closing),
      }));
    return {
      storefront: ref(sf),
      checkouts: { started, completed, conversion: proportion(completed, started) },
      subscriptions: {
        new: nc.new,
        churned: nc.churned,
        activeAtStart: a.opening,
        activeAtEnd: a.closing,
        churnRate: proportion(nc.churned, a.opening + nc.new).rate,
      },
      mrr: mrrCurrencies,
      trials: {
        ended: t?.ended ?? 0,
        converted: t?.converted ?? 0,
        conversion: proportion(t?.converted ?? 0, t?.ended ?? 0),
      },
      dunning: {
        pastDue: d?.past_due ?? 0,
        recovered: d?.recovered ?? 0,
      },
      payments: { total: payments, succeeded, successRate: proportion(succeeded, payments).rate },
    };
  });
  const byCurrency = new Map<string, { opening: number; closing: number }>();
  for (const it of items) {
    for (const m of it.mrr) {
      const cur = byCurrency.get(m.currency) ?? { opening: 0, closing: 0 };
      cur.opening += m.opening;
      cur.closing += m.closing;
      byCurrency.set(m.currency, cur);
    }
  }
  const currencies = [...byCurrency.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, v]) => ({ currency, ...v }));
  const sum = <K extends 'started' | 'completed'>(k: K) =>
    items.reduce((n, it) => n + it.checkouts[k], 0);
  return {
    ...rangeOf(s),
    items,
    total: {
      checkouts: {
        started: sum('started'),
        completed: sum('completed'),
        conversion: proportion(sum('completed'), sum('started')),
      },
      subscriptions: {
        new: items.reduce((n, it) => n + it.subscriptions.new, 0),
        churned: items.reduce((n, it) => n + it.subscriptions.churned, 0),
        activeAtEnd: items.reduce((n, it) => n + it.subscriptions.activeAtEnd, 0),
      },
      mrr: {
        byCurrency: currencies,
        converted: convertedTotal(
          currencies.map((c) => ({ currency: c.currency, amount: c.closing })),
        ),
      },
    },
  };
}

function emptySummary(s: ReportScope) {
  return {
    ...rangeOf(s),
    items: [],
    total: {
      checkouts: { started: 0, completed: 0, conversion: proportion(0, 0) },
      subscriptions: { new: 0, churned: 0, activeAtEnd: 0 },
      mrr: { byCurrency: [], converted: convertedTotal([]) },
    },
  };
}

const rangeOf = (s: Scope) => ({
  from: s.from.toISOString(),
  to: s.to.toISOString(),
  mode: s.mode,
});

export type SeriesMetric =
  | 'checkouts_started'
  | 'checkouts_completed'
  | 'new_subscriptions'
  | 'churned_subscriptions'
  | 'active_subscriptions'
  | 'mrr';

export const SERIES_METRICS: readonly SeriesMetric[] = [
  'checkouts_started',
  'checkouts_completed',
  'new_subscriptions',
  'churned_subscriptions',
  'active_subscriptions',
  'mrr',
];

export interface Series {
  label: string;
  currency: string | null;
  points: { start: string; end: string; value: number }[];
}

/** One metric over the range in buckets, summed over the storefronts in scope. */
export async function timeseries(
  db: SqlRunner,
  s: ReportScope,
  metric: SeriesMetric,
  interval: Interval,
) {
  const list = buckets(s.from, s.to, interval);
  const base = {
    ...rangeOf(s),
    metric,
    interval,
    unit: metric === 'mrr' ? 'minor_units' : 'count',
  };
  if (s.storefronts.length === 0) return { ...base, series: [] as Series[] };
  const points = (values: number[], b: readonly Bucket[]) =>
    b.map((x, i) => ({ start: x.start, end: x.end, value: values[i] ?? 0 }));
  const flows = (m: Map<string, number>) => list.map((b) => m.get(bucketKey(b, interval)) ?? 0);

  if (metric === 'checkouts_started' || metric === 'checkouts_completed') {
    const m = new Map<string, number>();
    for (const r of await checkouts(db, s, interval)) {
      if (r.bucket === null) continue;
      const v = metric === 'checkouts_started' ? r.started : r.completed;
      m.set(r.bucket, (m.get(r.bucket) ?? 0) + v);
    }
    return { ...base, series: [{ label: 'all', currency: null, points: points(flows(m), list) }] };
  }
  if (metric === 'mrr') {
    const byCurrency = new Map<string, { opening: number; moves: Map<string, number> }>();
    for (const r of await mrrMovements(db, s, interval)) {
      const cur = r.currency ?? '';
      const e = byCurrency.get(cur) ?? { opening: 0, moves: new Map() };
      const v = Number(r.value);
      if (r.bucket === null) e.opening += v;
      else e.moves.set(r.bucket, (e.moves.get(r.bucket) ?? 0) + v);
      byCurrency.set(cur, e);
    }
    const series = [...byCurrency.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([currency, e]) => ({
        label: currency,
        currency,
        points: points(runningTotals(e.opening, list, e.moves, interval).map(roundMinor), list),
      }));
    return { ...base, series };
  }
  // Active, new, churned: from the conversions (+1) and churns (−1).
  const conv = new Map<string, number>();
  const churn = new Map<string, number>();
  let opening = 0;
  for (const r of await activeMovements(db, s, interval)) {
    const sign = r.kind === 'converted' ? 1 : -1;
    if (r.bucket === null) opening += sign * r.n;
    else {
      const m = r.kind === 'converted' ? conv : churn;
      m.set(r.bucket, (m.get(r.bucket) ?? 0) + r.n);
    }
  }
  let values: number[];
  if (metric === 'new_subscriptions') values = flows(conv);
  else if (metric === 'churned_subscriptions') values = flows(churn);
  else {
    const net = new Map(conv);
    for (const [k, v] of churn) net.set(k, (net.get(k) ?? 0) - v);
    values = runningTotals(opening, list, net, interval);
  }
  return { ...base, series: [{ label: 'all', currency: null, points: points(values, list) }] };
}

const bucketKey = (b: Bucket, interval: Interval) =>
  bucketStart(new Date(b.start), interval).toISOString();

/** Payment attempts by provider and decline class; payments by final status. */
export async function paymentsReport(db: SqlRunner, s: ReportScope) {
  if (s.storefronts.length === 0) return { ...rangeOf(s), providers: [], payments: [] };
  const [att, pay] = await Promise.all([attempts(db, s), paymentOutcomes(db, s)]);
  const providers = new Map<
    string,
    {
      attempts: number;
      captured: number;
      declined: number;
      errors: number;
      classes: Map<string, number>;
    }
  >();
  for (const r of att) {
    const p = providers.get(r.provider) ?? {
      attempts: 0,
      captured: 0,
      declined: 0,
      errors: 0,
      classes: new Map<string, number>(),
    };
    p.attempts += r.attempts;
    if (r.status === 'captured') p.captured += r.attempts;
    else if (r.status === 'declined') {
      p.declined += r.attempts;
      const k = r.decline_class ?? 'unclassified';
      p.classes.set(k, (p.classes.get(k) ?? 0) + r.attempts);
    } else p.errors += r.attempts;
    providers.set(r.provider, p);
  }
  return {
    ...rangeOf(s),
    providers: [...providers.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([provider, p]) => ({
        provider,
        attempts: p.attempts,
        captured: p.captured,
        declined: p.declined,
        errors: p.errors,
        successRate: proportion(p.captured, p.attempts),
        declineClasses: [...p.classes.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([declineClass, n]) => ({
            declineClass,
            attempts: n,
            share: proportion(n, p.attempts).rate,
          })),
      })),
    payments: s.storefronts.map((sf) => {
      const rowsSf = pay.filter((r) => r.storefront_id === sf.id);
      const total = rowsSf.reduce((n, r) => n + r.payments, 0);
      const ok = rowsSf
        .filter((r) => r.status === 'succeeded' || r.status === 'refunded')
        .reduce((n, r) => n + r.payments, 0);
      return {
        storefront: ref(sf),
        total,
        succeeded: ok,
        successRate: proportion(ok, total),
        byStatus: Object.fromEntries(rowsSf.map((r) => [r.status, r.payments])),
      };
    }),
  };
}

/** Each experiment flag of each storefront: variants with exposures, checkouts, conversion. */
export async function experimentsReport(db: SqlRunner, s: ReportScope, flag?: string) {
  if (s.storefronts.length === 0) return { ...rangeOf(s), items: [] };
  const r = await experiments(db, s, flag);
  const groups = new Map<string, typeof r>();
  for (const row of r) {
    const k = `${row.storefront_id}|${row.flag_key}`;
    groups.set(k, [...(groups.get(k) ?? []), row]);
  }
  const bySf = new Map(s.storefronts.map((sf) => [sf.id, sf]));
  const items = [...groups.entries()]
    .map(([, g]) => {
      const first = g[0] as (typeof r)[number];
      const sf = bySf.get(first.storefront_id) as StorefrontRef;
      return {
        storefront: ref(sf),
        flagKey: first.flag_key,
        variants: g
          .sort((a, b) => String(a.variant).localeCompare(String(b.variant)))
          .map((v) => ({
            variant: v.variant,
            exposed: v.exposed,
            checkoutsStarted: v.started,
            checkoutsCompleted: v.completed,
            conversion: proportion(v.completed, v.exposed),
          })),
      };
    })
    .sort(
      (a, b) =>
        a.storefront.slug.localeCompare(b.storefront.slug) || a.flagKey.localeCompare(b.flagKey),
    );
  return { ...rangeOf(s), method: 'wilson_score_95', items };
}

/** The checkout counters grouped by campaign code (null: checkouts without one). */
export async function campaignsReport(db: SqlRunner, s: ReportScope, campaign?: string) {
  if (s.storefronts.length === 0) return { ...rangeOf(s), items: [] };
  const r = await campaigns(db, s, campaign);
  const groups = new Map<string, typeof r>();
  for (const row of r) {
    const k = `${row.storefront_id}|${row.campaign ?? ''}`;
    groups.set(k, [...(groups.get(k) ?? []), row]);
  }
  const bySf = new Map(s.storefronts.map((sf) => [sf.id, sf]));
  const items = [...groups.values()].map((g) => {
    const first = g[0] as (typeof r)[number];
    const n = (k: 'started' | 'completed' | 'paid' | 'churned') =>
      g.reduce((acc, x) => acc + x[k], 0);
    return {
      storefront: ref(bySf.get(first.storefront_id) as StorefrontRef),
      campaign: first.campaign,
      checkouts: {
        started: n('started'),
        completed: n('completed'),
        conversion: proportion(n('completed'), n('started')),
      },
      paid: n('paid'),
      churned: n('churned'),
      newMrr: g
        .filter((x) => x.currency !== null)
        .map((x) => ({ currency: x.currency as string, amount: roundMinor(Number(x.new_mrr)) })),
    };
  });
  items.sort(
    (a, b) =>
      a.storefront.slug.localeCompare(b.storefront.slug) ||
      String(a.campaign).localeCompare(String(b.campaign)),
  );
  return { ...rangeOf(s), items };
}
