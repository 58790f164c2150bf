/**
 * `npm run bench:analytics`: the analytics queries (src/services/analytics/queries.ts) over a
 * generated data set of one tenant — by default 1 million subscriptions (and their customers)
 * and 10 million payments with 11 million attempts, 2 million experiment exposures and the
 * plan-change / dunning events — in a scratch database on DATABASE_URL's server, written with
 * `INSERT … SELECT generate_series` in SQL. Each query runs on a warm cache (one run, then
 * five timed; the median and the slowest are printed) over a 30-day and a 366-day range, all
 * four storefronts at once, with what EXPLAIN ANALYZE says of its scans; the experiments
 * query's answer is checked against its definition (`experimentsRaw`).
 *
 * Environment:
 *   DATABASE_URL              the server to create the scratch database on (required)
 *   ANALYTICS_SUBSCRIPTIONS   subscriptions to generate (default 1000000)
 *   ANALYTICS_PAYMENTS        payments to generate (default 10000000)
 *   ANALYTICS_BENCH_URL       measure an existing bench database instead (no generation)
 *   ANALYTICS_BENCH_KEEP=1    keep the scratch database (its URL is printed)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type SQL, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import {
  activeMovements,
  attempts,
  campaigns,
  checkouts,
  dunning,
  experiments,
  experimentsRaw,
  mrrMovements,
  paymentOutcomes,
  type Scope,
  type SqlRunner,
  trials,
} from '../../src/services/analytics/queries';
import { summary } from '../../src/services/analytics/reports';
import { createScratchDatabase, MIGRATIONS, runMigrations } from '../lib/database';

const SERVER = process.env.DATABASE_URL;
const REUSE = process.env.ANALYTICS_BENCH_URL;
const N_SUBS = Number(process.env.ANALYTICS_SUBSCRIPTIONS ?? 1_000_000);
const N_PAY = Number(process.env.ANALYTICS_PAYMENTS ?? 10_000_000);
const CHUNK = 1_000_000;
const TENANT = 'ten_bench';
const SF = ['sf_b0', 'sf_b1', 'sf_b2', 'sf_b3'];
const CUR = ['USD', 'EUR', 'GBP', 'JPY'];

if (!SERVER && !REUSE) {
  console.error('DATABASE_URL (a Postgres server to create a scratch database on) is required');
  process.exit(2);
}

const t0 = Date.now();
const since = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

async function generate(pool: pg.Pool) {
  const q = (text: string) => pool.query(text);
  const step = async (label: string, text: string) => {
    const s = Date.now();
    const r = await q(text);
    console.log(`  ${label}: ${r.rowCount ?? 0} rows in ${((Date.now() - s) / 1000).toFixed(1)} s`);
  };
  const chunks = async (label: string, total: number, make: (a: number, b: number) => string) => {
    for (let a = 1; a <= total; a += CHUNK) {
      const b = Math.min(total, a + CHUNK - 1);
      await step(`${label} ${a}–${b}`, make(a, b));
    }
  };
  // Bulk load as the migration does: the rollup triggers off while rows pour in, then the
  // rollups filled once by the migration's own backfill statements, then the triggers on.
  const TRIGGERS = [
    ['subscriptions', 'analytics_subscriptions'],
    ['subscription_events', 'analytics_plan_changes'],
    ['payment_attempts', 'analytics_payment_attempts'],
    ['payments', 'analytics_payments'],
  ];
  for (const [table, trigger] of TRIGGERS)
    await q(`alter table ${table} disable trigger ${trigger}`);
  await q(`insert into tenants (id, slug, name) values ('${TENANT}', 'bench', 'Bench')`);
  await q(`insert into storefronts (id, tenant_id, slug, name, currency, region)
    select 'sf_b' || i, '${TENANT}', 'store-' || i, 'Store ' || i,
      (array['USD','EUR','GBP','JPY'])[i + 1], 'US' from generate_series(0, 3) i`);
  await q(`insert into bundles (id, tenant_id, slug, name)
    select 'bun_b' || b, '${TENANT}', 'plan-' || b, 'Plan ' || b from generate_series(0, 1) b`);
  // Per storefront, bundle and interval: bundle 1 costs twice bundle 0; yearly = 10 months.
  await q(`insert into bundle_prices (id, tenant_id, bundle_id, storefront_id, currency, amount, interval)
    select 'price_b' || s || '_' || b || '_' || iv, '${TENANT}', 'bun_b' || b, 'sf_b' || s,
      (array['USD','EUR','GBP','JPY'])[s + 1],
      (case when s = 3 then 1000 else 1000 end) * (b + 1) * (case when iv = 'year' then 10 else 1 end),
      iv::billing_interval
    from generate_series(0, 3) s, generate_series(0, 1) b, unnest(array['month','year']) iv`);
  await chunks(
    'customers',
    N_SUBS,
    (a, b) => `insert into customers (id, tenant_id, storefront_id, email)
      select 'cus_b' || g, '${TENANT}', 'sf_b' || (g % 4), 'b' || g || '@bench.test'
      from generate_series(${a}, ${b}) g`,
  );
  // Subscriptions over two years: 12 % never complete their checkout, 20 % of the others
  // start with a trial (70 % of those pay at its end), 30 % churn; 5 % changed plan once.
  await chunks(
    'subscriptions',
    N_SUBS,
    (a, b) => `insert into subscriptions (id, tenant_id, storefront_id, customer_id, bundle_id,
        price_id, mode, status, created_at, updated_at, converted_at, first_paid_at,
        first_paid_price_id, churned_at, cancelled_at, trial_end, targeting_key, campaign)
      select 'sub_b' || g, '${TENANT}', 'sf_b' || (g % 4), 'cus_b' || g, 'bun_b' || (g % 2),
        f.price, c.mode::key_mode,
        (case when f.conv is null then (case when r.r2 < 0.04 then 'incomplete_expired' else 'incomplete' end)
          when f.churned is not null then 'cancelled'
          when x.trial_end > now() then 'trialing' else 'active' end)::subscription_status,
        c.created, c.created, f.conv, f.paid,
        case when f.paid is null then null when g % 20 = 0 then f.other else f.price end,
        f.churned, f.churned, x.trial_end,
        case when g % 10 < 3 then 't' || g end,
        case when g % 5 = 0 then 'CAMP' || (g % 7) end
      from generate_series(${a}, ${b}) g,
      lateral (select random() + 0 * g as r1, random() + 0 * g as r2, random() + 0 * g as r3,
                      random() + 0 * g as r4, random() + 0 * g as r5, random() + 0 * g as r6) r,
      lateral (select now() - r.r1 * interval '730 days' as created,
                      case when g % 10 = 0 then 'test' else 'live' end as mode,
                      case when r.r6 < 0.8 then 'month' else 'year' end as iv) c,
      lateral (select 'price_b' || (g % 4) || '_' || (g % 2) || '_' || c.iv as price,
                      'price_b' || (g % 4) || '_' || (1 - g % 2) || '_' || c.iv as other,
                      case when r.r2 >= 0.12 then c.created end as conv) p0,
      lateral (select case when p0.conv is not null and r.r3 < 0.2
                        then c.created + interval '14 days' end as trial_end) x,
      lateral (select case when p0.conv is null then null
                        when x.trial_end is null then p0.conv
                        when r.r4 < 0.7 and x.trial_end < now() then x.trial_end end as paid) p1,
      lateral (select p0.price, p0.other, p0.conv, p1.paid,
        case when p0.conv is null then null
          when x.trial_end is not null and p1.paid is null and x.trial_end < now() then x.trial_end
          when r.r5 < 0.3 then coalesce(p1.paid, p0.conv)
            + (now() - coalesce(p1.paid, p0.conv)) * random() end as churned) f`,
  );
  await step(
    'plan changes',
    `insert into subscription_events (id, tenant_id, subscription_id, storefront_id, mode, seq,
        type, data, occurred_at)
      select 'sevt_' || substr(id, 5) || '_2', tenant_id, id, storefront_id, mode, 2,
        'plan_changed',
        jsonb_build_object('from', jsonb_build_object('priceId', first_paid_price_id),
                           'to', jsonb_build_object('priceId', price_id)),
        first_paid_at + (coalesce(churned_at, now()) - first_paid_at) / 2
      from subscriptions where first_paid_price_id <> price_id`,
  );
  await step(
    'dunning (past_due)',
    `insert into subscription_events (id, tenant_id, subscription_id, storefront_id, mode, seq,
        type, data, occurred_at)
      select 'sevt_' || substr(id, 5) || '_3', tenant_id, id, storefront_id, mode, 3, 'past_due',
        '{}', first_paid_at + (coalesce(churned_at, now()) - first_paid_at) * 0.7
      from subscriptions where first_paid_at is not null and abs(hashtext(id)) % 10 = 0`,
  );
  await step(
    'dunning (recovered)',
    `insert into subscription_events (id, tenant_id, subscription_id, storefront_id, mode, seq,
        type, data, occurred_at)
      select 'sevt_' || substr(subscription_id, 5) || '_4', tenant_id, subscription_id,
        storefront_id, mode, 4, 'recovered', '{}', occurred_at + interval '3 days'
      from subscription_events where type = 'past_due' and abs(hashtext(id)) % 10 < 6`,
  );
  // Payments over two years: 90 % succeed, 6 % declined, 2 % failed, 2 % refunded; every
  // tenth a failover (a declined or erroring first attempt at another provider).
  await chunks(
    'payments',
    N_PAY,
    (a, b) => `insert into payments (id, tenant_id, storefront_id, subscription_id, customer_id,
        mode, amount, currency, status, provider, decline_class, idempotency_key, created_at,
        updated_at)
      select 'pay_b' || g, '${TENANT}', 'sf_b' || (g % 4), 'sub_b' || (1 + g % ${N_SUBS}),
        'cus_b' || (1 + g % ${N_SUBS}),
        (case when g % 10 = 0 then 'test' else 'live' end)::key_mode, 1000,
        (array['USD','EUR','GBP','JPY'])[g % 4 + 1], st::payment_status,
        (array['stripe','adyen','paypal'])[g % 3 + 1],
        case when st = 'declined' then (case when g % 7 < 5 then 'issuer' else 'provider' end) end,
        'k' || g, at, at
      from generate_series(${a}, ${b}) g,
      lateral (select now() - (random() + 0 * g) * interval '730 days' as at,
        (case when g % 50 < 45 then 'succeeded' when g % 50 < 48 then 'declined'
              when g % 50 < 49 then 'failed' else 'refunded' end) as st) r`,
  );
  await chunks(
    'payment attempts',
    N_PAY,
    (a, b) => `insert into payment_attempts (id, tenant_id, payment_id, storefront_id, mode, seq,
        provider, status, idempotency_key, decline_class, created_at, updated_at)
      select 'patt_b' || p.g || '_' || s.seq, '${TENANT}', 'pay_b' || p.g, 'sf_b' || (p.g % 4),
        (case when p.g % 10 = 0 then 'test' else 'live' end)::key_mode, s.seq, s.provider,
        s.status, 'pay_b' || p.g || ':' || s.provider, s.decline_class, p.at, p.at
      from (select g, now() - (random() + 0 * g) * interval '730 days' as at
              from generate_series(${a}, ${b}) g) p,
      lateral (
        select 0 as seq,
          (array['stripe','adyen','paypal'])[(p.g + (case when p.g % 10 = 3 then 1 else 0 end)) % 3 + 1] as provider,
          case when p.g % 10 = 3 then (case when p.g % 20 = 3 then 'declined' else 'error' end)
               when p.g % 50 between 45 and 47 then 'declined'
               when p.g % 50 = 48 then 'error' else 'captured' end as status,
          case when p.g % 20 = 3 or p.g % 50 between 45 and 47
               then (case when p.g % 7 < 5 then 'issuer' else 'provider' end) end as decline_class
        union all
        select 1, (array['stripe','adyen','paypal'])[p.g % 3 + 1],
          case when p.g % 50 between 45 and 48 then 'declined' else 'captured' end, null
        where p.g % 10 = 3) s`,
  );
  // Exposures of three experiment flags over two years, to the subscriptions' targeting keys.
  const nExp = Math.round(N_SUBS * 2);
  await chunks(
    'flag exposures',
    nExp,
    (a, b) => `insert into flag_exposures (id, tenant_id, storefront_id, flag_key, variant, reason,
        in_experiment, targeting_key, occurred_at)
      select 'exp_b' || g, '${TENANT}', 'sf_b' || (k % 4), 'exp-' || (g % 3),
        case when abs(hashtext('v' || k || (g % 3))) % 2 = 0 then 'control' else 'treatment' end,
        'SPLIT', true, 't' || k, now() - (random() + 0 * g) * interval '730 days'
      from generate_series(${a}, ${b}) g,
      lateral (select (abs(hashtext('x' || g)) % ${Math.max(1, Math.floor(N_SUBS / 10))}) * 10 + 1 + (g % 3) as k) kk`,
  );
  const migration = readFileSync(path.join(MIGRATIONS, '0014_analytics.sql'), 'utf8');
  const backfills = migration
    .split('--> statement-breakpoint')
    .map((x) => x.replace(/^\s*(--[^\n]*\n)*/, '').trim())
    .filter((x) => x.startsWith('INSERT INTO analytics_'));
  if (backfills.length !== 2) throw new Error('the rollup backfills of migration 0014 not found');
  for (const [i, b] of backfills.entries()) await step(`rollup backfill ${i + 1}`, b);
  for (const [table, trigger] of TRIGGERS)
    await q(`alter table ${table} enable trigger ${trigger}`);
  console.log(`  vacuum analyze… (${since()})`);
  await q('vacuum analyze');
}

interface Measured {
  name: string;
  range: string;
  rows: number;
  median: number;
  max: number;
  scans: string;
}

/** The scan nodes of a plan (and whether each read only its index). */
function scansOf(plan: Record<string, unknown>, out = new Map<string, number>()) {
  const type = String(plan['Node Type']);
  if (type.includes('Scan') && !type.includes('Subquery') && !type.includes('Function')) {
    const name = `${type.replace(' Scan', '')}${plan['Index Name'] ? ` ${plan['Index Name']}` : ` ${plan['Relation Name'] ?? ''}`}`;
    out.set(name, (out.get(name) ?? 0) + 1);
  }
  for (const p of (plan.Plans as Record<string, unknown>[] | undefined) ?? []) scansOf(p, out);
  return out;
}

interface Runner {
  execute(q: SQL): Promise<{ rows: unknown[] }>;
}

async function measure(db: Runner) {
  const now = new Date();
  const day = 86_400_000;
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const ranges = [
    { label: '30 days', from: new Date(today - 29 * day), to: new Date(today + day) },
    { label: '366 days', from: new Date(today - 365 * day), to: new Date(today + day) },
  ];
  const results: Measured[] = [];
  for (const r of ranges) {
    const s: Scope = { tenantId: TENANT, mode: 'live', storefrontIds: SF, from: r.from, to: r.to };
    // Each query's SQL for EXPLAIN: the same function run through a runner that records it.
    const recorded = (run: (x: SqlRunner) => Promise<unknown[]>) => {
      let captured: SQL | null = null;
      const rec: SqlRunner = {
        execute: async (query) => {
          captured = query;
          return { rows: [] };
        },
      };
      return {
        run: () => run(db),
        sqlOf: async () => {
          await run(rec);
          return captured as unknown as SQL;
        },
      };
    };
    const queries: [string, (x: SqlRunner) => Promise<unknown[]>][] = [
      ['checkouts started / completed', (x) => checkouts(x, s, null)],
      ['active: opening + new / churned', (x) => activeMovements(x, s, null)],
      ['MRR: opening + movements', (x) => mrrMovements(x, s, null)],
      ['trials ended / converted', (x) => trials(x, s)],
      ['dunning past_due / recovered', (x) => dunning(x, s)],
      ['attempts by provider, decline class', (x) => attempts(x, s)],
      ['payments by status', (x) => paymentOutcomes(x, s)],
      ['campaigns', (x) => campaigns(x, s)],
      ['experiments (3 flags × 4 storefronts)', (x) => experiments(x, s)],
      ['series: MRR per day', (x) => mrrMovements(x, s, 'day')],
      ['series: active per week', (x) => activeMovements(x, s, 'week')],
    ];
    for (const [name, fn] of queries) {
      const q = recorded(fn);
      const times: number[] = [];
      let rows = 0;
      await q.run(); // warm
      for (let i = 0; i < 5; i++) {
        const s0 = performance.now();
        rows = (await q.run()).length;
        times.push(performance.now() - s0);
      }
      times.sort((a, b) => a - b);
      const text = await q.sqlOf();
      const plan = (await db.execute(sql`explain (analyze, format json) ${text}`)).rows[0] as {
        'QUERY PLAN': { Plan: Record<string, unknown> }[];
      };
      const scans = [...scansOf(plan['QUERY PLAN'][0]?.Plan ?? {}).entries()]
        .map(([k, n]) => (n > 1 ? `${k} ×${n}` : k))
        .join(', ');
      results.push({
        name,
        range: r.label,
        rows,
        median: times[2] ?? 0,
        max: times[4] ?? 0,
        scans,
      });
      console.log(
        `  ${r.label.padEnd(8)} ${name.padEnd(40)} ${(times[2] ?? 0).toFixed(1).padStart(8)} ms`,
      );
    }
    // The experiments query in one pass answers as its definition does (experimentsRaw).
    const norm = (rs: unknown[]) => rs.map((x) => JSON.stringify(x)).sort();
    const fast = await experiments(db, s);
    const r0 = performance.now();
    const raw = await experimentsRaw(db, s);
    const rawMs = performance.now() - r0;
    if (JSON.stringify(norm(fast)) !== JSON.stringify(norm(raw)))
      throw new Error(`experiments ≠ experimentsRaw over ${r.label}`);
    console.log(
      `  ${r.label.padEnd(8)} experiments = experimentsRaw (the definition, ${rawMs.toFixed(0)} ms)`,
    );
    // The whole summary endpoint: its six queries at once (as the route runs them).
    const rs = {
      ...s,
      storefronts: SF.map((id, i) => ({
        id,
        slug: id,
        name: id,
        channel: 'web',
        currency: CUR[i] ?? 'USD',
      })),
    };
    await summary(db, rs);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const s0 = performance.now();
      await summary(db, rs);
      times.push(performance.now() - s0);
    }
    times.sort((a, b) => a - b);
    results.push({
      name: 'GET …/analytics/summary (6 queries in parallel)',
      range: r.label,
      rows: 4,
      median: times[2] ?? 0,
      max: times[4] ?? 0,
      scans: '',
    });
  }
  return results;
}

async function sizes(pool: pg.Pool) {
  const r = await pool.query(`select c.relname as name, c.reltuples::bigint as rows,
      pg_size_pretty(pg_table_size(c.oid)) as heap, pg_size_pretty(pg_indexes_size(c.oid)) as indexes
    from pg_class c where c.relname in ('subscriptions', 'customers', 'subscription_events',
      'payments', 'payment_attempts', 'flag_exposures', 'analytics_subscription_daily',
      'analytics_payment_daily') order by c.relname`);
  return r.rows as { name: string; rows: string; heap: string; indexes: string }[];
}

async function main() {
  let url = REUSE;
  let drop: (() => Promise<void>) | null = null;
  if (!url) {
    const scratch = await createScratchDatabase(SERVER as string, 'azotte_bench_analytics');
    url = scratch.url;
    drop = scratch.drop;
    console.log(`▸ scratch database ${url.replace(/\/\/[^@]*@/, '//…@')}`);
    await runMigrations(url);
  }
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  pool.on('error', () => {}); // the scratch database is dropped with force at the end
  try {
    if (!REUSE) {
      console.log(`▸ generating ${N_SUBS} subscriptions, ${N_PAY} payments (${since()})`);
      await generate(pool);
      console.log(`✓ generated in ${since()}`);
    }
    const server = await pool.query(`select version() as v, current_setting('work_mem') as wm,
      current_setting('shared_buffers') as sb, current_setting('max_parallel_workers_per_gather') as pw`);
    console.log(
      `▸ ${String(server.rows[0]?.v).split(' on ')[0]}; shared_buffers ${server.rows[0]?.sb}, work_mem ${server.rows[0]?.wm}, parallel workers/gather ${server.rows[0]?.pw}`,
    );
    console.table(await sizes(pool));
    console.log('▸ measuring (warm; median and slowest of 5)');
    const db = drizzle({ client: pool });
    const results = await measure(db as never);
    console.log('');
    console.log('| query | range | median ms | max ms | scans (EXPLAIN ANALYZE) |');
    console.log('|---|---|---:|---:|---|');
    for (const r of results) {
      console.log(
        `| ${r.name} | ${r.range} | ${r.median.toFixed(1)} | ${r.max.toFixed(1)} | ${r.scans} |`,
      );
    }
  } finally {
    await pool.end();
    if (drop && process.env.ANALYTICS_BENCH_KEEP !== '1') {
      await drop().catch((e) => console.error(`could not drop the scratch database: ${e}`));
    } else if (drop) console.log(`kept: ANALYTICS_BENCH_URL=${url}`);
  }
}

await main().catch((err: unknown) => {
  console.error(`✗ ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
