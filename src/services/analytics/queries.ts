/**
 * The analytics queries: each one SQL statement over the indexed analytics columns
 * (migrations/0014_analytics.sql), scoped to one tenant, one mode and a list of storefronts the
 * caller may read. The definitions are in README.md, "Analytics".
 *
 * Stocks (active subscriptions, MRR) are running sums of movements: a subscription adds to MRR
 * when its first invoice is paid (at the price then in force), a plan change moves it by the
 * difference, churn takes the current price off. The value at a time is the sum of every
 * movement before it, so a query reads each subscription's few movement times instead of its
 * state at every point.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { Interval } from '../../analytics/stats';
import type { KeyMode } from '../../db/schema/enums';

/** Anything that runs a drizzle `sql` statement and answers `{ rows }` (neon or node-postgres). */
export interface SqlRunner {
  execute(query: SQL): Promise<unknown>;
}

export interface Scope {
  tenantId: string;
  mode: KeyMode;
  storefrontIds: readonly string[];
  /** Start of the range (inclusive). */
  from: Date;
  /** End of the range (exclusive). */
  to: Date;
}

async function rows<T>(db: SqlRunner, q: SQL): Promise<T[]> {
  const r = (await db.execute(q)) as { rows: T[] };
  return r.rows;
}

const inList = (ids: readonly string[]) =>
  sql`(${sql.join(
    ids.map((id) => sql`${id}`),
    sql`, `,
  )})`;

/** The monthly amount of price row `p` (numeric, unrounded): yearly /12, weekly ×52/12… */
const mrrOf = (p: string) =>
  sql.raw(`(case ${p}.interval
    when 'month' then ${p}.amount::numeric / ${p}.interval_count
    when 'year' then ${p}.amount::numeric / (12 * ${p}.interval_count)
    when 'week' then ${p}.amount::numeric * 52 / (12 * ${p}.interval_count)
    else ${p}.amount::numeric * 365 / (12 * ${p}.interval_count) end)`);

/**
 * The bucket of `col`: null before the range (the opening balance), else the start of its
 * day / week / month in UTC (ISO text) — or `'in'` without an interval (the whole range).
 */
function bucketOf(col: SQL, s: Scope, interval: Interval | null): SQL {
  const start = s.from.toISOString();
  if (interval === null) return sql`(case when ${col} < ${start} then null else 'in' end)`;
  return sql`(case when ${col} < ${start} then null else to_char(date_trunc(${sql.raw(
    `'${interval}'`,
  )}, ${col} at time zone 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS.000"Z"') end)`;
}

export interface MovementRow {
  storefront_id: string;
  currency: string | null;
  /** null: before the range; 'in' (no interval) or the bucket's start. */
  bucket: string | null;
  value: string;
}

export interface CountMovementRow {
  storefront_id: string;
  kind: 'converted' | 'churned';
  bucket: string | null;
  n: number;
}

/** The bucket of a rollup's `day` (a UTC date), as {@link bucketOf} does for a time. */
function dayBucketOf(s: Scope, interval: Interval | null): SQL {
  const start = s.from.toISOString().slice(0, 10);
  if (interval === null) return sql`(case when r.day < ${start}::date then null else 'in' end)`;
  return sql`(case when r.day < ${start}::date then null else to_char(date_trunc(${sql.raw(
    `'${interval}'`,
  )}, r.day::timestamp), 'YYYY-MM-DD"T"HH24:MI:SS.000"Z"') end)`;
}

/** The rollup rows of the scope before the range's end (everything a stock sums). */
const rollupScope = (s: Scope) =>
  sql`r.tenant_id = ${s.tenantId} and r.mode = ${s.mode}
    and r.day < ${s.to.toISOString().slice(0, 10)}::date
    and r.storefront_id in ${inList(s.storefrontIds)}`;

/**
 * The two sides of the active-subscriptions stock: conversions (+1) and churns (−1), each
 * counted in its bucket (null: before the range). Read from the daily rollup
 * (`analytics_subscription_daily`, kept by a trigger on `subscriptions`: migration 0014).
 */
export function activeMovements(db: SqlRunner, s: Scope, interval: Interval | null) {
  return rows<CountMovementRow>(
    db,
    sql`select storefront_id, kind, bucket, sum(n)::int as n from (
        select r.storefront_id, ${dayBucketOf(s, interval)} as bucket,
            r.converted, r.churned
          from analytics_subscription_daily r
          where ${rollupScope(s)} and r.currency = ''
      ) m, lateral (values ('converted', m.converted), ('churned', m.churned)) v(kind, n)
      where n <> 0
      group by 1, 2, 3`,
  );
}

/**
 * Movements of MRR (numeric minor units per month, per currency): + the price in force at the
 * first paid invoice, ± each plan change after it (until churn), − the price at churn. Read
 * from the daily rollup, which triggers on `subscriptions` and `subscription_events` keep
 * (migration 0014; the same rules as {@link mrrMovementsRaw}).
 */
export function mrrMovements(db: SqlRunner, s: Scope, interval: Interval | null) {
  return rows<MovementRow>(
    db,
    sql`select r.storefront_id, r.currency, ${dayBucketOf(s, interval)} as bucket,
        sum(r.mrr)::text as value
      from analytics_subscription_daily r
      where ${rollupScope(s)} and r.currency <> ''
      group by 1, 2, 3`,
  );
}

/** {@link activeMovements} from the subscriptions themselves (the rollup's definition). */
export function activeMovementsRaw(db: SqlRunner, s: Scope, interval: Interval | null) {
  const to = s.to.toISOString();
  const where = (col: string) => sql`s.tenant_id = ${s.tenantId} and s.mode = ${s.mode}
      and s.${sql.raw(col)} is not null and s.${sql.raw(col)} < ${to}
      and s.storefront_id in ${inList(s.storefrontIds)}`;
  return rows<CountMovementRow>(
    db,
    sql`select s.storefront_id, 'converted' as kind,
          ${bucketOf(sql`s.converted_at`, s, interval)} as bucket, count(*)::int as n
        from subscriptions s where ${where('converted_at')} group by 1, 2, 3
      union all
      select s.storefront_id, 'churned', ${bucketOf(sql`s.churned_at`, s, interval)},
          count(*)::int
        from subscriptions s where ${where('churned_at')} group by 1, 2, 3`,
  );
}

/** {@link mrrMovements} from the subscriptions and their plan changes (the rollup's rules). */
export function mrrMovementsRaw(db: SqlRunner, s: Scope, interval: Interval | null) {
  const to = s.to.toISOString();
  const scope = sql`s.tenant_id = ${s.tenantId} and s.mode = ${s.mode}
      and s.storefront_id in ${inList(s.storefrontIds)}`;
  return rows<MovementRow>(
    db,
    sql`select storefront_id, currency, bucket, sum(v)::text as value from (
      select s.storefront_id, p.currency, ${bucketOf(sql`s.first_paid_at`, s, interval)} as bucket,
          ${mrrOf('p')} as v
        from subscriptions s join bundle_prices p on p.id = s.first_paid_price_id
        where ${scope} and s.first_paid_at is not null and s.first_paid_at < ${to}
      union all
      select s.storefront_id, p.currency, ${bucketOf(sql`s.churned_at`, s, interval)},
          -${mrrOf('p')}
        from subscriptions s join bundle_prices p on p.id = s.price_id
        where ${scope} and s.churned_at is not null and s.churned_at < ${to}
          and s.first_paid_at is not null and s.first_paid_at <= s.churned_at
      union all
      select e.storefront_id, pt.currency, ${bucketOf(sql`e.occurred_at`, s, interval)},
          ${mrrOf('pt')} - ${mrrOf('pf')}
        from subscription_events e
        join subscriptions s on s.id = e.subscription_id
        join bundle_prices pf on pf.id = e.data->'from'->>'priceId'
        join bundle_prices pt on pt.id = e.data->'to'->>'priceId'
        where e.tenant_id = ${s.tenantId} and e.type = 'plan_changed' and e.mode = ${s.mode}
          and e.storefront_id in ${inList(s.storefrontIds)} and e.occurred_at < ${to}
          and s.first_paid_at is not null and e.occurred_at > s.first_paid_at
          and (s.churned_at is null or e.occurred_at < s.churned_at)
    ) m group by storefront_id, currency, bucket`,
  );
}

export interface CheckoutRow {
  storefront_id: string;
  bucket: string | null;
  started: number;
  completed: number;
}

/**
 * Checkouts started in the range (every checkout that reached the payment creates its
 * subscription row, a declined one stays `incomplete`) and, of those, the ones completed.
 */
export function checkouts(db: SqlRunner, s: Scope, interval: Interval | null) {
  return rows<CheckoutRow>(
    db,
    sql`select s.storefront_id, ${bucketOf(sql`s.created_at`, s, interval)} as bucket,
        count(*)::int as started, count(s.converted_at)::int as completed
      from subscriptions s
      where s.tenant_id = ${s.tenantId} and s.mode = ${s.mode}
        and s.created_at >= ${s.from.toISOString()} and s.created_at < ${s.to.toISOString()}
        and s.storefront_id in ${inList(s.storefrontIds)}
      group by 1, 2`,
  );
}

export interface TrialRow {
  storefront_id: string;
  ended: number;
  converted: number;
}

/**
 * Trials whose end falls in the range and that are over (no longer trialing: a test clock's
 * time may differ from the wall clock, so "over" is the status, not `now`), and of those the
 * ones whose first invoice was paid (at the trial's end, or recovered after).
 */
export function trials(db: SqlRunner, s: Scope) {
  return rows<TrialRow>(
    db,
    sql`select s.storefront_id, count(*)::int as ended, count(s.first_paid_at)::int as converted
      from subscriptions s
      where s.tenant_id = ${s.tenantId} and s.mode = ${s.mode} and s.trial_end is not null
        and s.trial_end >= ${s.from.toISOString()} and s.trial_end < ${s.to.toISOString()}
        and s.status <> 'trialing' and s.storefront_id in ${inList(s.storefrontIds)}
      group by 1`,
  );
}

export interface DunningRow {
  storefront_id: string;
  past_due: number;
  recovered: number;
}

/** Failure streaks begun (→ past_due) and recoveries (past_due → active) in the range. */
export function dunning(db: SqlRunner, s: Scope) {
  return rows<DunningRow>(
    db,
    sql`select e.storefront_id,
        count(*) filter (where e.type = 'past_due')::int as past_due,
        count(*) filter (where e.type = 'recovered')::int as recovered
      from subscription_events e
      where e.tenant_id = ${s.tenantId} and e.type in ('past_due', 'recovered')
        and e.occurred_at >= ${s.from.toISOString()} and e.occurred_at < ${s.to.toISOString()}
        and e.mode = ${s.mode} and e.storefront_id in ${inList(s.storefrontIds)}
      group by 1`,
  );
}

export interface AttemptRow {
  storefront_id: string;
  provider: string;
  status: string;
  decline_class: string | null;
  attempts: number;
}

/** The rollup rows of the range (`analytics_payment_daily`, kept by triggers). */
const paymentRollup = (s: Scope, kind: 'attempt' | 'payment') =>
  sql`r.tenant_id = ${s.tenantId} and r.mode = ${s.mode} and r.kind = ${kind}
    and r.day >= ${s.from.toISOString().slice(0, 10)}::date
    and r.day < ${s.to.toISOString().slice(0, 10)}::date
    and r.storefront_id in ${inList(s.storefrontIds)}`;

/** Payment attempts in the range by storefront, provider, outcome and decline class. */
export function attempts(db: SqlRunner, s: Scope) {
  return rows<AttemptRow>(
    db,
    sql`select r.storefront_id, r.provider, r.status, nullif(r.decline_class, '') as decline_class,
        sum(r.n)::int as attempts
      from analytics_payment_daily r where ${paymentRollup(s, 'attempt')}
      group by 1, 2, 3, 4 having sum(r.n) <> 0`,
  );
}

export interface PaymentRow {
  storefront_id: string;
  status: string;
  payments: number;
}

/** Payments (each possibly several attempts) in the range by storefront and final status. */
export function paymentOutcomes(db: SqlRunner, s: Scope) {
  return rows<PaymentRow>(
    db,
    sql`select r.storefront_id, r.status, sum(r.n)::int as payments
      from analytics_payment_daily r where ${paymentRollup(s, 'payment')}
      group by 1, 2 having sum(r.n) <> 0`,
  );
}

export interface CampaignRow {
  storefront_id: string;
  campaign: string | null;
  currency: string | null;
  started: number;
  completed: number;
  paid: number;
  churned: number;
  new_mrr: string | null;
}

/** The checkout counters of subscriptions started in the range, by campaign code. */
export function campaigns(db: SqlRunner, s: Scope, campaign?: string) {
  return rows<CampaignRow>(
    db,
    sql`select s.storefront_id, s.campaign, p.currency,
        count(*)::int as started, count(s.converted_at)::int as completed,
        count(s.first_paid_at)::int as paid, count(s.churned_at)::int as churned,
        sum(${mrrOf('p')})::text as new_mrr
      from subscriptions s left join bundle_prices p on p.id = s.first_paid_price_id
      where s.tenant_id = ${s.tenantId} and s.mode = ${s.mode}
        and s.created_at >= ${s.from.toISOString()} and s.created_at < ${s.to.toISOString()}
        and s.storefront_id in ${inList(s.storefrontIds)}
        ${campaign === undefined ? sql`` : sql`and s.campaign = ${campaign}`}
      group by 1, 2, 3`,
  );
}

export interface ExperimentRow {
  storefront_id: string;
  flag_key: string;
  variant: string | null;
  exposed: number;
  started: number;
  completed: number;
}

/**
 * Each experiment's exposed targeting keys per variant — a key counts once, in the variant of
 * its first exposure in the range — and how many of them then started and completed a
 * checkout in the same storefront (a subscription with that targeting key, made at or after
 * the exposure and before the range's end). Exposures and checkouts are matched within one
 * storefront only.
 *
 * One pass (the definition is {@link experimentsRaw}): the first exposures stream in
 * (storefront, targeting key) order from `flag_exposures_experiment_key_idx` (a short range
 * reads `flag_exposures_experiment_time_idx` and sorts what it found), and each meets its
 * storefront's checkouts of that key folded to two times, the latest started and the latest
 * completed in the range, merged in the same order from `subscriptions_analytics_targeting_idx`:
 * a checkout started at or after the exposure exists exactly when the latest one is at or after
 * it (and one started before the range is before every exposure in it).
 */
export function experiments(db: SqlRunner, s: Scope, flag?: string) {
  const from = s.from.toISOString();
  const to = s.to.toISOString();
  return rows<ExperimentRow>(
    db,
    sql`with first_exposure as (
        select distinct on (x.storefront_id, x.targeting_key, x.flag_key)
            x.storefront_id, x.targeting_key, x.flag_key, x.variant, x.occurred_at
          from flag_exposures x
          where x.tenant_id = ${s.tenantId} and x.in_experiment and x.targeting_key is not null
            and x.storefront_id in ${inList(s.storefrontIds)}
            ${flag === undefined ? sql`` : sql`and x.flag_key = ${flag}`}
            and x.occurred_at >= ${from} and x.occurred_at < ${to}
          order by x.storefront_id, x.targeting_key, x.flag_key, x.occurred_at
      ), checkout as (
        select c.storefront_id, c.targeting_key, max(c.created_at) as last_started,
            max(c.created_at) filter (where c.converted_at is not null) as last_completed
          from subscriptions c
          where c.storefront_id in ${inList(s.storefrontIds)} and c.targeting_key is not null
            and c.mode = ${s.mode} and c.created_at >= ${from} and c.created_at < ${to}
          group by 1, 2
      )
      select f.storefront_id, f.flag_key, f.variant, count(*)::int as exposed,
          count(*) filter (where c.last_started >= f.occurred_at)::int as started,
          count(*) filter (where c.last_completed >= f.occurred_at)::int as completed
        from first_exposure f
        left join checkout c on c.storefront_id = f.storefront_id
          and c.targeting_key = f.targeting_key
        group by 1, 2, 3`,
  );
}

/** {@link experiments} as defined: first exposures, then their checkouts joined and grouped. */
export function experimentsRaw(db: SqlRunner, s: Scope, flag?: string) {
  const to = s.to.toISOString();
  return rows<ExperimentRow>(
    db,
    sql`with first_exposure as materialized (
        select distinct on (x.storefront_id, x.flag_key, x.targeting_key)
            x.storefront_id, x.flag_key, x.targeting_key, x.variant, x.occurred_at
          from flag_exposures x
          where x.tenant_id = ${s.tenantId} and x.in_experiment and x.targeting_key is not null
            and x.storefront_id in ${inList(s.storefrontIds)}
            ${flag === undefined ? sql`` : sql`and x.flag_key = ${flag}`}
            and x.occurred_at >= ${s.from.toISOString()} and x.occurred_at < ${to}
          order by x.storefront_id, x.flag_key, x.targeting_key, x.occurred_at
      ), checked_out as (
        select f.storefront_id, f.flag_key, f.targeting_key,
            bool_or(s.converted_at is not null) as completed
          from first_exposure f
          join subscriptions s on s.storefront_id = f.storefront_id
            and s.targeting_key = f.targeting_key
          where s.targeting_key is not null and s.mode = ${s.mode}
            and s.created_at >= f.occurred_at and s.created_at < ${to}
          group by 1, 2, 3
      )
      select f.storefront_id, f.flag_key, f.variant, count(*)::int as exposed,
          count(c.targeting_key)::int as started,
          count(*) filter (where c.completed)::int as completed
        from first_exposure f
        left join checked_out c on c.storefront_id = f.storefront_id
          and c.flag_key = f.flag_key and c.targeting_key = f.targeting_key
        group by 1, 2, 3`,
  );
}
